//! The chat example as its tests meet it: the built binary on a free port
//! of 127.0.0.1, and raw WebSocket members over TCP (no deflate offered,
//! so the frames are plain). Shared by tests/chat_room.rs (one process)
//! and tests/chat_cluster.rs (instances sharing a Redis).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

/// The chat binary: `WSCORE_CHAT_BIN`, or the one next to this test's
/// own (target/PROFILE/examples/chat), which must be newer than its
/// sources.
pub fn chat_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("WSCORE_CHAT_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/PROFILE/deps");
    let bin = profile.join("examples").join("chat");
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} missing: cargo build --example chat --features \"tokio http\"",
                bin.display()
            )
        });
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    for source in [
        "chat.rs",
        "chat/room.rs",
        "chat/text.rs",
        "chat/read_budget.rs",
        "chat/hub.rs",
        "chat/index.html",
    ] {
        let changed = std::fs::metadata(root.join(source))
            .and_then(|m| m.modified())
            .expect("the chat's sources exist");
        assert!(
            changed <= built,
            "{} is older than examples/{source}: cargo build --example chat --features \"tokio http\"",
            bin.display()
        );
    }
    bin
}

/// A chat server on a free port of 127.0.0.1, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    /// What it printed after its first line (`joined NAME`...), read by
    /// a thread as it comes: a pipe nobody reads would stop the server
    /// once full.
    printed: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(flags: &[&str]) -> Server {
        let mut child = Command::new(chat_binary())
            .arg("127.0.0.1:0")
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the chat binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        // The first line is `listening on http://127.0.0.1:PORT/`; a server
        // that dies first gives an empty line.
        stdout
            .read_line(&mut line)
            .expect("read the server's first line");
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|port| port.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected first line from the chat: {line:?}");
        };
        let printed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = printed.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            port,
            printed,
        }
    }

    /// The lines it printed after `listening on`.
    pub fn printed(&self) -> Vec<String> {
        self.printed.lock().unwrap().clone()
    }

    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's CPU seconds (user + system), from /proc. (Its bytes
    /// read are not there: `rchar` counts `read`, not the `recv` a socket
    /// is read with.)
    pub fn cpu(&self) -> f64 {
        let pid = self.child.id();
        let stat =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
        // utime and stime: fields 14 and 15, the 12th and 13th after the
        // command name in parentheses. Clock ticks, 100 a second on Linux.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .expect("stat has a name")
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        ticks as f64 / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of an HTTP/1.1 request with these headers, or 101 and the
/// stream (with any bytes read past the head) for an upgrade.
pub async fn request(
    port: u16,
    target: &str,
    host: &str,
    extra: &str,
) -> (u16, TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the chat");
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    let head = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the request");
    let mut buf = Vec::new();
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.expect("read the response");
        assert!(n > 0, "the server closed during the response head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let status = std::str::from_utf8(&buf[..end])
        .ok()
        .and_then(|h| h.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    (status, stream, buf.split_off(end))
}

pub fn upgrade_headers(origin: &str) -> String {
    format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n"
    )
}

/// A member that joined as `name`, once it is in the room: the 101 comes
/// before the room adds the member, so a test that went on at once could
/// race its own join. `shown` is the name the room shows.
pub async fn join_as(server: &Server, name: &str, shown: &str) -> Member {
    let (status, stream, rest) = request(
        server.port,
        &format!("/ws?name={name}"),
        &server.authority(),
        &upgrade_headers(&server.origin()),
    )
    .await;
    assert_eq!(status, 101, "{name} joins");
    let (read, write) = stream.into_split();
    let mut read = Frames::new(read, rest);
    timeout(
        Duration::from_secs(20),
        read.until(&format!("* {shown} joined")),
    )
    .await
    .expect("in the room within 20 s")
    .expect("open");
    Member { read, write }
}

pub async fn join(server: &Server, name: &str) -> Member {
    join_as(server, name, name).await
}

/// A member that comes back as `name` to the chat on `port` (answering
/// `server`'s authority and origin), asking for the lines after `since`.
/// Returns it once its join is announced, with every line before that,
/// with their ids: the history, then whatever came live meanwhile.
pub async fn resume(server: &Server, name: &str, since: &str) -> (Member, Vec<(String, String)>) {
    let (status, stream, rest) = request(
        server.port,
        &format!("/ws?name={name}&since={since}"),
        &server.authority(),
        &upgrade_headers(&server.origin()),
    )
    .await;
    assert_eq!(status, 101, "{name} resumes");
    let (read, write) = stream.into_split();
    let mut read = Frames::new(read, rest);
    let joined = format!("* {name} joined");
    let lines = timeout(Duration::from_secs(20), async {
        let mut lines = Vec::new();
        loop {
            let line = read.id_line().await.expect("open");
            let done = line.1 == joined;
            lines.push(line);
            if done {
                return lines;
            }
        }
    })
    .await
    .expect("back in the room within 20 s");
    (Member { read, write }, lines)
}

pub struct Member {
    pub read: Frames,
    pub write: OwnedWriteHalf,
}

/// Server frames (unmasked, unfragmented: the chat sends each line as one
/// frame) out of a read half.
pub struct Frames {
    read: OwnedReadHalf,
    buf: Vec<u8>,
    /// The id of the last line, `(MS, SEQ)`: each line comes as `ID TEXT`
    /// and the ids on one connection only grow.
    pub last_id: Option<(u64, u64)>,
}

/// A line's id, `MS-SEQ`.
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

impl Frames {
    pub fn new(read: OwnedReadHalf, buf: Vec<u8>) -> Frames {
        Frames {
            read,
            buf,
            last_id: None,
        }
    }

    pub async fn fill(&mut self, n: usize) -> std::io::Result<()> {
        while self.buf.len() < n {
            let mut chunk = vec![0; 64 << 10];
            let got = self.read.read(&mut chunk).await?;
            if got == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    }

    /// The next frame's opcode and payload.
    pub async fn next(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        self.fill(2).await?;
        let (opcode, len) = (self.buf[0] & 0x0f, self.buf[1] & 0x7f);
        let (len, at) = match len {
            126 => {
                self.fill(4).await?;
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                self.fill(10).await?;
                let n = u64::from_be_bytes(self.buf[2..10].try_into().expect("8 bytes"));
                (n as usize, 10)
            }
            n => (n as usize, 2),
        };
        self.fill(at + len).await?;
        let payload = self.buf[at..at + len].to_vec();
        self.buf.drain(..at + len);
        Ok((opcode, payload))
    }

    /// The next text line, without its id (checked to be newer than the
    /// last one's); `Err` with the close code at a Close.
    pub async fn line(&mut self) -> Result<String, Option<u16>> {
        Ok(self.id_line().await?.1)
    }

    /// The next text line and its id, `MS-SEQ`.
    pub async fn id_line(&mut self) -> Result<(String, String), Option<u16>> {
        loop {
            match self.next().await {
                Ok((0x1, payload)) => {
                    let text = String::from_utf8(payload).expect("UTF-8 text");
                    let (id, line) = text.split_once(' ').expect("ID TEXT");
                    let parsed = parse_id(id).unwrap_or_else(|| panic!("an id: {text:?}"));
                    assert!(
                        self.last_id < Some(parsed),
                        "ids grow: {parsed:?} after {:?}",
                        self.last_id
                    );
                    self.last_id = Some(parsed);
                    return Ok((id.to_string(), line.to_string()));
                }
                Ok((0x8, payload)) if payload.len() >= 2 => {
                    return Err(Some(u16::from_be_bytes([payload[0], payload[1]])));
                }
                Ok((0x8, _)) | Err(_) => return Err(None),
                Ok(_) => {} // Pings
            }
        }
    }

    /// Lines until one equals `want`; all of them, `want` last.
    pub async fn until(&mut self, want: &str) -> Result<Vec<String>, Option<u16>> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let done = line == want;
            lines.push(line);
            if done {
                return Ok(lines);
            }
        }
    }
}

/// A masked client frame (the zero key: the payload as it is).
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 1 << 16 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
    out
}

pub fn text_frames<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    lines
        .into_iter()
        .flat_map(|l| frame(0x1, l.as_bytes()))
        .collect()
}

pub const TOO_SLOW: &str = "was too slow and was disconnected";

/// Enough descriptors for this many sockets in this process and in the
/// server (which inherits the limit).
pub fn need_descriptors(n: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    let soft: u64 = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the open-files limit in /proc/self/limits");
    assert!(
        soft >= n + 100,
        "the open-files limit is {soft}; this test needs {} (ulimit -n)",
        n + 100
    );
}
