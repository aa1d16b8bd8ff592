//! Output to a closed pipe (`noetl-host plugins inspect X | head -3`): the reader has what
//! it wanted, so the command ends quietly instead of printing a panic.

use std::sync::Once;

/// Makes a write to a closed stdout or stderr end the process with exit code 0 and no
/// message, for every command.
///
/// Rust ignores SIGPIPE, so `println!` on a closed pipe panics ("failed printing to stdout:
/// Broken pipe"). Restoring SIGPIPE's default would also kill the process when a child's
/// stdin pipe or a socket closes, so instead the panic hook recognises exactly that panic;
/// every other panic keeps the default report.
pub fn end_quietly_on_closed_output() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if is_closed_output(panic_text(info)) {
                std::process::exit(0);
            }
            default_hook(info);
        }));
    });
}

fn panic_text<'a>(info: &'a std::panic::PanicHookInfo<'_>) -> &'a str {
    let payload = info.payload();
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default()
}

/// The panic of `print!`/`eprint!` when the reading end is gone (std's wording: "failed
/// printing to stdout: Broken pipe (os error 32)").
fn is_closed_output(text: &str) -> bool {
    (text.starts_with("failed printing to stdout") || text.starts_with("failed printing to stderr"))
        && text.contains(&std::io::Error::from_raw_os_error(libc::EPIPE).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_the_print_panic_on_a_closed_pipe() {
        let broken = std::io::Error::from_raw_os_error(libc::EPIPE);
        assert!(is_closed_output(&format!("failed printing to stdout: {broken}")));
        assert!(is_closed_output(&format!("failed printing to stderr: {broken}")));
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(!is_closed_output(&format!("failed printing to stdout: {full}")));
        assert!(!is_closed_output("index out of bounds: Broken pipe"));
    }
}
