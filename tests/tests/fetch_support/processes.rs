//! Test servers run as child processes on 127.0.0.1 (installed by tests/servers/setup.sh).
//! A missing binary fails the test with the command that installs it: never a silent skip.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Where tests/servers/setup.sh puts the server binaries.
pub fn servers_dir() -> PathBuf {
    match std::env::var_os("NOETL_TEST_SERVERS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/noetl-host/servers"),
    }
}

pub fn require_binary(name: &str) -> PathBuf {
    let path = servers_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run tests/servers/setup.sh to install the fetch tests' servers",
        path.display()
    );
    path
}

/// A port that was free a moment ago (the server binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running server, killed when dropped (also when the test fails).
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// Start `command` (which must listen on 127.0.0.1:`port`) and wait until it accepts
    /// connections.
    pub fn start(mut command: Command, port: u16) -> Self {
        let program = command.get_program().to_string_lossy().into_owned();
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut server = ServerProcess { child: command.spawn().unwrap_or_else(|e| panic!("cannot start {program}: {e}")), port };
        // Readiness, not a timing assertion: poll for up to a minute on a loaded machine.
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("{program} exited before listening on 127.0.0.1:{port}: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{program} did not listen on 127.0.0.1:{port}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
