//! wscore against peer crates, in memory and in one process.
//!
//! `cargo bench -p wscore-benches --bench peers` prints a markdown table
//! (see `BENCHMARKS.md` at the repository root for what each row means).
//! Every input is built before any timing; every run's output is checked
//! (message count, summed length, checksum) and a mismatch panics. Runs are
//! interleaved: one untimed warm-up per implementation, then rep 1 of every
//! implementation, rep 2 of every implementation, and so on. Each
//! implementation keeps one connection for a whole row, so rows measure a
//! long-lived connection after its first message. `PEERS_REPS=n` changes
//! the repetition count (default 7).

mod baseline;
mod common;
mod embedded_websocket_drv;
mod fastwebsockets_drv;
mod tokio_websockets_drv;
mod tungstenite_drv;
mod tungstenite_frame_drv;
mod wscore_drv;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::runtime::Runtime;
use wscore::Config;

use common::{Pipe, Rng, RxInput, Tally, checksum, tally_wire};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;
/// Every receive cap (frame and message) of every implementation is raised
/// to this, above the 64 MiB messages.
const CAP: usize = 128 * MIB;
const SMALL_COUNT: usize = 1_000_000;
const SMALL_SIZE: usize = 16;
const BIG: usize = 64 * MIB;
const FRAGMENT: usize = 64 * KIB;
/// Bytes per read (W2, W3) and per `handle_input`.
const BIG_READ: usize = 64 * KIB;
const W1_READS: [(usize, &str); 3] = [(4 * KIB, "4 KiB"), (64 * KIB, "64 KiB"), (MIB, "1 MiB")];

/// The table's implementation columns, in order.
const COLS: [&str; 7] = [
    "wscore default",
    "wscore as its driver",
    "tungstenite",
    "tungstenite FrameSocket",
    "fastwebsockets",
    "tokio-websockets",
    "embedded-websocket",
];
const WS_DEFAULT: usize = 0;
const WS_REUSE: usize = 1;
const TUNGSTENITE: usize = 2;
const TUNGSTENITE_FRAMES: usize = 3;
const FASTWEBSOCKETS: usize = 4;
const TOKIO_WEBSOCKETS: usize = 5;
const EMBEDDED: usize = 6;
/// Columns from here on are peers (the "best peer" is taken among them).
const FIRST_PEER: usize = TUNGSTENITE;
/// The yardstick's column in a row's cases (after the implementations).
const YARD: usize = COLS.len();

/// One implementation in one row: make ready (untimed), run (timed), check
/// (untimed, panics on a wrong result).
struct Case<'a> {
    col: usize,
    name: &'static str,
    prepare: Box<dyn FnMut() + 'a>,
    run: Box<dyn FnMut() -> Tally + 'a>,
    check: Box<dyn FnMut(Tally) + 'a>,
}

/// A receiver: each run is served `input` and must report exactly its
/// messages, and read all of it.
fn rx_case<'a>(
    col: usize,
    pipe: Pipe,
    input: &'a RxInput,
    run: impl FnMut() -> Tally + 'a,
) -> Case<'a> {
    let name = COLS.get(col).copied().unwrap_or("minimal parser");
    let check_pipe = pipe.clone();
    Case {
        col,
        name,
        prepare: Box::new(move || pipe.load(&input.wire)),
        run: Box::new(run),
        check: Box::new(move |t| {
            assert_eq!(t, input.expected, "{name}: wrong messages");
            assert_eq!(check_pipe.unread(), 0, "{name}: input left unread");
        }),
    }
}

/// A sender: what it wrote must pass `verify`.
fn tx_case<'a>(
    col: usize,
    pipe: Pipe,
    verify: &'a (dyn Fn(&str, &[u8]) + 'a),
    mut run: impl FnMut() + 'a,
) -> Case<'a> {
    Case {
        col,
        name: COLS[col],
        prepare: Box::new(|| {}),
        run: Box::new(move || {
            run();
            Tally::default()
        }),
        check: Box::new(move |_| pipe.check_out(|out| verify(COLS[col], out))),
    }
}

