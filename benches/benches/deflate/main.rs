//! W5: chat-like JSON round trips with permessage-deflate (RFC 7692), wscore
//! against the Rust peer crates that implement it (soketto, ratchet) and the
//! raw deflate backend they use, in memory and in one process.
//!
//! `cargo bench -p wscore-benches --bench deflate` prints a markdown table
//! (see the W5 section of `BENCHMARKS.md`). The corpus is built before any
//! timing. A round trip is: the client sends a message (compress, frame,
//! mask), the server receives it (parse, unmask, inflate) and echoes it
//! (compress, frame), the client receives the echo (inflate); both receipts
//! are compared with the message byte for byte, inside the timed region, and
//! a mismatch panics. Each implementation keeps one connected pair for the
//! whole run (context takeover carries on across runs). Runs are
//! interleaved: one untimed warm-up per implementation, then rep 1 of every
//! implementation, rep 2 of every implementation, and so on, each round
//! starting one implementation further on; cells give the median with min
//! and max.
//!
//! `DEFLATE_REPS=n` (default 7) and `DEFLATE_PASSES=n` (corpus passes per
//! run, default 3) change the load; `DEFLATE_VERBOSE=1` prints every run;
//! `DEFLATE_ONLY=text` keeps only the rows whose name contains `text` (for
//! profiling one implementation).

mod corpus;
mod duplex;
mod ratchet_drv;
mod raw;
mod soketto_drv;
mod wscore_drv;

use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use wscore::Config;
use wscore::extension::deflate::DeflateConfig;

const MESSAGES: usize = 1000;
const SEED: u64 = 0x5745_4253_4F43_4B35; // "WEBSOCK5"

/// Bytes that crossed the wire in one run, each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wire {
    pub c2s: u64,
    pub s2c: u64,
}

/// One implementation: a label, how it is set up (for the table), whether
/// it is expected to compress, and one timed run (`passes` corpus passes).
struct Case<'a> {
    name: &'static str,
    settings: String,
    compresses: bool,
    run: Box<dyn FnMut() -> Wire + 'a>,
}

#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

/// Rate (`per_run` units per second) over the runs' times.
fn stats(times: &mut [Duration], per_run: f64) -> Stats {
    times.sort();
    let rate = |d: Duration| per_run / d.as_secs_f64();
    Stats {
        median: rate(times[times.len() / 2]),
        min: rate(times[times.len() - 1]),
        max: rate(times[0]),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a count")),
        Err(_) => default,
    }
}

struct Result {
    stats: Stats,
    wire: Wire,
}

/// Warm up each case once, then run `reps` interleaved rounds (every case
/// once per round, the starting case rotating). The wire bytes are the
/// timed runs' total.
fn measure(cases: &mut [Case], reps: usize, per_run: f64) -> Vec<Result> {
    let verbose = std::env::var_os("DEFLATE_VERBOSE").is_some();
    let mut times = vec![Vec::with_capacity(reps); cases.len()];
    let mut wires = vec![Wire::default(); cases.len()];
    let n = cases.len();
    for round in 0..=reps {
        // Each round starts one case further on, so no implementation
        // always runs first (after the slowest ones, caches cold).
        for i in (0..n).map(|k| (k + round) % n) {
            let case = &mut cases[i];
            let start = Instant::now();
            let wire = (case.run)();
            let elapsed = start.elapsed();
            if verbose {
                eprintln!("  round {round} {}: {elapsed:?} {wire:?}", case.name);
            }
            if round > 0 {
                times[i].push(elapsed);
                wires[i].c2s += wire.c2s;
                wires[i].s2c += wire.s2c;
            }
        }
    }
    times
        .iter_mut()
        .zip(wires)
        .map(|(t, wire)| Result {
            stats: stats(t, per_run),
            wire,
        })
        .collect()
}

