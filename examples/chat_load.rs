//! The chat's bounded load test (issue 20): `chat_load [--members N]
//! [--rate R] [--secs S] [--senders K] [--origin ORIGIN] URL...`.
//!
//! N members (default 2,000) join the room of the chat instances at the
//! URLs (`ws://HOST:PORT/ws`, round-robin), as `m0`, `m1`, ... Once all of
//! them are in, members `m0` to `m{K-1}` (default 100) take turns saying
//! R lines a second in all (default 20) for S seconds (default 30). Each
//! line's text is `load SENDER SEQ SENT_US`: who, its number among the
//! sender's lines, and when it was sent in microseconds since this process
//! started, so whoever receives it (every member, the sender too) knows
//! its delivery latency on the same monotonic clock. Then it waits up to
//! 10 s for the last lines and prints, last, one line:
//!
//! ```text
//! chat_load: PASS members 2000 over 2 instances, 600 lines, 1200000 deliveries, 0 missed,
//!   0 duplicated, 0 out of order; latency p50 12.1 ms p99 23.6 ms max 30.4 ms
//! ```
//!
//! (one line), exiting 0 only if every member got every line once, each
//! sender's in order, and no member's connection ended; otherwise `FAIL`
//! with the reasons, exit 1. Progress goes to stderr.
//!
//! Every phase has a deadline, and the whole run ends within S + 80 s:
//! connecting (at most 64 handshakes at a time, 10 s each) 30 s; the
//! joins 20 s; the sync 20 s; the sending S + 5 s; the last lines 10 s.
//!
//! "All in" is exact, not a guess: a member is in the room once it hears
//! its own join, and once all are, `m0` says `sync`; when every member has
//! heard it, every join notice before it (the join storm: N² / 2 lines)
//! has been delivered too, so the latencies measure the sending alone.
//!
//! The members are the crate's own client (`wscore::tokio::connect_with`,
//! the crate's default `Config`, so permessage-deflate is offered as a
//! browser would), one task each on a multi-threaded runtime. The latency
//! includes this process's own work: reading 2,000 copies of each line
//! shares the machine with the servers and Redis.
//!
//! It needs one descriptor per member plus a few: it checks the open-files
//! limit first and says how far short it is (`ulimit -n`).

// Examples are crate roots in examples/: their modules need a path.
#[path = "chat_load/args.rs"]
mod args;
#[path = "chat_load/member.rs"]
mod member;
#[path = "chat_load/tally.rs"]
mod tally;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use args::{Args, USAGE};
use member::{Command, Outcome, Seat, Shared};
use tally::Summary;

/// Handshakes under way at once: enough to fill the servers' accept
/// queues without a SYN storm on a 2-core machine.
const CONNECTS: usize = 64;
/// The phases' deadlines (see the module docs).
const CONNECT_PHASE: Duration = Duration::from_secs(30);
const JOIN_PHASE: Duration = Duration::from_secs(20);
const SYNC_PHASE: Duration = Duration::from_secs(20);
/// After the last line is due, how long its sends may take.
const SEND_GRACE: Duration = Duration::from_secs(5);
/// After the sending, how long the last lines may take to arrive.
const DRAIN_PHASE: Duration = Duration::from_secs(10);
/// Over the sending's own seconds, the whole run's bound.
const OVERALL_MARGIN: Duration = Duration::from_secs(80);
/// How often the conductor looks at the counters.
const POLL: Duration = Duration::from_millis(10);
/// Descriptors beyond one per member: stdio, the runtime's own, a margin.
const SPARE_DESCRIPTORS: u64 = 64;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("chat_load: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = enough_descriptors(args.members as u64 + SPARE_DESCRIPTORS) {
        println!("chat_load: FAIL {e}");
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime (threads and an epoll instance)");
    let summary = runtime.block_on(run(args));
    // Members that hung are abandoned with the runtime, not waited for.
    runtime.shutdown_background();
    let (pass, line) = summary.verdict();
    println!("{line}");
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Whether the open-files limit allows `need` descriptors. It is only
/// read, not raised: whoever runs the test decides (`ulimit -n`), and the
/// servers, started by the same shell, need as many.
fn enough_descriptors(need: u64) -> Result<(), String> {
    let limits = std::fs::read_to_string("/proc/self/limits")
        .map_err(|e| format!("cannot read /proc/self/limits: {e}"))?;
    let soft = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|l| l.split_whitespace().next())
        .ok_or("no open-files limit in /proc/self/limits")?;
    match soft.parse::<u64>() {
        Err(_) if soft == "unlimited" => Ok(()),
        Err(e) => Err(format!("the open-files limit {soft:?}: {e}")),
        Ok(soft) if soft >= need => Ok(()),
        Ok(soft) => Err(format!(
            "the open-files limit is {soft}, the members need {need}: raise it (ulimit -n {need})"
        )),
    }
}