#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    reps: usize,
}

/// Throughput (`per_run` units per second) over the runs' times.
fn stats(times: &mut [Duration], per_run: f64) -> Stats {
    times.sort();
    let rate = |d: Duration| per_run / d.as_secs_f64();
    Stats {
        median: rate(times[times.len() / 2]),
        min: rate(times[times.len() - 1]),
        max: rate(times[0]),
        reps: times.len(),
    }
}

/// `PEERS_VERBOSE=1` prints every run's time to stderr.
fn verbose() -> bool {
    std::env::var_os("PEERS_VERBOSE").is_some()
}

/// A case whose warm-up takes longer than this is timed only `SLOW_REPS`
/// times, so one pathological implementation cannot stretch the run.
const SLOW: Duration = Duration::from_secs(2);
const SLOW_REPS: usize = 3;

/// Warm up each case once, then run `reps` interleaved rounds (round `r`
/// runs every case once, in order).
fn measure(cases: &mut [Case], reps: usize, per_run: f64) -> Vec<(usize, Stats)> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(reps); cases.len()];
    let mut limit = vec![reps; cases.len()];
    for round in 0..=reps {
        for (i, case) in cases.iter_mut().enumerate() {
            if round > limit[i] {
                continue;
            }
            (case.prepare)();
            let start = Instant::now();
            let tally = (case.run)();
            let elapsed = start.elapsed();
            (case.check)(tally);
            if verbose() {
                eprintln!("  round {round} {}: {elapsed:?}", case.name);
            }
            if round == 0 && elapsed > SLOW {
                limit[i] = SLOW_REPS.min(reps);
            } else if round > 0 {
                times[i].push(elapsed);
            }
        }
    }
    cases
        .iter()
        .zip(&mut times)
        .map(|(c, t)| (c.col, stats(t, per_run)))
        .collect()
}

struct Row {
    label: String,
    unit: &'static str,
    cells: [Option<Stats>; COLS.len()],
    /// Why a column has no result, for those left out on purpose.
    skipped: [Option<&'static str>; COLS.len()],
    yard: Option<(Stats, &'static str)>,
}

fn row(label: String, unit: &'static str, results: Vec<(usize, Stats)>) -> Row {
    let mut r = Row {
        label,
        unit,
        cells: [None; COLS.len()],
        skipped: [None; COLS.len()],
        yard: None,
    };
    for (col, s) in results {
        match r.cells.get_mut(col) {
            Some(cell) => *cell = Some(s),
            None => r.yard = Some((s, "minimal parser")),
        }
    }
    r
}

/// `Config::default()` with the caps raised like every peer's. Both wscore
/// columns use it; they differ in how bytes are read (see `rx_cases`).
fn wscore_configs() -> [Config; 2] {
    let mut default = Config::default();
    default.max_message_size = CAP as u64;
    default.max_frame_size = CAP as u64;
    [default.clone(), default]
}

/// embedded-websocket 0.9.5 stalls on a fragmented message whose non-final
/// frame spans two reads: the finished frame leaves a zero-length
/// continuation behind (only a final frame clears it), so every later
/// `read` consumes nothing.
const EMBEDDED_FRAGMENTS: &str = "n/a (stalls)";

/// Every implementation as a server receiving `msgs` messages per run, with
/// reads of `read_size` bytes; `max_msg` sizes embedded-websocket's buffer,
/// which is left out of `fragmented` rows (see [`EMBEDDED_FRAGMENTS`]).
fn rx_cases<'a>(
    rt: &'a Runtime,
    input: &'a RxInput,
    read_size: usize,
    max_msg: usize,
    fragmented: bool,
) -> Vec<Case<'a>> {
    let msgs = input.expected.msgs;
    let mut cases = Vec::new();
    for (col, config) in [WS_DEFAULT, WS_REUSE].into_iter().zip(wscore_configs()) {
        let p = Pipe::new(read_size);
        // The default column reads into a buffer of its own and hands the
        // bytes to `handle_input`, the API a user reaches for first; the
        // other reads as the tokio driver does: the same, but straight
        // into the connection while a large message arrives
        // (`payload_buffer`).
        let mut rx = wscore_drv::server_rx(&config, p.clone(), read_size, col != WS_DEFAULT);
        cases.push(rx_case(col, p, input, move || {
            wscore_drv::recv(&mut rx, msgs)
        }));
    }
    let p = Pipe::new(read_size);
    let mut ws = tungstenite_drv::server(p.clone(), CAP);
    cases.push(rx_case(TUNGSTENITE, p, input, move || {
        tungstenite_drv::recv(&mut ws, msgs)
    }));
    let p = Pipe::new(read_size);
    let mut rx = tungstenite_frame_drv::server_rx(p.clone(), CAP);
    cases.push(rx_case(TUNGSTENITE_FRAMES, p, input, move || {
        tungstenite_frame_drv::recv(&mut rx, msgs)
    }));
    let p = Pipe::new(read_size);
    let mut ws = fastwebsockets_drv::server_rx(p.clone(), CAP);
    let run = move || rt.block_on(fastwebsockets_drv::recv(&mut ws, msgs));
    cases.push(rx_case(FASTWEBSOCKETS, p, input, run));
    let p = Pipe::new(read_size);
    let mut ws = tokio_websockets_drv::server(p.clone(), CAP);
    let run = move || rt.block_on(tokio_websockets_drv::recv(&mut ws, msgs));
    cases.push(rx_case(TOKIO_WEBSOCKETS, p, input, run));
    if !fragmented {
        let p = Pipe::new(read_size);
        let mut rx = embedded_websocket_drv::server_rx(p.clone(), read_size, max_msg);
        cases.push(rx_case(EMBEDDED, p, input, move || {
            embedded_websocket_drv::recv(&mut rx, msgs)
        }));
    }
    cases
}