/// Three significant digits, the way the other tables print.
fn sig3(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn main() {
    let reps = env_usize("DEFLATE_REPS", 7).max(1);
    let passes = env_usize("DEFLATE_PASSES", 3).max(1);
    let corpus = corpus::corpus(MESSAGES, SEED);
    let payload: u64 = corpus.iter().map(|m| m.len() as u64).sum();
    let mut sizes: Vec<usize> = corpus.iter().map(String::len).collect();
    sizes.sort_unstable();

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let rt: &Runtime = &rt;
    let corpus_ref: &[String] = &corpus;
    let pass = move |f: &mut dyn FnMut(&[String]) -> Wire| {
        let mut total = Wire::default();
        for _ in 0..passes {
            let w = f(corpus_ref);
            total.c2s += w.c2s;
            total.s2c += w.s2c;
        }
        total
    };

    let mut cases: Vec<Case> = Vec::new();

    // wscore, with the configurations the table names.
    let default = Config::default();
    let window = |bits: u8| {
        let mut config = default.clone();
        config.deflate.max_window_bits = bits;
        config.deflate.peer_max_window_bits = bits;
        config
    };
    // Window 15, as the peers and raw rows it is compared with.
    let mut level1 = window(15);
    level1.deflate.level = 1;
    let mut level1_reset = level1.clone();
    level1_reset.deflate.no_context_takeover = true;
    level1_reset.deflate.peer_no_context_takeover = true;
    let mut off = default.clone();
    off.deflate = DeflateConfig::DISABLED;
    let d = DeflateConfig::DEFAULT;
    let default_settings = format!(
        "`Config::default()`: level {}, windows {} (ours) and {} (asked of the peer), context takeover",
        d.level, d.max_window_bits, d.peer_max_window_bits
    );
    let ws: [(&str, Config, &str); 8] = [
        ("wscore default", default.clone(), &default_settings),
        (
            "wscore window 12",
            window(12),
            "same as default, both windows 12 bits (negotiated)",
        ),
        (
            "wscore window 13",
            window(13),
            "same as default, both windows 13 bits (negotiated)",
        ),
        (
            "wscore window 14",
            window(14),
            "same as default, both windows 14 bits (negotiated)",
        ),
        (
            "wscore window 15",
            window(15),
            "same as default, both windows 15 bits",
        ),
        (
            "wscore level 1",
            level1,
            "same as default but windows 15 and `deflate.level` = 1 (as ratchet's default)",
        ),
        (
            "wscore level 1, no takeover",
            level1_reset,
            "level 1, windows 15, no context takeover either way (soketto's mode)",
        ),
        (
            "wscore no compression",
            off,
            "`deflate: DeflateConfig::DISABLED`, nothing offered (context only)",
        ),
    ];
    for (name, config, what) in ws {
        let compresses = config.deflate.enabled;
        let mut pair = wscore_drv::connect(&config);
        let settings = if pair.negotiated.is_empty() {
            what.to_string()
        } else {
            format!("{what}; agreed: `{}`", pair.negotiated)
        };
        cases.push(Case {
            name,
            settings,
            compresses,
            run: Box::new(move || pass(&mut |c| wscore_drv::round_trips(&mut pair, c))),
        });
    }

    let mut pair = soketto_drv::connect(rt);
    cases.push(Case {
        name: "soketto 0.8.1",
        settings:
            "level 1 (`Compression::fast()`, fixed), window 15, no context takeover (its only mode)"
                .into(),
        compresses: true,
        run: Box::new(move || pass(&mut |c| soketto_drv::round_trips(rt, &mut pair, c))),
    });
    for (name, level, what) in [
        (
            "ratchet 1.2.1",
            1,
            "level 1 (its default, `Compression::fast()`)",
        ),
        ("ratchet 1.2.1 level 6", 6, "level 6"),
    ] {
        let mut pair = ratchet_drv::connect(rt, level);
        cases.push(Case {
            name,
            settings: format!("{what}, window 15, context takeover"),
            compresses: true,
            run: Box::new(move || pass(&mut |c| ratchet_drv::round_trips(rt, &mut pair, c))),
        });
    }
    for (name, lib, level, window, takeover) in [
        ("raw zlib level 6", raw::Lib::Zlib, 6, 15, true),
        ("raw zlib level 6, window 12", raw::Lib::Zlib, 6, 12, true),
        ("raw zlib level 1", raw::Lib::Zlib, 1, 15, true),
        (
            "raw zlib level 1, no takeover",
            raw::Lib::Zlib,
            1,
            15,
            false,
        ),
        ("raw miniz_oxide level 6", raw::Lib::Miniz, 6, 15, true),
    ] {
        let mut pair = raw::new(lib, level, window, takeover);
        let lib = match lib {
            raw::Lib::Zlib => "flate2 (C zlib)",
            raw::Lib::Miniz => "miniz_oxide",
        };
        let what = if takeover {
            "context takeover"
        } else {
            "reset after every message"
        };
        cases.push(Case {
            name,
            settings: format!(
                "{lib} raw deflate, window {window}, {what}; compress + inflate twice per message, no framing"
            ),
            compresses: true,
            run: Box::new(move || pass(&mut |c| raw::round_trips(&mut pair, c))),
        });
    }

    if let Ok(only) = std::env::var("DEFLATE_ONLY") {
        cases.retain(|c| c.name.contains(only.as_str()));
        assert!(!cases.is_empty(), "DEFLATE_ONLY={only} matches no row");
    }
    let per_run = (MESSAGES * passes) as f64;
    let results = measure(&mut cases, reps, per_run);

    let msgs = (MESSAGES * passes * reps) as f64;
    let mean = payload as f64 / MESSAGES as f64;
    println!(
        "W5: {MESSAGES} chat-like JSON text messages (seed {SEED:#x}), {} to {} B, median {} B, mean {mean:.0} B; \
         {passes} passes per run, {reps} timed runs after a warm-up, interleaved.\n",
        sizes[0],
        sizes[sizes.len() - 1],
        sizes[sizes.len() / 2],
    );
    println!(
        "| Implementation | round trips/s | ÷ wscore default | client→server B/msg | server→client B/msg | wire ÷ payload (c→s / s→c) | settings |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    let base = cases
        .iter()
        .zip(&results)
        .find(|(c, _)| c.name == "wscore default")
        .map(|(_, r)| r.stats.median);
    for (case, r) in cases.iter().zip(&results) {
        let s = r.stats;
        let c2s = r.wire.c2s as f64 / msgs;
        let s2c = r.wire.s2c as f64 / msgs;
        let warn = if case.compresses && c2s >= mean {
            " **(not compressed)**"
        } else {
            ""
        };
        println!(
            "| {} | {} ({}–{}) | {} | {c2s:.1} | {s2c:.1} | {:.3} / {:.3}{warn} | {} |",
            case.name,
            sig3(s.median),
            sig3(s.min),
            sig3(s.max),
            base.map_or("n/a".into(), |b| format!("{:.2}", s.median / b)),
            c2s / mean,
            s2c / mean,
            case.settings,
        );
    }
    // Like against like, from the same run: speed (median ÷ median) and
    // client-to-server wire bytes (wscore's ÷ the other's). The peers'
    // rows differ in level and takeover, so no single "best peer" is taken.
    let find = |name: &str| {
        cases
            .iter()
            .zip(&results)
            .find(|(c, _)| c.name == name)
            .map(|(_, r)| r)
    };
    let mut same = Vec::new();
    for (ours, theirs) in [
        ("wscore window 15", "ratchet 1.2.1 level 6"),
        ("wscore level 1", "ratchet 1.2.1"),
        ("wscore level 1, no takeover", "soketto 0.8.1"),
        ("wscore window 15", "raw zlib level 6"),
        ("wscore window 15", "raw miniz_oxide level 6"),
        ("wscore window 12", "raw zlib level 6, window 12"),
        ("wscore level 1", "raw zlib level 1"),
    ] {
        if let (Some(a), Some(b)) = (find(ours), find(theirs)) {
            same.push(format!(
                "| {ours} ÷ {theirs} | {:.2} | {:.3} |",
                a.stats.median / b.stats.median,
                a.wire.c2s as f64 / b.wire.c2s as f64,
            ));
        }
    }
    if !same.is_empty() {
        println!("\n| Same settings | speed ratio | wire ratio (c→s) |\n|---|---:|---:|");
        for line in same {
            println!("{line}");
        }
    }
    println!(
        "\n- Cells: median (min–max) over {reps} timed runs of {passes} × {MESSAGES} round trips each; a round trip is one message each way.\n\
         - B/msg: bytes written to the transport per message (frame headers and masks included; raw rows: compressed payload only), over all timed runs; payload is {mean:.0} B/msg.\n\
         - Every receipt is compared with the sent message, byte for byte, inside the timed region."
    );
}