/// The whole run, phase by phase; a phase that fails or runs out of time
/// skips the rest and the summary says why.
async fn run(args: Args) -> Summary {
    let lines = args.lines();
    let shared = Arc::new(Shared::new(lines));
    let began = Instant::now();
    let overall = began + Duration::from_secs_f64(args.secs) + OVERALL_MARGIN;
    let (stop_tx, stop_rx) = watch::channel(false);
    let connects = Arc::new(Semaphore::new(CONNECTS));
    let mut commands = Vec::with_capacity(args.senders);
    let mut members = Vec::with_capacity(args.members);
    for index in 0..args.members {
        let (tx, rx) = mpsc::unbounded_channel();
        // Only senders (and m0, for the sync) are told anything; the
        // others' senders are dropped, and they stop listening.
        if index < args.senders {
            commands.push(tx);
        }
        let url = args.url_of(index);
        let seat = Seat {
            index,
            url: url.to_owned(),
            origin: args.origin_of(url),
            senders: args.senders,
            lines,
        };
        let task = member::run(seat, shared.clone(), connects.clone(), rx, stop_rx.clone());
        members.push(tokio::spawn(task));
    }
    let mut summary = Summary {
        members: args.members,
        instances: args.urls.len(),
        lines,
        ..Summary::default()
    };
    summary.timed_out = conduct(&args, &shared, &commands, overall).await.err();
    summary.sent = shared.sent.iter().map(|s| s.load(Relaxed)).collect();
    let _ = stop_tx.send(true);
    drop(commands);
    // The members stop at once; one that does not by now is lost.
    let collect = Instant::now() + Duration::from_secs(5);
    for task in members {
        match tokio::time::timeout_at(collect, task).await {
            Ok(Ok(outcome)) => add(&mut summary, outcome),
            Ok(Err(_)) | Err(_) => summary.lost += 1,
        }
    }
    eprintln!("chat_load: done in {:.1} s", began.elapsed().as_secs_f64());
    summary
}

/// A member's outcome into the summary.
fn add(summary: &mut Summary, outcome: Outcome) {
    summary.not_joined.extend(outcome.not_joined);
    summary.closed.extend(outcome.closed);
    summary.tallies.push(outcome.tally);
}

/// The phases after the members were spawned; `Err` names the one that
/// ran out of time or could not go on.
async fn conduct(
    args: &Args,
    shared: &Shared,
    commands: &[mpsc::UnboundedSender<Command>],
    overall: Instant,
) -> Result<(), String> {
    let n = args.members;
    let phase =
        |name: &str, limit: Duration| (name.to_owned(), (Instant::now() + limit).min(overall));
    let closed = || shared.closed.load(Relaxed);

    let (name, deadline) = phase("connecting", CONNECT_PHASE);
    let all_tried = || shared.connected.load(Relaxed) + shared.failed.load(Relaxed) == n;
    wait(&name, deadline, all_tried).await?;
    if shared.failed.load(Relaxed) > 0 {
        return Err(format!(
            "connecting: {} of {n} failed",
            shared.failed.load(Relaxed)
        ));
    }
    progress(shared, &format!("{n} connected"));

    // Any member closed before the sending is a failure already: stop
    // waiting for it.
    let (name, deadline) = phase("waiting for the joins", JOIN_PHASE);
    wait(&name, deadline, || {
        shared.joined.load(Relaxed) == n || closed() > 0
    })
    .await?;
    progress(shared, &format!("{} joined", shared.joined.load(Relaxed)));

    let (name, deadline) = phase("waiting for the sync line", SYNC_PHASE);
    let _ = commands[0].send(Command::Sync);
    wait(&name, deadline, || {
        shared.synced.load(Relaxed) == n || closed() > 0
    })
    .await?;
    if closed() > 0 {
        return Err(format!("{} members closed before the sending", closed()));
    }
    progress(shared, "every member heard the sync line: sending");

    let lines = args.lines();
    let sending = Instant::now();
    for k in 0..lines {
        let due = sending + args.due(k);
        if due > overall {
            return Err("sending".into());
        }
        tokio::time::sleep_until(due).await;
        // A sender that is gone had its connection end: the line is not
        // sent, and the summary counts it.
        if commands[k % args.senders].send(Command::Say(k)).is_err() {
            shared.sends_done.fetch_add(1, Relaxed);
        }
    }
    let deadline = (Instant::now() + SEND_GRACE).min(overall);
    wait("finishing the sends", deadline, || {
        shared.sends_done.load(Relaxed) == lines
    })
    .await?;
    progress(
        shared,
        &format!(
            "{lines} lines sent in {:.1} s",
            sending.elapsed().as_secs_f64()
        ),
    );

    let sent = shared.sent.iter().filter(|s| s.load(Relaxed)).count() as u64;
    let expected = sent * n as u64;
    let (name, deadline) = phase("waiting for the last lines", DRAIN_PHASE);
    // Once every member is gone nothing more can arrive.
    let all_in = || shared.delivered.load(Relaxed) >= expected || closed() == n;
    wait(&name, deadline, all_in).await?;
    progress(
        shared,
        &format!(
            "{} of {expected} deliveries",
            shared.delivered.load(Relaxed)
        ),
    );
    Ok(())
}

/// Wait until `done`, looking every [`POLL`]; `Err(phase)` at `deadline`.
async fn wait(phase: &str, deadline: Instant, done: impl Fn() -> bool) -> Result<(), String> {
    loop {
        if done() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(phase.to_owned());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One line of progress on stderr, with the time since the start.
fn progress(shared: &Shared, what: &str) {
    eprintln!(
        "chat_load: {:6.1} s  {what}",
        shared.start.elapsed().as_secs_f64()
    );
}
