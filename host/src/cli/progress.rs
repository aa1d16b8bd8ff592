//! Progress on stderr: a spinner with the elapsed time while a step runs when stderr is a
//! terminal, plain lines otherwise (CI logs, pipes).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use noetl_host::playbook::{Progress, StepReport};

pub struct TerminalProgress {
    tty: bool,
    spinner: std::sync::Mutex<Option<Arc<AtomicBool>>>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        TerminalProgress { tty: std::io::stderr().is_terminal(), spinner: Default::default() }
    }

    fn stop_spinner(&self) {
        if let Some(stop) = self.spinner.lock().expect("spinner lock").take() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

const FRAMES: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl Progress for TerminalProgress {
    fn step_started(&self, step: &str, tool: &str, iteration: Option<(usize, usize)>) {
        let item = iteration.map(|(index, total)| format!(" [item {} of {total}]", index + 1)).unwrap_or_default();
        if !self.tty {
            eprintln!("step {step}{item} ({tool}): running");
            return;
        }
        // Steps running side by side (a parallel loop) share one spinner line: the latest wins.
        self.stop_spinner();
        let stop = Arc::new(AtomicBool::new(false));
        *self.spinner.lock().expect("spinner lock") = Some(stop.clone());
        let label = format!("{step}{item} ({tool})");
        std::thread::spawn(move || {
            let started = Instant::now();
            for frame in FRAMES.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    eprint!("\r\x1b[2K");
                    break;
                }
                eprint!("\r\x1b[2K{frame} {label}  {:.1}s", started.elapsed().as_secs_f64());
                let _ = std::io::stderr().flush();
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }

    fn step_finished(&self, report: &StepReport, elapsed: Duration) {
        self.stop_spinner();
        if self.tty {
            // Let the spinner thread clear its line before the result line is written.
            std::thread::sleep(Duration::from_millis(120));
        }
        let mark = if report.status == "success" { "ok" } else { "FAILED" };
        let item = report.iteration.map(|index| format!(" [item {}]", index + 1)).unwrap_or_default();
        eprintln!("step {}{item} ({}): {mark} in {:.2}s", report.step, report.tool, elapsed.as_secs_f64());
    }
}
