//! Instances of the chat sharing one room through a real Redis
//! (`chat ADDR --redis redis://HOST:PORT`): Debian's `redis-server`,
//! started by each test on a free port of 127.0.0.1 with nothing saved to
//! disk, killed when the test ends. `bash tests/cluster/install.sh`
//! installs it (a step of `.ci/run` before the tests).
//!
//! The members are raw WebSocket clients (tests/common/chat.rs), so what
//! each one got, with its ids, is compared line for line: one room, one
//! order, every line once, across instances, across an instance's death
//! and across a broken subscription.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

#[path = "common/chat.rs"]
mod chat;
use chat::*;

/// One test at a time: each starts a Redis and two servers.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A `redis-server` on a free port of 127.0.0.1, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Redis::start_on(port)
    }

    fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts (bash tests/cluster/install.sh installs it)");
        let redis = Redis { child, port };
        // Up once it answers PING.
        let client = redis.client();
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    return redis;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {port} did not answer within 5 s");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a Redis URL")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chat instance on the room in `redis`.
fn instance(redis: &Redis) -> Server {
    Server::start(&["--redis", &redis.url()])
}

/// The close code `member` gets within `secs` seconds, whatever lines
/// come before it.
async fn closed_within(member: &mut Member, secs: u64) -> Option<u16> {
    timeout(Duration::from_secs(secs), async {
        loop {
            if let Err(code) = member.read.line().await {
                return code;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("closed within {secs} s"))
}

/// Lines with their ids until `want`.
async fn lines_until(member: &mut Member, want: &str) -> Vec<(String, String)> {
    timeout(Duration::from_secs(20), async {
        let mut lines = Vec::new();
        loop {
            let line = member.read.id_line().await.expect("open");
            let done = line.1 == want;
            lines.push(line);
            if done {
                return lines;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{want:?} within 20 s"))
}

/// Whether `server` printed `joined NAME` (or `joined NAME since ID`)
/// within 5 s: it prints once the join is announced, so the member may
/// hear its own join first.
fn landed(server: &Server, name: &str) -> bool {
    let printed = |l: &String| {
        l == &format!("joined {name}") || l.starts_with(&format!("joined {name} since "))
    };
    for _ in 0..100 {
        if server.printed().iter().any(printed) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Three members on two instances, all talking at once: every member gets
/// the same lines with the same ids in the same order, each sender's lines
/// once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_one_room() {
    let _turn = TURN.lock().await;
    let redis = Redis::start();
    let (a, b) = (instance(&redis), instance(&redis));
    let mut alice = join(&a, "alice").await;
    let mut bob = join(&b, "bob").await;
    let mut carol = join(&a, "carol").await;
    assert!(landed(&a, "alice") && landed(&b, "bob") && landed(&a, "carol"));
    for m in [&mut alice, &mut bob] {
        lines_until(m, "* carol joined").await;
    }
    let senders = ["alice", "bob", "carol"];
    for (member, name) in [&mut alice, &mut bob, &mut carol].into_iter().zip(senders) {
        let mut lines: Vec<String> = (0..50).map(|i| format!("{name} {i}")).collect();
        lines.push("end".into());
        member
            .write
            .write_all(&text_frames(lines.iter().map(String::as_str)))
            .await
            .expect("send");
    }
    let mut logs = Vec::new();
    for member in [&mut alice, &mut bob, &mut carol] {
        let mut log: Vec<(String, String)> = Vec::new();
        let ended = |log: &[(String, String)]| {
            let ends = log.iter().filter(|(_, l)| l.ends_with(": end")).count();
            ends == senders.len()
        };
        while !ended(&log) {
            let line = timeout(Duration::from_secs(20), member.read.id_line())
                .await
                .expect("every line within 20 s")
                .expect("open");
            log.push(line);
        }
        logs.push(log);
    }
    assert_eq!(
        logs[0], logs[1],
        "alice and bob got the same lines, ids and order"
    );
    assert_eq!(logs[0], logs[2], "alice and carol too");
    let first = &logs[0];
    for name in senders {
        let said: Vec<&str> = first
            .iter()
            .filter_map(|(_, l)| l.strip_prefix(&format!("{name}: {name} ")))
            .collect();
        let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        assert_eq!(said, want, "{name}'s lines, once each, in order");
    }
}

/// The instance alice is on dies (SIGKILL) while bob, on the other, goes
/// on talking; alice comes back on bob's instance with the id of the last
/// line she saw and gets every line said meanwhile, once, then the live
/// ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_on_the_other_instance_after_a_kill() {
    let _turn = TURN.lock().await;
    let redis = Redis::start();
    let a = instance(&redis);
    let b = instance(&redis);
    let mut alice = join(&a, "alice").await;
    let mut bob = join(&b, "bob").await;
    lines_until(&mut alice, "* bob joined").await;
    bob.write
        .write_all(&frame(0x1, b"before"))
        .await
        .expect("send");
    let seen = lines_until(&mut alice, "bob: before").await;
    let last = seen.last().expect("a line").0.clone();
    lines_until(&mut bob, "bob: before").await;
    drop(a);
    let lines: Vec<String> = (0..30).map(|i| format!("meanwhile {i}")).collect();
    bob.write
        .write_all(&text_frames(lines.iter().map(String::as_str)))
        .await
        .expect("send");
    let mut said = lines_until(&mut bob, "bob: meanwhile 29").await;
    let (mut back, got) = resume(&b, "alice", &last).await;
    assert!(landed(&b, "alice"), "alice is back on bob's instance");
    said.extend(lines_until(&mut bob, "* alice joined").await);
    assert_eq!(got, said, "every line since {last}, once, in order");
    bob.write
        .write_all(&frame(0x1, b"live"))
        .await
        .expect("send");
    lines_until(&mut back, "bob: live").await;
}

/// Pub/Sub loses what is published while a subscriber is away: an
/// instance whose subscription is cut (`CLIENT KILL TYPE pubsub`, as a
/// Redis failover or a proxy would) subscribes again and reads the gap
/// from the Stream. Lines said through the other instance during the cut
/// reach its member once each, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_subscription_is_filled_from_the_stream() {
    let _turn = TURN.lock().await;
    let redis = Redis::start();
    let (a, b) = (instance(&redis), instance(&redis));
    let mut alice = join(&a, "alice").await;
    let mut bob = join(&b, "bob").await;
    lines_until(&mut alice, "* bob joined").await;
    let mut conn = redis.client().get_connection().expect("connect to Redis");
    for round in 0..5 {
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut conn)
            .expect("CLIENT KILL");
        assert_eq!(killed, 2, "both instances' subscriptions are cut");
        let lines: Vec<String> = (0..20).map(|i| format!("{round}.{i}")).collect();
        bob.write
            .write_all(&text_frames(lines.iter().map(String::as_str)))
            .await
            .expect("send");
        let last = format!("bob: {round}.19");
        let said = lines_until(&mut bob, &last).await;
        let got = lines_until(&mut alice, &last).await;
        assert_eq!(got, said, "round {round}: the same lines, once, in order");
        assert_eq!(said.len(), 20, "round {round}: {said:?}");
    }
}

/// Without Redis the room cannot take a line: the sender is closed with
/// 1011 (its page reconnects and resumes later); after 10 s without it
/// the listeners are closed with 1011 too and new members refused; a
/// Redis back on the port serves the room again; and an instance will
/// not start on a Redis it cannot reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_lines_are_refused_not_lost_silently() {
    let _turn = TURN.lock().await;
    let mut redis = Redis::start();
    let a = instance(&redis);
    let mut alice = join(&a, "alice").await;
    let mut dave = join(&a, "dave").await;
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    let lost = std::time::Instant::now();
    alice
        .write
        .write_all(&frame(0x1, b"into the void"))
        .await
        .expect("send");
    assert_eq!(closed_within(&mut alice, 30).await, Some(1011));
    // Dave only listens: he is not left in a room that says nothing.
    // Once the instance has been without its subscription for 10 s
    // (hub::ROOM_LOST_AFTER) he is closed with 1011 too, so that his page
    // goes to an instance that has its Redis; and a page that comes here
    // meanwhile is closed the same way rather than let in.
    assert_eq!(closed_within(&mut dave, 30).await, Some(1011));
    let waited = lost.elapsed();
    assert!(
        waited >= Duration::from_secs(9),
        "closed after {waited:?}: a short break must not close the room"
    );
    let (status, stream, rest) = request(
        a.port,
        "/ws?name=erin",
        &a.authority(),
        &upgrade_headers(&a.origin()),
    )
    .await;
    assert_eq!(status, 101);
    let (read, write) = stream.into_split();
    let mut erin = Member {
        read: Frames::new(read, rest),
        write,
    };
    assert_eq!(closed_within(&mut erin, 10).await, Some(1011));
    // And a Redis back on the same port serves the room again.
    let redis = Redis::start_on(redis.port);
    let mut bob = timeout(Duration::from_secs(30), async {
        loop {
            let (status, stream, rest) = request(
                a.port,
                "/ws?name=bob",
                &a.authority(),
                &upgrade_headers(&a.origin()),
            )
            .await;
            assert_eq!(status, 101);
            let (read, write) = stream.into_split();
            let mut member = Member {
                read: Frames::new(read, rest),
                write,
            };
            if member.read.until("* bob joined").await.is_ok() {
                return member;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the room is back within 30 s");
    bob.write
        .write_all(&frame(0x1, b"back"))
        .await
        .expect("send");
    lines_until(&mut bob, "bob: back").await;
    drop(redis);

    let status = Command::new(chat_binary())
        .args(["127.0.0.1:0", "--redis", "redis://127.0.0.1:1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run the chat");
    assert!(
        !status.status.success(),
        "it does not start without its Redis"
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("cannot use the Redis at redis://127.0.0.1:1"),
        "{stderr}"
    );
}

/// A resume through Redis is bounded as one in a single process is: the
/// newest lines that fit in `--max-behind`, read newest first a page at a
/// time (so `since=0-0` after a long history costs no more), and the
/// extreme ids are answered, not errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_through_redis_is_bounded() {
    let _turn = TURN.lock().await;
    const MAX_BEHIND: usize = 20_000;
    let redis = Redis::start();
    let flags = [
        "--redis",
        &redis.url(),
        "--max-behind",
        &MAX_BEHIND.to_string(),
    ];
    let (a, b) = (Server::start(&flags), Server::start(&flags));
    let mut bob = join(&a, "bob").await;
    let mut log = Vec::new();
    let text = "z".repeat(500);
    for batch in 0..20 {
        let lines: Vec<String> = (0..10).map(|i| format!("{batch}.{i} {text}")).collect();
        bob.write
            .write_all(&text_frames(lines.iter().map(String::as_str)))
            .await
            .expect("send");
        log.extend(lines_until(&mut bob, &format!("bob: {batch}.9 {text}")).await);
    }
    let (_back, got) = resume(&b, "back", "0-0").await;
    let (joined, history) = got.split_last().expect("at least the join");
    assert_eq!(joined.1, "* back joined");
    let cost = |(id, line): &(String, String)| id.len() + 1 + line.len() + 64;
    let total: usize = history.iter().map(cost).sum();
    assert!(
        !history.is_empty() && total <= MAX_BEHIND,
        "{total} bytes of history"
    );
    assert_eq!(history, &log[log.len() - history.len()..]);
    let older = &log[log.len() - history.len() - 1];
    assert!(
        total + cost(older) > MAX_BEHIND,
        "{total} + {} fit",
        cost(older)
    );
    // The newest possible id: nothing after it, and still a member.
    let max = "18446744073709551615-18446744073709551615";
    let (_top, got) = resume(&b, "top", max).await;
    assert_eq!(got.len(), 1, "only its own join: {got:?}");
}
