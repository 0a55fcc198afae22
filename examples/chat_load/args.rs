//! The command line: `chat_load [--members N] [--rate R] [--secs S]
//! [--senders K] [--origin ORIGIN] URL...`.

use std::time::Duration;

/// What the run was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    /// Members in the room, spread round-robin over [`urls`](Self::urls).
    pub members: usize,
    /// Lines a second, over all senders together.
    pub rate: f64,
    /// How long the sending lasts.
    pub secs: f64,
    /// How many members take turns sending (at most `members`): enough
    /// that each sends several lines, so per-sender order means something.
    pub senders: usize,
    /// The `Origin` every member sends; `None`: each URL's own.
    pub origin: Option<String>,
    /// The instances' WebSocket URLs (`ws://HOST:PORT/ws`).
    pub urls: Vec<String>,
}

/// The usage line, printed with every argument error.
pub const USAGE: &str = "usage: chat_load [--members N] [--rate R] [--secs S] [--senders K] \
                         [--origin ORIGIN] URL...";

impl Args {
    /// Parse the arguments after the program's name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            members: 2000,
            rate: 20.0,
            secs: 30.0,
            senders: 100,
            origin: None,
            urls: Vec::new(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--members" => parsed.members = number(&arg, &value(&arg)?)?,
                "--senders" => parsed.senders = number(&arg, &value(&arg)?)?,
                "--rate" => parsed.rate = positive(&arg, &value(&arg)?)?,
                "--secs" => parsed.secs = positive(&arg, &value(&arg)?)?,
                "--origin" => parsed.origin = Some(value(&arg)?),
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                url if url.starts_with("ws://") || url.starts_with("wss://") => {
                    parsed.urls.push(url.to_owned());
                }
                other => return Err(format!("not a ws:// or wss:// URL: {other}")),
            }
        }
        if parsed.urls.is_empty() {
            return Err("no URL".into());
        }
        if parsed.members == 0 || parsed.senders == 0 {
            return Err("--members and --senders must be at least 1".into());
        }
        // A sender is a member: more senders than members would leave some
        // lines with nobody to say them.
        parsed.senders = parsed.senders.min(parsed.members);
        if parsed.lines() == 0 {
            return Err("--rate × --secs is less than one line".into());
        }
        if parsed.lines() > u32::MAX as usize {
            return Err("--rate × --secs is too many lines".into());
        }
        Ok(parsed)
    }

    /// How many lines the run sends: `rate × secs`, rounded down.
    pub fn lines(&self) -> usize {
        (self.rate * self.secs) as usize
    }

    /// When line `k` is due, after the sending starts: evenly spaced at
    /// `1 / rate`.
    pub fn due(&self, k: usize) -> Duration {
        Duration::from_secs_f64(k as f64 / self.rate)
    }

    /// Which URL member `i` connects to: round-robin.
    pub fn url_of(&self, member: usize) -> &str {
        &self.urls[member % self.urls.len()]
    }

    /// The `Origin` for `url`: `--origin`, else the URL's own scheme
    /// (`ws` → `http`, `wss` → `https`) and authority, which is what the
    /// chat allows without `--allow-origin`.
    pub fn origin_of(&self, url: &str) -> String {
        if let Some(origin) = &self.origin {
            return origin.clone();
        }
        let (scheme, rest) = match url.strip_prefix("wss://") {
            Some(rest) => ("https", rest),
            None => ("http", url.strip_prefix("ws://").unwrap_or(url)),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        format!("{scheme}://{authority}")
    }
}

/// A whole number for `flag`.
fn number(flag: &str, value: &str) -> Result<usize, String> {
    value.parse().map_err(|e| format!("{flag} {value}: {e}"))
}

/// A finite number above zero for `flag`.
fn positive(flag: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("{flag} {value}: must be above zero")),
        Err(e) => Err(format!("{flag} {value}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_are_the_issues_figures() {
        let args = parse(&["ws://127.0.0.1:1/ws"]).unwrap();
        assert_eq!((args.members, args.rate, args.secs), (2000, 20.0, 30.0));
        assert_eq!(args.lines(), 600);
        assert_eq!(args.senders, 100);
        assert_eq!(args.origin, None);
    }

    #[test]
    fn options_and_urls_in_any_order() {
        let args = parse(&[
            "ws://a:1/ws",
            "--members",
            "10",
            "--rate",
            "2.5",
            "ws://b:2/ws",
            "--secs",
            "4",
            "--origin",
            "https://chat.example",
        ])
        .unwrap();
        assert_eq!(args.members, 10);
        assert_eq!(args.lines(), 10);
        // Fewer members than the default senders: every member sends.
        assert_eq!(args.senders, 10);
        assert_eq!(args.urls, ["ws://a:1/ws", "ws://b:2/ws"]);
        assert_eq!(args.origin_of("ws://a:1/ws"), "https://chat.example");
    }

    #[test]
    fn members_go_round_robin() {
        let args = parse(&["ws://a:1/ws", "ws://b:2/ws"]).unwrap();
        let urls: Vec<&str> = (0..4).map(|i| args.url_of(i)).collect();
        assert_eq!(
            urls,
            ["ws://a:1/ws", "ws://b:2/ws", "ws://a:1/ws", "ws://b:2/ws"]
        );
    }

    #[test]
    fn origin_is_the_urls_http_origin() {
        let args = parse(&["ws://127.0.0.1:8080/ws"]).unwrap();
        assert_eq!(
            args.origin_of("ws://127.0.0.1:8080/ws"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            args.origin_of("wss://localhost:9/ws?x=1"),
            "https://localhost:9"
        );
        assert_eq!(args.origin_of("ws://h:1"), "http://h:1");
    }

    #[test]
    fn lines_are_evenly_spaced() {
        let args = parse(&["--rate", "20", "ws://a:1/ws"]).unwrap();
        assert_eq!(args.due(0), Duration::ZERO);
        assert_eq!(args.due(20), Duration::from_secs(1));
        assert_eq!(args.due(1), Duration::from_millis(50));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            &[][..],
            &["--members"],
            &["--members", "x", "ws://a/ws"],
            &["--members", "0", "ws://a/ws"],
            &["--rate", "0", "ws://a/ws"],
            &["--rate", "-1", "ws://a/ws"],
            &["--secs", "inf", "ws://a/ws"],
            &["--rate", "0.1", "--secs", "1", "ws://a/ws"],
            &["--verbose", "ws://a/ws"],
            &["http://a/ws"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