/// W4a: every implementation as a server sending `payloads` in pieces of
/// `SMALL_SIZE`.
/// A pipe for a sender, its sink's pages touched beforehand.
fn sink_pipe(sink: usize) -> Pipe {
    let p = Pipe::new(0);
    p.prepare_out(sink);
    p
}

fn tx_small_cases<'a>(
    rt: &'a Runtime,
    payloads: &'a Bytes,
    verify: &'a (dyn Fn(&str, &[u8]) + 'a),
    sink: usize,
) -> Vec<Case<'a>> {
    let pipe = || sink_pipe(sink);
    let mut cases = Vec::new();
    for (col, config) in [WS_DEFAULT, WS_REUSE].into_iter().zip(wscore_configs()) {
        let p = pipe();
        let mut tx = wscore_drv::server_tx(&config, p.clone());
        let run = move || wscore_drv::send_frames(&mut tx, payloads, SMALL_SIZE);
        cases.push(tx_case(col, p, verify, run));
    }
    let p = pipe();
    let mut ws = tungstenite_drv::server(p.clone(), CAP);
    let run = move || tungstenite_drv::send_frames(&mut ws, payloads, SMALL_SIZE);
    cases.push(tx_case(TUNGSTENITE, p, verify, run));
    let p = pipe();
    let mut tx = tungstenite_frame_drv::server_tx(p.clone());
    let run = move || tungstenite_frame_drv::send_frames(&mut tx, payloads, SMALL_SIZE);
    cases.push(tx_case(TUNGSTENITE_FRAMES, p, verify, run));
    let p = pipe();
    let mut ws = fastwebsockets_drv::server_tx(p.clone());
    let run = move || {
        rt.block_on(fastwebsockets_drv::send_frames(
            &mut ws, payloads, SMALL_SIZE,
        ))
    };
    cases.push(tx_case(FASTWEBSOCKETS, p, verify, run));
    let p = pipe();
    let mut ws = tokio_websockets_drv::server(p.clone(), CAP);
    let run = move || {
        rt.block_on(tokio_websockets_drv::send_frames(
            &mut ws, payloads, SMALL_SIZE,
        ))
    };
    cases.push(tx_case(TOKIO_WEBSOCKETS, p, verify, run));
    let p = pipe();
    let mut tx = embedded_websocket_drv::server_tx(p.clone(), 64 * KIB);
    let run = move || embedded_websocket_drv::send_frames(&mut tx, payloads, SMALL_SIZE);
    cases.push(tx_case(EMBEDDED, p, verify, run));
    cases
}

