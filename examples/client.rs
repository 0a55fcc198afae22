//! A line-oriented client: `client URL` (ws:// URLs).
//!
//! Each line of stdin is sent as a text message, and each text message
//! received is printed as one line on stdout, at the same time. On stdin EOF
//! it sends Close 1000, waits for the server's Close and exits 0. A refused
//! handshake or a broken protocol prints the reason on stderr and exits
//! non-zero (after closing with the right code if the server broke the
//! protocol).

mod common;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wscore::{CloseCode, Config, Connection, Event};

/// The connection and the socket's write half, written under one lock so
/// frames from the two threads never interleave on the wire.
struct Shared {
    conn: Connection,
    writer: TcpStream,
    out: Vec<u8>,
}

impl Shared {
    fn flush(&mut self) -> std::io::Result<()> {
        if self.conn.poll_transmit(&mut self.out) > 0 {
            self.writer.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client ws://HOST[:PORT][/PATH]");
        std::process::exit(2);
    };
    let url = common::parse_url(&url).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let (mut reader, conn) = common::connect(&url, &Config::default()).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    });
    let writer = reader.try_clone().expect("a TCP socket can be cloned");
    let shared = Arc::new(Mutex::new(Shared {
        conn,
        writer,
        out: Vec::new(),
    }));

    let input = Arc::clone(&shared);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let mut s = input.lock().expect("no thread panics holding the lock");
            if s.conn.send_text(&line).is_err() || s.flush().is_err() {
                return; // closing or closed: the reader reports why
            }
        }
        let mut s = input.lock().expect("no thread panics holding the lock");
        let _ = s.conn.close(common::now(), CloseCode::NORMAL, "");
        let _ = s.flush();
    });

    let mut buf = vec![0u8; common::READ_BUF];
    let stdout = std::io::stdout();
    let reason = 'run: loop {
        {
            let mut s = shared.lock().expect("no thread panics holding the lock");
            while let Some(event) = s.conn.poll_event() {
                match event {
                    Event::Text(text) => {
                        let mut out = stdout.lock();
                        let _ = writeln!(out, "{text}");
                        let _ = out.flush();
                    }
                    Event::Closed(reason) => {
                        let _ = s.flush();
                        break 'run reason;
                    }
                    _ => {}
                }
            }
            if s.flush().is_err() {
                s.conn.handle_eof(common::now());
                continue;
            }
            // Wake at least every 100 ms: the stdin thread may arm a
            // deadline (closing) while this thread sleeps in `read`.
            let wait = s
                .conn
                .poll_timeout()
                .map(|at| at.saturating_duration_since(common::now()))
                .unwrap_or(Duration::from_millis(100))
                .clamp(Duration::from_millis(1), Duration::from_millis(100));
            let _ = reader.set_read_timeout(Some(wait));
        }
        let read = reader.read(&mut buf);
        let mut s = shared.lock().expect("no thread panics holding the lock");
        let now = common::now();
        match read {
            Ok(0) => s.conn.handle_eof(now),
            Ok(n) => s.conn.handle_input(now, &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                s.conn.handle_timeout(now);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => s.conn.handle_eof(now),
        }
    };
    if reason.is_clean() {
        std::process::exit(0);
    }
    eprintln!("connection ended: {reason}");
    std::process::exit(1);
}
