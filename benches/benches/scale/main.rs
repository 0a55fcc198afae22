//! Server memory per idle WebSocket connection, at thousands of
//! connections over loopback, for wscore and its peers.
//!
//! `cargo bench -p wscore-benches --bench scale` prints a markdown table
//! (see `BENCHMARKS.md`). Every server runs in a process of its own, so
//! its resident set is its own: wscore's tokio driver, tokio-tungstenite,
//! the echo app of axum's docs on axum's own `ws` and on `wscore::axum`,
//! and a bare tokio floor by re-executing this binary with `--serve NAME`
//! (no extra build step), Node `ws` and Python `websockets` from
//! `benches/scale/`, installed by `tests/interop/install.sh`.
//!
//! For each server, this process (a tokio client) opens `SCALE_CONNS`
//! connections (default 8000), 200 at a time; each completes the handshake
//! (offering permessage-deflate on the deflate rows, as a browser does),
//! sends one 512-byte chat-like JSON text message, checks its echo, and
//! stays open and idle. The server's `VmRSS` is read once it listens and
//! has settled, right after the last echo, and after `SCALE_IDLE_SECS`
//! (default 5) of idleness; a row's result is (idle RSS - baseline RSS) /
//! N. `SCALE_ONLY` (a prefix of a row's name, e.g. `wscore`) runs a part
//! of the table. 127.0.0.1 only; every row is bounded by [`ROW_LIMIT`],
//! and no server outlives its own limit or this process.

mod client;
mod peers;
mod process;
mod serve;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use client::{ANNOUNCED, Load, MESSAGE_LEN, SENT, Traffic};
use peers::Peers;
use process::ServerProcess;
use wscore_benches::env_usize as env;

/// A row that takes longer from its server's start to its last reading
/// fails instead of hanging the benchmark.
const ROW_LIMIT: Duration = Duration::from_secs(120);

/// How long after the clients closed every connection the server's RSS is
/// read again: time to see the ends, finish the connections, and run the
/// trimmer (every 2 s) once.
const AFTER_CLOSE: Duration = Duration::from_secs(3);

/// Time for a server that just started listening to finish its start-up
/// allocations before the baseline is read.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Wscore,
    TokioTungstenite,
    NodeWs,
    PythonWebsockets,
    /// An axum `Router` with the echo handler of axum's docs on
    /// `axum::extract::ws` (tokio-tungstenite underneath).
    AxumBuiltin,
    /// The same app with `wscore::axum` in the handler's `use` line.
    WscoreAxum,
    /// A yardstick: tokio, a task and a `TcpStream` per connection, and no
    /// WebSocket state once the first echo is out.
    TokioFloor,
}

/// One line of the table: a server, whether the client offers
/// permessage-deflate and the server is set up to take it, and for the
/// servers this binary runs, whether glibc's free pages go back to the
/// kernel every 2 s (`wscore_benches::spawn_malloc_trimmer`, as the
/// example servers do).
#[derive(Clone, Copy, Debug)]
struct Row {
    server: Server,
    deflate: bool,
    trim: bool,
    traffic: Traffic,
}

/// The rows, in table order.
const ROWS: [Row; 14] = [
    Row::new(Server::Wscore, false),
    Row::new(Server::Wscore, true),
    Row::untrimmed(Server::Wscore, false),
    Row::untrimmed(Server::Wscore, true),
    Row::hostile(Server::Wscore),
    Row::new(Server::TokioTungstenite, false),
    Row::hostile(Server::TokioTungstenite),
    Row::new(Server::WscoreAxum, false),
    Row::new(Server::AxumBuiltin, false),
    Row::new(Server::NodeWs, false),
    Row::new(Server::NodeWs, true),
    Row::new(Server::PythonWebsockets, false),
    Row::new(Server::PythonWebsockets, true),
    Row::new(Server::TokioFloor, false),
];

impl Row {
    const fn new(server: Server, deflate: bool) -> Row {
        Row {
            server,
            deflate,
            trim: true,
            traffic: Traffic::Echo,
        }
    }

    const fn untrimmed(server: Server, deflate: bool) -> Row {
        Row {
            trim: false,
            ..Row::new(server, deflate)
        }
    }

    /// Connections that announce a 16 MiB frame and send 10 bytes of it.
    const fn hostile(server: Server) -> Row {
        Row {
            traffic: Traffic::Announce,
            ..Row::new(server, false)
        }
    }