/// W4b: every implementation as a client sending `msg` as one message.
fn tx_big_cases<'a>(
    rt: &'a Runtime,
    msg: &'a Bytes,
    verify: &'a (dyn Fn(&str, &[u8]) + 'a),
    sink: usize,
    in_place: bool,
) -> Vec<Case<'a>> {
    let pipe = || sink_pipe(sink);
    let mut cases = Vec::new();
    for (col, config) in [WS_DEFAULT, WS_REUSE].into_iter().zip(wscore_configs()) {
        let p = pipe();
        let mut tx = wscore_drv::client_tx(&config, p.clone());
        if in_place {
            // The caller's own buffer, refilled before each run (untimed):
            // send_in_place masks it where it lies.
            let buf = std::rc::Rc::new(std::cell::RefCell::new(msg.to_vec()));
            let refill = buf.clone();
            let mut case = tx_case(col, p, verify, move || {
                wscore_drv::send_message_in_place(&mut tx, &mut buf.borrow_mut())
            });
            case.prepare = Box::new(move || refill.borrow_mut().copy_from_slice(msg));
            cases.push(case);
            continue;
        }
        cases.push(tx_case(col, p, verify, move || {
            wscore_drv::send_message(&mut tx, msg)
        }));
    }
    let p = pipe();
    let mut ws = tungstenite_drv::client(p.clone(), CAP);
    cases.push(tx_case(TUNGSTENITE, p, verify, move || {
        tungstenite_drv::send_message(&mut ws, msg)
    }));
    let p = pipe();
    let mut tx = tungstenite_frame_drv::client_tx(p.clone());
    let run = move || tungstenite_frame_drv::send_message(&mut tx, msg);
    cases.push(tx_case(TUNGSTENITE_FRAMES, p, verify, run));
    let p = pipe();
    let mut ws = fastwebsockets_drv::client_tx(p.clone());
    let run = move || rt.block_on(fastwebsockets_drv::send_message(&mut ws, msg));
    cases.push(tx_case(FASTWEBSOCKETS, p, verify, run));
    let p = pipe();
    let mut ws = tokio_websockets_drv::client(p.clone(), CAP);
    let run = move || rt.block_on(tokio_websockets_drv::send_message(&mut ws, msg));
    cases.push(tx_case(TOKIO_WEBSOCKETS, p, verify, run));
    let p = pipe();
    let mut tx = embedded_websocket_drv::client_tx(p.clone(), BIG + 64);
    let run = move || embedded_websocket_drv::send_message(&mut tx, msg);
    cases.push(tx_case(EMBEDDED, p, verify, run));
    cases
}

/// A one-frame masked message's key and payload (its header is 14 bytes:
/// 2, an 8-byte length, the key).
fn masked_payload(input: &RxInput) -> ([u8; 4], &[u8]) {
    let wire = &input.wire[..];
    assert_eq!(wire[1], 0x80 | 127, "a 64-bit length, masked");
    (wire[10..14].try_into().unwrap(), &wire[14..])
}

/// A baseline: no transport, only a run and its check.
fn plain_case<'a>(
    col: usize,
    name: &'static str,
    run: impl FnMut() -> Tally + 'a,
    check: impl FnMut(Tally) + 'a,
) -> Case<'a> {
    Case {
        col,
        name,
        prepare: Box::new(|| {}),
        run: Box::new(run),
        check: Box::new(check),
    }
}

/// Baseline indices the table's yardstick column refers to.
const B_COPY: usize = 0;
const B_COPY_UTF8: usize = 1;
const B_FUSED: usize = 4;

