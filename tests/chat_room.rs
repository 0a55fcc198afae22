//! The chat example's room under bursts and hostile members: the built
//! `examples/chat` binary on 127.0.0.1 port 0, driven by raw WebSocket
//! clients over TCP (no deflate offered, so the frames are plain).
//!
//! It runs the binary rather than the room's code because what broke was
//! the whole path: the queues, the member tasks, the driver's close, the
//! Host and Origin checks and the command line. `cargo test` builds the
//! example; with `--test chat_room` alone, build it first
//! (`cargo build --example chat --features "tokio http"`), or point
//! `WSCORE_CHAT_BIN` at a binary (e.g. another branch's, to compare).
//! Every server is killed when its test ends; every wait has a timeout;
//! the tests take turns, so timing-based limits see a quiet machine.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

/// One test at a time: the heavy ones would otherwise share 2 cores.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The chat binary: `WSCORE_CHAT_BIN`, or the one next to this test's
/// own (target/PROFILE/examples/chat), which must be newer than its
/// sources.
fn chat_binary() -> PathBuf {
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
struct Server {
    child: Child,
    port: u16,
    /// What it printed after its first line (`joined NAME`...), read by
    /// a thread as it comes: a pipe nobody reads would stop the server
    /// once full.
    printed: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start(flags: &[&str]) -> Server {
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
    fn printed(&self) -> Vec<String> {
        self.printed.lock().unwrap().clone()
    }

    fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's CPU seconds (user + system), from /proc. (Its bytes
    /// read are not there: `rchar` counts `read`, not the `recv` a socket
    /// is read with.)
    fn cpu(&self) -> f64 {
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
async fn request(port: u16, target: &str, host: &str, extra: &str) -> (u16, TcpStream, Vec<u8>) {
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

fn upgrade_headers(origin: &str) -> String {
    format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: {origin}\r\n"
    )
}

/// A member that joined as `name`, once it is in the room: the 101 comes
/// before the room adds the member, so a test that went on at once could
/// race its own join. `shown` is the name the room shows.
async fn join_as(server: &Server, name: &str, shown: &str) -> Member {
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

async fn join(server: &Server, name: &str) -> Member {
    join_as(server, name, name).await
}

struct Member {
    read: Frames,
    write: OwnedWriteHalf,
}

/// Server frames (unmasked, unfragmented: the chat sends each line as one
/// frame) out of a read half.
struct Frames {
    read: OwnedReadHalf,
    buf: Vec<u8>,
    /// The id of the last line, `(MS, SEQ)`: each line comes as `ID TEXT`
    /// and the ids on one connection only grow.
    last_id: Option<(u64, u64)>,
}

/// A line's id, `MS-SEQ`.
fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

impl Frames {
    fn new(read: OwnedReadHalf, buf: Vec<u8>) -> Frames {
        Frames {
            read,
            buf,
            last_id: None,
        }
    }

    async fn fill(&mut self, n: usize) -> std::io::Result<()> {
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
    async fn next(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
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
    async fn line(&mut self) -> Result<String, Option<u16>> {
        loop {
            match self.next().await {
                Ok((0x1, payload)) => {
                    let text = String::from_utf8(payload).expect("UTF-8 text");
                    let (id, line) = text.split_once(' ').expect("ID TEXT");
                    let id = parse_id(id).unwrap_or_else(|| panic!("an id: {text:?}"));
                    assert!(
                        self.last_id < Some(id),
                        "ids grow: {id:?} after {:?}",
                        self.last_id
                    );
                    self.last_id = Some(id);
                    return Ok(line.to_string());
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
    async fn until(&mut self, want: &str) -> Result<Vec<String>, Option<u16>> {
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
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
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

fn text_frames<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    lines
        .into_iter()
        .flat_map(|l| frame(0x1, l.as_bytes()))
        .collect()
}

const TOO_SLOW: &str = "was too slow and was disconnected";

/// Enough descriptors for this many sockets in this process and in the
/// server (which inherits the limit).
fn need_descriptors(n: u64) {
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

/// The burst: 300 members, 10 of them send 10 lines each at once,
/// ten times over (10 bursts of 100 lines). On main each member's queue
/// held 64 lines and nearly everyone was cut off with 1013; here every
/// member gets every line, in each sender's order, and nobody is cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_reaches_every_reader() {
    let _turn = TURN.lock().await;
    need_descriptors(300);
    let server = Server::start(&[]);
    const MEMBERS: usize = 300;
    const SENDERS: usize = 10;
    const BURSTS: usize = 10;
    const PER_BURST: usize = 10;
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for i in 0..MEMBERS {
        let member = join(&server, &format!("m{i}")).await;
        writers.push(member.write);
        readers.push(member.read);
    }
    let started = Instant::now();
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|mut read| {
            tokio::spawn(async move {
                let mut got = [0usize; SENDERS];
                let mut slow = Vec::new();
                while got.iter().sum::<usize>() < SENDERS * BURSTS * PER_BURST {
                    let line = read
                        .line()
                        .await
                        .map_err(|code| format!("closed: {code:?}"))?;
                    if line.contains(TOO_SLOW) {
                        slow.push(line);
                    } else if let Some((who, n)) = line.split_once(": b") {
                        let sender: usize = who[1..].parse().expect("mN");
                        let want =
                            format!("{}.{}", got[sender] / PER_BURST, got[sender] % PER_BURST);
                        assert_eq!(n, want, "m{sender}'s lines in order");
                        got[sender] += 1;
                    }
                }
                Ok::<_, String>(slow)
            })
        })
        .collect();
    for burst in 0..BURSTS {
        let sends = writers[..SENDERS].iter_mut().map(|w| {
            let lines: Vec<String> = (0..PER_BURST).map(|l| format!("b{burst}.{l}")).collect();
            let bytes = text_frames(lines.iter().map(String::as_str));
            async move { w.write_all(&bytes).await.expect("send a burst") }
        });
        futures_util::future::join_all(sends).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut complete, mut closed, mut notices) = (0, 0, 0);
    for task in tasks {
        let outcome = timeout(Duration::from_secs(60), task)
            .await
            .expect("every member's lines within 60 s")
            .expect("the reader task");
        match outcome {
            Ok(slow) if slow.is_empty() => complete += 1,
            Ok(slow) => notices += slow.len(),
            Err(_) => closed += 1,
        }
    }
    eprintln!(
        "# {complete} of {MEMBERS} members got all {} lines in {:?}; {closed} closed; \
         {notices} too-slow notices seen by the others",
        SENDERS * BURSTS * PER_BURST,
        started.elapsed()
    );
    assert_eq!(
        complete, MEMBERS,
        "every member gets every line, nobody is cut off"
    );
}

/// 1,000 members join at once: each is queued up to 1,000 join notices at
/// the same moment (main kicked at 64). Nobody is cut off, and everyone
/// then hears the first member speak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_storm_cuts_nobody() {
    let _turn = TURN.lock().await;
    const MEMBERS: usize = 1000;
    need_descriptors(MEMBERS as u64);
    let server = Server::start(&[]);
    let port = server.port;
    let (authority, origin) = (server.authority(), server.origin());
    let joins: Vec<_> = (0..MEMBERS)
        .map(|i| {
            let (authority, origin) = (authority.clone(), origin.clone());
            tokio::spawn(async move {
                let (status, stream, rest) = request(
                    port,
                    &format!("/ws?name=s{i}"),
                    &authority,
                    &upgrade_headers(&origin),
                )
                .await;
                assert_eq!(status, 101, "s{i} joins");
                let (read, write) = stream.into_split();
                let mut read = Frames::new(read, rest);
                // In the room once its own join is announced to it.
                let seen = read.until(&format!("* s{i} joined")).await;
                (read, write, seen)
            })
        })
        .collect();
    let mut members = Vec::new();
    for join in joins {
        members.push(
            timeout(Duration::from_secs(60), join)
                .await
                .expect("joined within 60 s")
                .expect("join task"),
        );
    }
    let mut first = members.remove(0);
    first
        .1
        .write_all(&frame(0x1, b"hello, storm"))
        .await
        .expect("send");
    members.push(first);
    let tasks: Vec<_> = members
        .into_iter()
        .map(|(mut read, write, seen)| {
            tokio::spawn(async move {
                let mut lines = seen?;
                lines.extend(read.until("s0: hello, storm").await?);
                drop(write);
                Ok::<_, Option<u16>>(lines)
            })
        })
        .collect();
    let (mut heard, mut closed, mut notices) = (0, 0, 0);
    for task in tasks {
        let lines = timeout(Duration::from_secs(60), task)
            .await
            .expect("everyone hears s0 or is closed within 60 s")
            .expect("reader task");
        match lines {
            Ok(lines) => {
                let slow = lines.iter().filter(|l| l.contains(TOO_SLOW)).count();
                notices += slow;
                heard += usize::from(slow == 0);
            }
            Err(_) => closed += 1,
        }
    }
    eprintln!("# {heard} of {MEMBERS} heard s0 with no one cut off; {closed} closed");
    assert_eq!(
        heard, MEMBERS,
        "nobody is cut off ({notices} too-slow notices)"
    );
}

/// Three members: `watcher` reads, `talker` sends up to `n` lines of
/// 16 KiB (and reads them back, dropping them), `lazy` never reads. The
/// lines go in batches of 8, each once the watcher has the one before, so
/// the readers' queues stay small (a reader can be behind by a burst, and
/// this is about the one that does not read); the talker stops once lazy
/// is cut off. Returns them, with the lines the watcher got.
async fn lazy_room(server: &Server, n: usize) -> (Member, OwnedWriteHalf, Member, Vec<String>) {
    let mut watcher = join(server, "watcher").await;
    let Member {
        mut read,
        mut write,
    } = join(server, "talker").await;
    tokio::spawn(async move { while read.next().await.is_ok() {} });
    let lazy = join(server, "lazy").await;
    watcher
        .read
        .until("* lazy joined")
        .await
        .expect("watcher sees lazy join");
    let big = "x".repeat(16 << 10);
    let mut seen = Vec::new();
    for batch in (0..n).step_by(8) {
        let lines: Vec<String> = (batch..n.min(batch + 8))
            .map(|i| format!("{i} {big}"))
            .collect();
        write
            .write_all(&text_frames(lines.iter().map(String::as_str)))
            .await
            .expect("send");
        let last = format!("talker: {}", lines.last().expect("a batch has lines"));
        let got = timeout(Duration::from_secs(20), watcher.read.until(&last))
            .await
            .expect("the watcher gets each batch within 20 s")
            .expect("the watcher stays");
        seen.extend(got);
        if seen.iter().any(|l| l.contains(TOO_SLOW)) {
            break;
        }
    }
    (watcher, write, lazy, seen)
}

/// Lines the watcher gets until `want`, after those it already `seen`.
async fn watch_for(watcher: &mut Member, seen: &mut Vec<String>, want: &str) {
    if seen.iter().any(|l| l == want) {
        return;
    }
    let got = timeout(Duration::from_secs(20), watcher.read.until(want))
        .await
        .unwrap_or_else(|_| panic!("{want:?} within 20 s"))
        .expect("the watcher stays");
    seen.extend(got);
}

const LAZY_KICKED: &str = "* lazy was too slow and was disconnected";

/// After it was cut off, `lazy` reads: what was queued before the kick,
/// then a Close with 1013.
async fn closed_with_1013(lazy: &mut Member) {
    let code = timeout(Duration::from_secs(20), async {
        loop {
            if let Err(code) = lazy.read.line().await {
                return code;
            }
        }
    })
    .await
    .expect("lazy's Close within 20 s");
    assert_eq!(
        code,
        Some(1013),
        "lazy is closed with 1013 (Try Again Later)"
    );
}

/// The talker's lines the watcher got.
fn talker_lines(seen: &[String]) -> usize {
    seen.iter()
        .filter(|l| l.starts_with("talker: ") && l.len() > 16 << 10)
        .count()
}

/// A member that stops reading is cut off once the lines waiting for it
/// pass `--max-behind`, while the others get every line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_reader_cut_by_bytes() {
    let _turn = TURN.lock().await;
    let server = Server::start(&["--max-behind", "262144", "--slow-after", "60"]);
    let (mut watcher, mut talker, mut lazy, mut seen) = lazy_room(&server, 256).await;
    watch_for(&mut watcher, &mut seen, LAZY_KICKED).await;
    let sent = talker_lines(&seen);
    // Its own buffers (the driver's 64 KiB, the sockets') and 256 KiB.
    assert!(sent < 96, "lazy was cut off after {sent} lines of 16 KiB");
    // The room carries on.
    talker
        .write_all(&frame(0x1, b"still here"))
        .await
        .expect("send");
    watch_for(&mut watcher, &mut seen, "talker: still here").await;
    let slow: Vec<_> = seen
        .iter()
        .filter(|l| l.contains(TOO_SLOW) && l.as_str() != LAZY_KICKED)
        .collect();
    assert!(slow.is_empty(), "only lazy is cut off: {slow:?}");
    assert_eq!(talker_lines(&seen), sent, "the watcher got every line");
    closed_with_1013(&mut lazy).await;
}

/// A member that stops reading while the room then goes quiet is cut off
/// by its oldest line's age (`--slow-after 1`), far below `--max-behind`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_reader_cut_by_time() {
    let _turn = TURN.lock().await;
    let server = Server::start(&["--max-behind", "67108864", "--slow-after", "1"]);
    let (mut watcher, _talker, mut lazy, mut seen) = lazy_room(&server, 48).await;
    let quiet = Instant::now();
    assert!(
        !seen.iter().any(|l| l.contains(TOO_SLOW)),
        "nobody is cut off while the lines flow"
    );
    assert_eq!(talker_lines(&seen), 48, "the watcher got every line");
    watch_for(&mut watcher, &mut seen, LAZY_KICKED).await;
    let after = quiet.elapsed();
    eprintln!("# lazy cut off {after:?} after the room went quiet");
    assert!(after < Duration::from_secs(8), "soon after 1 s: {after:?}");
    closed_with_1013(&mut lazy).await;
}

/// A kicked member that reads again but floods us while its Close is
/// pending: the server reads at most `CLOSE_READ_BUDGET` (256 KiB) of it
/// and drops the connection, instead of reading and dropping at full
/// speed for the 30 s kick timeout (main: gigabytes a second at 100% of a
/// core). The flooder's own count bounds what the server read: the kernel
/// cannot take more than what the server reads plus its buffers.
/// Default flags, so the same test runs against main
/// (`WSCORE_CHAT_BIN=...`), where it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicked_flooder_is_not_read() {
    let _turn = TURN.lock().await;
    let server = Server::start(&[]);
    let (mut watcher, _talker, lazy, mut seen) = lazy_room(&server, 512).await;
    watch_for(&mut watcher, &mut seen, LAZY_KICKED).await;
    let Member {
        mut read,
        mut write,
    } = lazy;
    // Read and drop everything, so our Close reaches it and the server's
    // writes never wait: only its reading is bounded.
    let drain = tokio::spawn(async move { while read.next().await.is_ok() {} });
    let cpu_before = server.cpu();
    let unit = frame(0x2, &vec![0x55; 60 << 10]);
    let flood = vec![unit; 16].concat();
    let started = Instant::now();
    let mut written = 0u64;
    const FLOOD: Duration = Duration::from_secs(5);
    let mut dropped = false;
    while started.elapsed() < FLOOD {
        match timeout(FLOOD, write.write(&flood)).await {
            Ok(Ok(n)) if n > 0 => written += n as u64,
            Ok(_) => {
                dropped = true;
                break;
            }
            Err(_) => break,
        }
    }
    let flooded = started.elapsed();
    let cpu_after = server.cpu();
    drain.abort();
    let cpu = cpu_after - cpu_before;
    eprintln!(
        "# flood: {} KiB written in {flooded:?}, {}, server CPU {cpu:.2} s",
        written >> 10,
        if dropped {
            "then dropped"
        } else {
            "still open"
        }
    );
    assert!(dropped, "the flooder is dropped within {FLOOD:?}");
    assert!(
        written < 32 << 20,
        "the server took {written} bytes of the flood"
    );
    assert!(cpu < 1.0, "the flood cost the server {cpu} CPU seconds");
}

/// DNS rebinding (`Host: evil.example` with `Origin: http://evil.example`)
/// and cross-site pages are refused; the served authorities, the page's
/// own origin and a configured `--allow-origin` get in.
#[tokio::test]
async fn host_and_origin_checks() {
    let _turn = TURN.lock().await;
    let server = Server::start(&[]);
    let (port, authority, origin) = (server.port, server.authority(), server.origin());
    let ws = |origin: &str| upgrade_headers(origin);
    let status = |target: &'static str, host: String, extra: String| async move {
        request(port, target, &host, &extra).await.0
    };
    let evil = "http://evil.example".to_string();
    assert_eq!(
        status("/ws?name=m", "evil.example".into(), ws(&evil)).await,
        421,
        "rebound name, rebound origin"
    );
    assert_eq!(
        status("/", "evil.example".into(), String::new()).await,
        421,
        "the page under a rebound name"
    );
    assert_eq!(
        status("/ws?name=m", authority.clone(), ws(&evil)).await,
        403,
        "another site's page"
    );
    let no_origin = ws(&origin).replace(&format!("Origin: {origin}\r\n"), "");
    assert_eq!(
        status("/ws?name=m", authority.clone(), no_origin).await,
        403,
        "no Origin"
    );
    assert_eq!(
        status("/", authority.clone(), String::new()).await,
        200,
        "the page"
    );
    assert_eq!(
        status("/ws?name=m", authority.clone(), ws(&origin)).await,
        101,
        "its own page"
    );
    let localhost = format!("localhost:{port}");
    let local_origin = format!("http://{localhost}");
    assert_eq!(
        status("/ws?name=m", localhost.clone(), ws(&local_origin)).await,
        101,
        "via localhost"
    );
    let allowed = "https://chat.example.com".to_string();
    assert_eq!(
        status("/ws?name=m", authority.clone(), ws(&allowed)).await,
        403,
        "not allowed by default"
    );
    drop(server);

    let server = Server::start(&["--allow-origin", "https://chat.example.com"]);
    let (port, authority) = (server.port, server.authority());
    let status = |target: &'static str, host: String, extra: String| async move {
        request(port, target, &host, &extra).await.0
    };
    assert_eq!(
        status("/ws?name=m", authority.clone(), ws(&allowed)).await,
        101,
        "--allow-origin"
    );
    assert_eq!(
        status("/ws?name=m", "chat.example.com".into(), ws(&allowed)).await,
        101,
        "under the allowed origin's name (behind a proxy)"
    );
    assert_eq!(
        status("/ws?name=m", "evil.example".into(), ws(&evil)).await,
        421,
        "still no rebinding"
    );
}

/// Names lose line separators, bidi controls and zero-width characters
/// (U+2028 forged a second line on main), and a line's own U+2028 becomes
/// a space.
#[tokio::test]
async fn names_lose_separators_bidi_and_zero_width() {
    let _turn = TURN.lock().await;
    let server = Server::start(&[]);
    let mut watcher = join(&server, "watcher").await;
    // a U+2028 b U+202E c U+200B d U+2066 e U+FEFF f U+061C g, then "%0A"
    let name = "a%E2%80%A8b%E2%80%AEc%E2%80%8Bd%E2%81%A6e%EF%BB%BFf%D8%9Cg%0A";
    let mut forger = join_as(&server, name, "abcdefg").await;
    timeout(
        Duration::from_secs(10),
        watcher.read.until("* abcdefg joined"),
    )
    .await
    .expect("the cleaned name joins")
    .expect("watcher stays");
    forger
        .write
        .write_all(&frame(
            0x1,
            "hi\u{2028}watcher: I owe abcdefg 100\u{2029}!\n".as_bytes(),
        ))
        .await
        .expect("send");
    let line = timeout(Duration::from_secs(10), watcher.read.line())
        .await
        .expect("a line")
        .expect("open");
    assert_eq!(
        line, "abcdefg: hi watcher: I owe abcdefg 100 ! ",
        "one line, breaks as spaces"
    );
    drop(server);
}

/// The command line: flags in any order around ADDR, each documented one
/// accepted, anything else refused with the usage line (exit status 2).
#[test]
fn command_line() {
    let _turn = TURN.blocking_lock();
    let server = Server::start(&[
        "--slow-after",
        "2.5",
        "--allow-origin",
        "https://chat.example.com",
        "--max-behind",
        "100000",
        "--allow-origin",
        "http://other.example:8080",
    ]);
    drop(server);
    for bad in [
        &["--max-behind"][..],
        &["--max-behind", "lots"],
        &["--slow-after", "-1"],
        &["--allow-origin", "chat.example.com"],
        &["--tls", "cert.pem"],
        &["--redis-typo", "x"],
    ] {
        let out = Command::new(chat_binary())
            .arg("127.0.0.1:0")
            .args(bad)
            .output()
            .expect("run the chat");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?} is refused: {stderr}");
        assert!(stderr.contains("usage: chat [ADDR]"), "{bad:?}: {stderr}");
    }
    // Asked for, the usage is an answer: stdout, status 0, every flag.
    for help in ["--help", "-h"] {
        let out = Command::new(chat_binary())
            .arg(help)
            .output()
            .expect("run the chat");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{help}: {stdout}");
        for flag in ["--tls", "--max-behind", "--slow-after", "--allow-origin"] {
            assert!(stdout.contains(flag), "{help} names {flag}: {stdout}");
        }
    }
}