    fn name(self, peers: &Peers) -> String {
        let (ws, websockets) = (&peers.ws_version, &peers.websockets_version);
        let trim = if self.trim { "" } else { ", malloc_trim off" };
        let hostile = "16 MiB frame announced, 10 B sent";
        match (self.server, self.deflate) {
            (Server::Wscore, _) if self.traffic == Traffic::Announce => {
                format!("wscore (tokio driver), {hostile}")
            }
            (Server::TokioTungstenite, _) if self.traffic == Traffic::Announce => {
                format!("tokio-tungstenite 0.30.0, {hostile}")
            }
            (Server::Wscore, false) => format!("wscore (tokio driver){trim}"),
            (Server::Wscore, true) => format!("wscore (tokio driver), deflate offered{trim}"),
            (Server::TokioTungstenite, _) => "tokio-tungstenite 0.30.0".into(),
            (Server::WscoreAxum, _) => "wscore::axum (axum 0.8.9)".into(),
            (Server::AxumBuiltin, _) => "axum 0.8.9 built-in ws (tokio-tungstenite 0.29.0)".into(),
            (Server::NodeWs, false) => format!("Node ws {ws}"),
            (Server::NodeWs, true) => format!("Node ws {ws}, perMessageDeflate"),
            (Server::PythonWebsockets, false) => {
                format!("Python websockets {websockets}, compression=None")
            }
            (Server::PythonWebsockets, true) => {
                format!("Python websockets {websockets} (defaults)")
            }
            (Server::TokioFloor, _) => "yardstick: tokio task + TcpStream only".into(),
        }
    }

    /// The command that starts this row's server, living `secs` seconds.
    fn command(self, peers: &Peers, secs: &str) -> Result<Command, String> {
        let name = match self.server {
            Server::Wscore => "wscore",
            Server::TokioTungstenite => "tokio-tungstenite",
            Server::TokioFloor => "tokio-floor",
            Server::AxumBuiltin => "axum",
            Server::WscoreAxum => "wscore-axum",
            Server::NodeWs => return peers.node_ws(self.deflate, secs),
            Server::PythonWebsockets => return peers.python_websockets(self.deflate, secs),
        };
        let mut c = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
        c.args(["--serve", name, secs]);
        if !self.trim {
            c.arg("--no-trim");
        }
        Ok(c)
    }
}

/// A row's readings, from the server's `/proc/PID/status`.
struct Measured {
    /// The `Sec-WebSocket-Extensions` the server answered, the same on
    /// every connection; `None` if it agreed on no extension.
    agreed: Option<String>,
    baseline_kib: u64,
    /// Right after the last echo arrived.
    loaded_kib: u64,
    /// After the idle time.
    idle_kib: u64,
    /// `VmHWM` after the idle time: the most the server ever held.
    peak_kib: u64,
    /// [`AFTER_CLOSE`] after every client connection was closed: whether
    /// the server's memory comes back once the load has gone away.
    closed_kib: u64,
    /// From the first connection attempt to the last echo.
    connect_time: Duration,
}

impl Measured {
    /// Bytes per connection between the baseline and `kib`.
    fn per_conn(&self, kib: u64, n: usize) -> f64 {
        (kib as f64 - self.baseline_kib as f64) * 1024.0 / n as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let name = args.get(i + 1).map_or("", String::as_str);
        let secs = args.get(i + 2).and_then(|s| s.parse().ok()).unwrap_or(0);
        let trim = !args.iter().any(|a| a == "--no-trim");
        serve::serve(name, Duration::from_secs(secs), trim);
    }
    // `cargo bench` passes `--bench`; settings come from the environment.
    let n = env("SCALE_CONNS", 8000).max(1);
    let idle = Duration::from_secs(env("SCALE_IDLE_SECS", 5) as u64);
    let limit = process::raise_nofile_limit();
    eprintln!("scale: open-files limit {limit}, {n} connections, idle {idle:?}");
    let peers = Peers::install();
    let client = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the client's runtime builds");
    let only = std::env::var("SCALE_ONLY").ok();
    let started = Instant::now();
    let mut results = Vec::new();
    for row in ROWS {
        let name = row.name(&peers);
        if only.as_ref().is_some_and(|o| !name.starts_with(o.as_str())) {
            continue;
        }
        eprintln!("scale: {name}");
        let result = measure(row, &peers, &client, n, idle);
        if let Err(why) = &result {
            eprintln!("scale: {name}: {why}");
        }
        results.push((row, name, result));
    }
    print_table(&results, n, idle);
    eprintln!("scale: {:.0} s", started.elapsed().as_secs_f64());
    // A peer that could not be installed is n/a; a row that failed fails
    // the benchmark.
    if results
        .iter()
        .any(|(_, _, r)| r.as_ref().is_err_and(|e| !e.starts_with("n/a")))
    {
        std::process::exit(1);
    }
}

/// The repository's root (the parent of this package).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is inside the repository")
}

