//! Progress on stderr: a spinner with the elapsed time while a step runs when stderr is a
//! terminal, plain lines otherwise (CI logs, pipes).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use noetl_host::playbook::{Progress, Step, StepReport};

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
    fn step_started(&self, step: &Step) {
        let tool = step.tool["kind"].as_str().unwrap_or("?");
        if !self.tty {
            eprintln!("step {} ({tool}): running", step.name);
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        *self.spinner.lock().expect("spinner lock") = Some(stop.clone());
        let label = format!("{} ({tool})", step.name);
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
        eprintln!("step {} ({}): {mark} in {:.2}s", report.step, report.tool, elapsed.as_secs_f64());
    }
}
