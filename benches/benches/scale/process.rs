//! A server under test, in a child process: start it, read its memory
//! from `/proc`, kill it.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a server may take to print that it listens.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A running server: the child, its address, and the end of its stderr
/// (kept to explain a failure). Killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl ServerProcess {
    /// Spawn `command`, which must print `listening on ADDR` as its first
    /// line within [`START_LIMIT`].
    pub fn start(command: &mut Command) -> Result<ServerProcess, String> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: the hook only calls prctl, which is async-signal-safe, as
        // code between fork and exec must be. PR_SET_PDEATHSIG kills the
        // server should this process die first.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let tail = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let mut tail = tail.lock().expect("no holder panics");
                tail.extend_from_slice(&buf[..n]);
                // Only the end is ever shown.
                if tail.len() > 8192 {
                    tail.drain(..4096);
                }
            }
        });
        // Read the first line on a thread, so a silent server cannot block
        // past START_LIMIT.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
        };
        let line = rx.recv_timeout(START_LIMIT).unwrap_or_default();
        match line.trim().strip_prefix("listening on ").map(str::parse) {
            Some(Ok(addr)) => {
                server.addr = addr;
                Ok(server)
            }
            _ => Err(format!(
                "no `listening on` line ({:?}); {}",
                line.trim(),
                server.why()
            )),
        }
    }

    /// The last line of the server's stderr, for an error message.
    pub fn why(&self) -> String {
        let tail = self.stderr.lock().expect("no holder panics");
        let tail = String::from_utf8_lossy(&tail);
        match tail.lines().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => format!("its stderr ends: {last}"),
            None => "nothing on its stderr".into(),
        }
    }

    /// Field `field` (`VmRSS`, `VmHWM`) of `/proc/PID/status`, in KiB.
    pub fn status_kib(&self, field: &str) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
            .ok_or_else(|| format!("no {field} in {path}"))
    }

    /// Kill the server (SIGKILL) and reap it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raise the soft open-files limit to the hard one (the servers inherit
/// it); returns the soft limit in force.
pub fn raise_nofile_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid `rlimit` for the calls to fill and read.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
            }
        }
    }
    lim.rlim_cur
}
