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

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::time::timeout;

/// One test at a time: the heavy ones would otherwise share 2 cores.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[path = "common/chat.rs"]
mod chat;
use chat::*;

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

/// Bob's lines, with their ids, until `want` (he reads the room's order).
async fn log_until(member: &mut Member, log: &mut Vec<(String, String)>, want: &str) {
    timeout(Duration::from_secs(20), async {
        loop {
            let line = member.read.id_line().await.expect("open");
            let done = line.1 == want;
            log.push(line);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{want:?} within 20 s"));
}

/// A page that comes back with the id of the last line it showed gets
/// every line said since then, once and in order, then its own join and
/// the live lines: from every point of the room's history (each line's
/// id is tried, as is an id older than all of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_every_point() {
    let _turn = TURN.lock().await;
    let server = Server::start(&[]);
    let mut bob = join(&server, "bob").await;
    // The room's first line is bob's join; `0-0` is older than any.
    let (ms, seq) = bob.read.last_id.expect("bob's join has an id");
    let mut log = vec![
        ("0-0".to_string(), String::new()),
        (format!("{ms}-{seq}"), "* bob joined".to_string()),
    ];
    let lines: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    bob.write
        .write_all(&text_frames(lines.iter().map(String::as_str)))
        .await
        .expect("send");
    log_until(&mut bob, &mut log, "bob: line 19").await;
    for k in 0..log.len() {
        let name = format!("r{k}");
        let (back, got) = resume(&server, &name, &log[k].0).await;
        log_until(&mut bob, &mut log, &format!("* {name} joined")).await;
        assert_eq!(got, log[k + 1..], "{name} resumes after {}", log[k].0);
        // Its leave is a line of the room too, for the next one.
        drop(back);
    }
    // And the live lines go on after the history.
    let (mut late, _) = resume(&server, "late", &log[5].0).await;
    bob.write
        .write_all(&frame(0x1, b"after"))
        .await
        .expect("send");
    late.read
        .until("bob: after")
        .await
        .expect("live after history");
}

/// What one resume hands a member is bounded by `--max-behind`: the
/// newest lines that fit, with nothing between them and the live ones.
/// A page away for long (or a `since=0-0`) gets a recent tail, not
/// everything kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_is_bounded_by_max_behind() {
    let _turn = TURN.lock().await;
    const MAX_BEHIND: usize = 20_000;
    let server = Server::start(&["--max-behind", &MAX_BEHIND.to_string()]);
    let mut bob = join(&server, "bob").await;
    let mut log = Vec::new();
    let text = "y".repeat(500);
    // In batches, read as they come, so bob himself is never behind.
    for batch in 0..20 {
        let lines: Vec<String> = (0..10).map(|i| format!("{batch}.{i} {text}")).collect();
        bob.write
            .write_all(&text_frames(lines.iter().map(String::as_str)))
            .await
            .expect("send");
        log_until(&mut bob, &mut log, &format!("bob: {batch}.9 {text}")).await;
    }
    let (_back, got) = resume(&server, "back", "0-0").await;
    let (joined, history) = got.split_last().expect("at least the join");
    assert_eq!(joined.1, "* back joined");
    // A line's cost as the room counts it: `ID TEXT` plus 64.
    let cost = |(id, line): &(String, String)| id.len() + 1 + line.len() + 64;
    let total: usize = history.iter().map(cost).sum();
    assert!(
        !history.is_empty() && total <= MAX_BEHIND,
        "{total} bytes of history"
    );
    // The newest lines, up to the last before the join...
    assert_eq!(history, &log[log.len() - history.len()..]);
    // ...and every one that fit: the next older would not have.
    let older = &log[log.len() - history.len() - 1];
    assert!(
        total + cost(older) > MAX_BEHIND,
        "{total} + {} fit",
        cost(older)
    );
}

/// `since` must be an id (`MS-SEQ`, each part a number that fits in 64
/// bits): anything else is refused with 400 before the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_refuses_what_is_not_an_id() {
    let _turn = TURN.lock().await;
    let server = Server::start(&[]);
    let headers = upgrade_headers(&server.origin());
    for (since, want) in [
        ("0-0", 101),
        ("18446744073709551615-18446744073709551615", 101),
        ("abc", 400),
        ("1-", 400),
        ("-1", 400),
        ("1", 400),
        ("+1-2", 400),
        ("1-2-3", 400),
        ("18446744073709551616-0", 400),
        ("", 400),
    ] {
        let target = format!("/ws?name=x&since={since}");
        let (status, _, _) = request(server.port, &target, &server.authority(), &headers).await;
        assert_eq!(status, want, "since={since:?}");
    }
}