/// The baselines, each on 64 MiB, measured as one interleaved group.
fn baselines(w2: &RxInput, w3: &RxInput, plain: &[u8], reps: usize) -> Vec<(&'static str, Stats)> {
    let (key, masked) = masked_payload(w2);
    let (text_key, text_masked) = masked_payload(w3);
    let masked_sum = checksum(masked);
    let (want, text_want, plain_sum) = (w2.expected, w3.expected, w2.expected.sum);
    let expect = |want: Tally| move |t: Tally| assert_eq!(t, want, "baseline: wrong result");
    let mut copy_buf = Vec::new();
    let mut text_buf = Vec::new();
    // These two are checked by looking at their buffer after the run.
    let fused_buf = Rc::new(RefCell::new(Vec::new()));
    let fused_run = fused_buf.clone();
    let xor_buf = Rc::new(RefCell::new(masked.to_vec()));
    let xor_run = xor_buf.clone();
    let mut cases = vec![
        plain_case(
            B_COPY,
            "memcpy into reused buffer + in-place XOR unmask + sum",
            move || baseline::copy_unmask(&mut copy_buf, masked, key, false),
            expect(want),
        ),
        plain_case(
            B_COPY_UTF8,
            "same + simdutf8 validation (text)",
            move || baseline::copy_unmask(&mut text_buf, text_masked, text_key, true),
            expect(text_want),
        ),
        plain_case(
            2,
            "alloc + memcpy + XOR unmask + sum + free",
            move || baseline::alloc_copy_unmask(masked, key, false),
            expect(want),
        ),
        plain_case(
            3,
            "alloc + memcpy + XOR unmask + simdutf8 + sum + free (text)",
            move || baseline::alloc_copy_unmask(text_masked, text_key, true),
            expect(text_want),
        ),
        plain_case(
            B_FUSED,
            "fused copy+mask into reused buffer (client send)",
            move || {
                baseline::fused_copy_mask(&mut fused_run.borrow_mut(), plain, key);
                Tally::default()
            },
            move |_| {
                let s = checksum(&fused_buf.borrow());
                assert_eq!(s, masked_sum, "baseline: wrong mask");
            },
        ),
        plain_case(
            5,
            "in-place XOR alone",
            move || {
                baseline::xor_only(&mut xor_run.borrow_mut(), key);
                Tally::default()
            },
            move |_| {
                let s = checksum(&xor_buf.borrow());
                assert!(s == plain_sum || s == masked_sum, "baseline: wrong XOR");
            },
        ),
        plain_case(
            6,
            "checksum pass alone (in every receive row)",
            move || Tally {
                sum: baseline::sum_only(plain),
                ..Tally::default()
            },
            move |t: Tally| assert_eq!(t.sum, plain_sum, "baseline: wrong sum"),
        ),
    ];
    let results = measure(&mut cases, reps, BIG as f64 / 1e9);
    results
        .into_iter()
        .map(|(i, s)| (cases[i].name, s))
        .collect()
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// "median (min–max)", with the number of runs if fewer than `reps`.
fn cell(s: &Stats, reps: usize) -> String {
    let few = if s.reps < reps {
        format!(" [{} reps]", s.reps)
    } else {
        String::new()
    };
    format!("{} ({}–{}){few}", fmt(s.median), fmt(s.min), fmt(s.max))
}

fn print_table(rows: &[Row], reps: usize) {
    print!("| Workload | Unit |");
    for c in COLS {
        print!(" {c} |");
    }
    println!(" best peer | default ÷ best | as its driver ÷ best | yardstick |");
    println!("|---|---|{}---|---:|---:|---|", "---:|".repeat(COLS.len()));
    for r in rows {
        print!("| {} | {} |", r.label, r.unit);
        for (c, skipped) in r.cells.iter().zip(r.skipped) {
            let text = match (c, skipped) {
                (Some(s), _) => cell(s, reps),
                (None, Some(why)) => why.to_string(),
                (None, None) => "n/a".to_string(),
            };
            print!(" {text} |");
        }
        let best = (FIRST_PEER..COLS.len())
            .filter_map(|i| r.cells[i].map(|s| (i, s.median)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let ratio = |col: usize| match (r.cells[col], best) {
            (Some(s), Some((_, b))) => format!("{:.2}", s.median / b),
            _ => "n/a".to_string(),
        };
        let best_name = best.map_or("n/a", |(i, _)| COLS[i]);
        let yard = r.yard.map_or("n/a".to_string(), |(s, name)| {
            format!("{} ({name})", fmt(s.median))
        });
        println!(
            " {best_name} | {} | {} | {yard} |",
            ratio(WS_DEFAULT),
            ratio(WS_REUSE)
        );
    }
}

/// What the table's columns and marks mean, printed under it so a pasted
/// table carries its own legend.
fn print_notes(reps: usize) {
    let slow = SLOW.as_secs();
    let notes = [
        format!("Cells: median (min–max) throughput of {reps} timed runs after one untimed warm-up, interleaved across implementations; `[n reps]`: the warm-up took over {slow} s, so only {SLOW_REPS} runs were timed."),
        "Throughput counts payload bytes (GB = 10^9 B) or frames (M = 10^6). Ratios: wscore median ÷ best peer median (higher is better for wscore).".to_string(),
        "wscore default: `Config::default()` with `max_message_size` and `max_frame_size` raised to 128 MiB; reads into a buffer of the driver's own, then `handle_input`. wscore as its driver: the same config, reading as the tokio driver does (into its own buffer and `handle_input`, but straight into the connection while a large message arrives: `payload_buffer` + `commit_input`); sending is the same `send_binary` in both.".to_string(),
        "Every peer's frame/message caps are raised to 128 MiB too; everything else is each crate's default. One connection per implementation and row, reused across runs.".to_string(),
        format!("Reads: the transport returns at most the stated size per read call (W1 as labelled, W2/W3 {} KiB). wscore, embedded-websocket and the minimal parser read exactly that much; the other peers read what their own buffers take, up to it (tungstenite: 128 KiB).", BIG_READ / KIB),
        "tungstenite FrameSocket: its frame API plus this driver's own unmasking, joining and `std::str::from_utf8` (the API has none).".to_string(),
        format!("{EMBEDDED_FRAGMENTS}: embedded-websocket 0.9.5 stops consuming input after a non-final frame that spans two reads."),
        "Yardstick: W1 a minimal in-place parser at the same read size; the others the 64 MiB baselines below (measured in the same run).".to_string(),
    ];
    for n in notes {
        println!("- {n}");
    }
    println!();
}

fn main() {
    let started = Instant::now();
    let reps: usize = std::env::var("PEERS_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    assert!(reps > 0, "PEERS_REPS must be at least 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let mut rng = Rng::new(0x5EED);
    let mut rows = Vec::new();
    let log = |what: &str| eprintln!("[{:6.1}s] {what}", started.elapsed().as_secs_f64());

    // W1 and W4a: one million 16-byte payloads.
    let mut small = vec![0; SMALL_COUNT * SMALL_SIZE];
    rng.fill(&mut small);
    let small = Bytes::from(small);
    let w1 = common::small_frames(&small, SMALL_SIZE, &mut rng);
    for (read_size, read_name) in W1_READS {
        let mut cases = rx_cases(&rt, &w1, read_size, SMALL_SIZE, false);
        let p = Pipe::new(read_size);
        let mut parser = baseline::mini_parser(p.clone(), read_size);
        let msgs = w1.expected.msgs;
        cases.push(rx_case(YARD, p, &w1, move || {
            baseline::mini_recv(&mut parser, msgs)
        }));
        let label = format!("W1 recv 1M × 16 B masked binary frames, {read_name} reads");
        log(&label);
        rows.push(row(
            label,
            "Mframes/s",
            measure(&mut cases, reps, SMALL_COUNT as f64 / 1e6),
        ));
    }
    drop(w1);

    // W2 and W3: 64 MiB messages, whole and in 64 KiB fragments.
    let mut plain = vec![0; BIG];
    rng.fill(&mut plain);
    let text = common::mixed_text(BIG, &mut rng);
    let w2a = common::one_message(&plain, common::OP_BINARY, None, &mut rng);
    let w2b = common::one_message(&plain, common::OP_BINARY, Some(FRAGMENT), &mut rng);
    let w3a = common::one_message(&text, common::OP_TEXT, None, &mut rng);
    let w3b = common::one_message(&text, common::OP_TEXT, Some(FRAGMENT), &mut rng);
    drop(text);
    log("baselines");
    let base = baselines(&w2a, &w3a, &plain, reps);
    let big_rows = [
        ("W2a recv 64 MiB binary, 1 frame", &w2a, false, B_COPY),
        (
            "W2b recv 64 MiB binary, 64 KiB fragments",
            &w2b,
            true,
            B_COPY,
        ),
        ("W3a recv 64 MiB text, 1 frame", &w3a, false, B_COPY_UTF8),
        (
            "W3b recv 64 MiB text, 64 KiB fragments",
            &w3b,
            true,
            B_COPY_UTF8,
        ),
    ];
    for (label, input, fragmented, yard) in big_rows {
        log(label);
        let mut cases = rx_cases(&rt, input, BIG_READ, BIG, fragmented);
        let mut r = row(
            label.to_string(),
            "GB/s",
            measure(&mut cases, reps, BIG as f64 / 1e9),
        );
        if fragmented {
            r.skipped[EMBEDDED] = Some(EMBEDDED_FRAGMENTS);
        }
        r.yard = Some((
            base[yard].1,
            if yard == B_COPY {
                "copy+unmask"
            } else {
                "copy+unmask+utf8"
            },
        ));
        rows.push(r);
    }
    drop((w2a, w2b, w3a, w3b));

    // W4a: server frames, checked byte for byte (servers do not mask).
    let mut expected = Vec::with_capacity(SMALL_COUNT * (SMALL_SIZE + 2));
    for p in small.chunks_exact(SMALL_SIZE) {
        common::put_frame(&mut expected, true, common::OP_BINARY, p, None);
    }
    let verify = |name: &str, out: &[u8]| assert!(out == expected, "{name}: wrong server frames");
    let label = "W4a send 1M × 16 B binary frames (server, unmasked)";
    log(label);
    let mut cases = tx_small_cases(&rt, &small, &verify, expected.len());
    rows.push(row(
        label.to_string(),
        "Mframes/s",
        measure(&mut cases, reps, SMALL_COUNT as f64 / 1e6),
    ));
    drop(cases);

    // W4b: a client's 64 MiB message, unmasked and tallied to check it.
    let msg = Bytes::from(plain);
    let mut want = Tally::default();
    want.add(&msg);
    let verify =
        |name: &str, out: &[u8]| assert_eq!(tally_wire(out, true), want, "{name}: wrong message");
    for (label, in_place) in [
        ("W4b send 64 MiB binary message (client, masked)", false),
        (
            "W4b same, wscore via `send_in_place` (caller's buffer masked where it lies)",
            true,
        ),
    ] {
        log(label);
        let mut cases = tx_big_cases(&rt, &msg, &verify, BIG + 4 * KIB, in_place);
        let mut r = row(
            label.to_string(),
            "GB/s",
            measure(&mut cases, reps, BIG as f64 / 1e9),
        );
        r.yard = Some((base[B_FUSED].1, "fused copy+mask"));
        rows.push(r);
    }

    print_table(&rows, reps);
    println!();
    println!("| Baseline (64 MiB, GB/s) | median (min–max) |");
    println!("|---|---:|");
    for (name, s) in &base {
        println!("| {name} | {} |", cell(s, reps));
    }
    println!();
    print_notes(reps);
    println!("Run time {:.0} s.", started.elapsed().as_secs_f64());
}