/// Start `row`'s server, load it, read its memory, and take it down.
fn measure(
    row: Row,
    peers: &Peers,
    client: &Runtime,
    n: usize,
    idle: Duration,
) -> Result<Measured, String> {
    let deadline = Instant::now() + ROW_LIMIT;
    // The server goes away by itself a little after the row's limit.
    let secs = (ROW_LIMIT + Duration::from_secs(30)).as_secs().to_string();
    let mut server = ServerProcess::start(&mut row.command(peers, &secs)?)?;
    std::thread::sleep(SETTLE);
    let baseline_kib = server.status_kib("VmRSS")?;
    let start = Instant::now();
    let load = client.block_on(Load::open(
        server.addr,
        row.deflate,
        row.traffic,
        n,
        deadline,
    ));
    let connect_time = start.elapsed();
    let agreed = load
        .agreed
        .clone()
        .map_err(|e| format!("{e}; {}", server.why()))?;
    let loaded_kib = server.status_kib("VmRSS")?;
    if Instant::now() + idle > deadline {
        return Err(format!("over the {ROW_LIMIT:?} limit before the idle time"));
    }
    // The clients' tasks run on the runtime's workers meanwhile, answering
    // any Ping.
    std::thread::sleep(idle);
    if load.still_open() != n {
        return Err(format!(
            "{} of {n} connections ended during the idle time; {}",
            n - load.still_open(),
            server.why()
        ));
    }
    let idle_kib = server.status_kib("VmRSS")?;
    let peak_kib = server.status_kib("VmHWM")?;
    // The load goes away: every client connection closes, and the server
    // should come back near its baseline.
    drop(load);
    std::thread::sleep(AFTER_CLOSE);
    let measured = Measured {
        agreed,
        baseline_kib,
        loaded_kib,
        idle_kib,
        peak_kib,
        closed_kib: server.status_kib("VmRSS")?,
        connect_time,
    };
    server.stop();
    Ok(measured)
}

/// Print the markdown table, ready for `BENCHMARKS.md`.
fn print_table(results: &[(Row, String, Result<Measured, String>)], n: usize, idle: Duration) {
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let per = |b: f64| format!("{:.0} B ({:.1} KiB)", b, b / 1024.0);
    // The wscore rows' idle cost per connection, for the ratio columns.
    let reference = |deflate: bool| {
        results.iter().find_map(|(row, _, r)| match r {
            Ok(m) if row.server == Server::Wscore && row.deflate == deflate => {
                Some(m.per_conn(m.idle_kib, n)).filter(|b| *b > 0.0)
            }
            _ => None,
        })
    };
    let (plain, deflate) = (reference(false), reference(true));
    let ratio = |b: f64, r: Option<f64>| r.map_or("n/a".into(), |r| format!("{:.2}", b / r));
    println!(
        "{n} idle connections per server over 127.0.0.1; each sent one {MESSAGE_LEN}-byte \
         text message and got its echo (the hostile rows: a frame header announcing \
         {ANNOUNCED} bytes and {SENT} of them); idle RSS read {} s after the last echo.\n",
        idle.as_secs()
    );
    println!(
        "| Server | deflate agreed | RSS per idle connection | right after the echoes | \
         after all closed | baseline RSS | peak RSS | N | connect + echo | ÷ wscore | \
         ÷ wscore, deflate |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (_, name, result) in results {
        let m = match result {
            Ok(m) => m,
            Err(why) => {
                println!("| {name} | {why} | | | | | | {n} | | | |");
                continue;
            }
        };
        let agreed = m
            .agreed
            .as_ref()
            .map_or("no".into(), |e| format!("yes: `{e}`"));
        let idle = m.per_conn(m.idle_kib, n);
        println!(
            "| {name} | {agreed} | {} | {} | {} | {} | {} | {n} | {:.1} s | {} | {} |",
            per(idle),
            per(m.per_conn(m.loaded_kib, n)),
            per(m.per_conn(m.closed_kib, n)),
            mib(m.baseline_kib),
            mib(m.peak_kib),
            m.connect_time.as_secs_f64(),
            ratio(idle, plain),
            ratio(idle, deflate),
        );
    }
    println!(
        "\n- RSS per idle connection: (VmRSS after {} s idle - VmRSS before connecting) / N; \
         right after the echoes: the same with VmRSS read when the last echo arrived; \
         after all closed: the same {} s after the client closed every connection.\n\
         - Peak RSS: the server's VmHWM at the end. ÷ wscore: the row's RSS per idle \
         connection over the wscore row's without / with deflate.",
        idle.as_secs(),
        AFTER_CLOSE.as_secs()
    );
}
