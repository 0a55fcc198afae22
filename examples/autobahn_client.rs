//! The Autobahn|Testsuite client driver: `autobahn_client [URL] [AGENT]`
//! (defaults `ws://127.0.0.1:9001` and `wscore`). Asks the fuzzingserver for
//! its case count, echoes every message of every case, then asks it to write
//! the reports.

mod common;

use wscore::{Config, Event};

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "wscore".to_owned());
    let mut config = Config::default();
    config.max_message_size = 64 << 20;

    let count = case_count(&base, &config).unwrap_or_else(|e| {
        eprintln!("getCaseCount: {e}");
        std::process::exit(1);
    });
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(e) = run(&url, &config) {
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = run(&format!("{base}/updateReports?agent={agent}"), &config) {
        eprintln!("updateReports: {e}");
        std::process::exit(1);
    }
}

fn case_count(base: &str, config: &Config) -> Result<u32, String> {
    let url = common::parse_url(&format!("{base}/getCaseCount"))?;
    let (mut stream, mut conn) = common::connect(&url, config)?;
    let mut count = None;
    let mut buf = Vec::new();
    loop {
        match conn.poll_event() {
            Some(Event::Text(t)) => count = t.trim().parse().ok(),
            Some(Event::Closed(_)) => break,
            Some(_) => {}
            None => {
                let mut out = Vec::new();
                common::flush(&mut stream, &mut conn, &mut out).map_err(|e| e.to_string())?;
                common::read_once(&mut stream, &mut conn, &mut buf).map_err(|e| e.to_string())?;
            }
        }
    }
    count.ok_or_else(|| "no case count received".to_owned())
}

fn run(url: &str, config: &Config) -> Result<(), String> {
    let url = common::parse_url(url)?;
    let (mut stream, mut conn) = common::connect(&url, config)?;
    common::echo(&mut stream, &mut conn).map_err(|e| e.to_string())?;
    Ok(())
}
