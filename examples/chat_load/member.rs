//! One member of the room: connects, reads every line the room sends, says
//! the lines it is told to, and keeps its [`Tally`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};
use wscore::Config;
use wscore::tokio::{ConnectOptions, Message, Options, connect_with};

use crate::tally::{Arrival, Tally};

/// How long one member may take to connect and get its 101.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What every member and the conductor share: the clock's origin and the
/// counters the conductor watches to know when a phase is over.
pub struct Shared {
    /// The process-wide origin of the send instants a line carries: one
    /// monotonic clock in one process, so sender and receiver agree.
    pub start: Instant,
    /// Members whose handshake succeeded.
    pub connected: AtomicUsize,
    /// Members whose connect failed.
    pub failed: AtomicUsize,
    /// Members that heard their own join: the room delivers to them now.
    pub joined: AtomicUsize,
    /// Members that heard the sync line.
    pub synced: AtomicUsize,
    /// Members whose connection ended before they were told to stop.
    pub closed: AtomicUsize,
    /// First arrivals of the run's lines, over all members.
    pub delivered: AtomicU64,
    /// Per line of the run: its send returned `Ok`.
    pub sent: Vec<AtomicBool>,
    /// Sends that finished, either way (or were never made: the sender
    /// was gone).
    pub sends_done: AtomicUsize,
}

impl Shared {
    /// Counters at zero for a run of `lines` lines, its clock from now.
    pub fn new(lines: usize) -> Shared {
        Shared {
            start: Instant::now(),
            connected: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            joined: AtomicUsize::new(0),
            synced: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            sent: (0..lines).map(|_| AtomicBool::new(false)).collect(),
            sends_done: AtomicUsize::new(0),
        }
    }

    /// Microseconds since [`start`](Self::start), saturating.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// What the conductor tells a member to say.
#[derive(Clone, Copy, Debug)]
pub enum Command {
    /// Line `k` of the run.
    Say(usize),
    /// The sync line, which tells the conductor that everything said
    /// before it (the join storm) has reached everyone.
    Sync,
}

/// The text of the sync line.
const SYNC: &str = "sync";

/// Who member `index` is and where it goes.
pub struct Seat {
    /// Its index; its name is `m{index}`.
    pub index: usize,
    /// The instance's base URL.
    pub url: String,
    /// The `Origin` it sends.
    pub origin: String,
    /// The run's senders (the sender of line `k` is `k % senders`).
    pub senders: usize,
    /// The run's lines.
    pub lines: usize,
}

/// How a member's run ended.
pub struct Outcome {
    /// What it received.
    pub tally: Tally,
    /// Why it never got into the room, if it did not.
    pub not_joined: Option<String>,
    /// How its connection ended, if it ended before the stop.
    pub closed: Option<String>,
}

/// Run member `seat` until `stop` or its connection ends. Connects while
/// holding a permit of `connects`, so only so many handshakes are under
/// way at once.
pub async fn run(
    seat: Seat,
    shared: Arc<Shared>,
    connects: Arc<Semaphore>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut outcome = Outcome {
        tally: Tally::new(seat.senders, seat.lines),
        not_joined: None,
        closed: None,
    };
    let name = format!("m{}", seat.index);
    let separator = if seat.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}name={name}", seat.url);
    let mut options = Options::default();
    options.handshake_timeout = CONNECT_TIMEOUT;
    let connect = ConnectOptions::new().options(options).origin(seat.origin);
    let permit = connects.acquire_owned().await;
    let mut ws = match connect_with(url.as_str(), &Config::default(), connect).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            shared.failed.fetch_add(1, Relaxed);
            outcome.not_joined = Some(format!("connect: {e}"));
            return outcome;
        }
    };
    drop(permit);
    shared.connected.fetch_add(1, Relaxed);
    let own_join = format!("* {name} joined");
    let (mut joined, mut synced, mut commands_open) = (false, false, true);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            command = commands.recv(), if commands_open => {
                let Some(command) = command else {
                    commands_open = false;
                    continue;
                };
                let said = match command {
                    Command::Say(k) => {
                        let seq = k / seat.senders;
                        let text = format!("load {} {seq} {}", seat.index, shared.now_us());
                        let said = ws.send_text(&text).await;
                        shared.sent[k].store(said.is_ok(), Relaxed);
                        shared.sends_done.fetch_add(1, Relaxed);
                        said
                    }
                    Command::Sync => ws.send_text(SYNC).await,
                };
                if let Err(e) = said {
                    outcome.closed = Some(format!("send: {e}"));
                    break;
                }
            }
            message = ws.recv() => match message {
                Some(Ok(Message::Text(text))) => match parse(&text) {
                    Some(Line::Notice(notice)) if !joined && notice == own_join => {
                        joined = true;
                        shared.joined.fetch_add(1, Relaxed);
                    }
                    Some(Line::Notice(_)) => {}
                    Some(Line::Said { name: "m0", text: SYNC }) if !synced => {
                        synced = true;
                        shared.synced.fetch_add(1, Relaxed);
                    }
                    Some(Line::Load { name, sender, seq, sent_us }) if name_is(name, sender) => {
                        let latency = shared.now_us().saturating_sub(sent_us);
                        let latency = u32::try_from(latency).unwrap_or(u32::MAX);
                        if outcome.tally.record(sender, seq, latency) == Arrival::First {
                            shared.delivered.fetch_add(1, Relaxed);
                        }
                    }
                    // Someone else's words, or a line this run did not
                    // send: counted as not of this run.
                    Some(_) | None => outcome.tally.foreign += 1,
                },
                Some(Ok(Message::Close { code, reason })) => {
                    outcome.closed = Some(format!("{} {reason}", code.0));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    outcome.closed = Some(format!("error: {e}"));
                    break;
                }
                None => {
                    outcome.closed = Some("ended".into());
                    break;
                }
            },
        }
    }
    if outcome.closed.is_some() {
        shared.closed.fetch_add(1, Relaxed);
    }
    if !joined && outcome.closed.is_none() {
        outcome.not_joined = Some("its join never came back".into());
    }
    // Dropped without a close handshake: at the end of a load run nobody
    // waits for 2,000 Close replies queued behind 2,000 leave notices.
    outcome
}

/// A line of the room, as this run reads it.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `* ...`: a join, leave or kick, the whole line (`* NAME joined`,
    /// the form a member looks for).
    Notice(&'a str),
    /// A line of this run: `m{sender}: load SENDER SEQ SENT_US`.
    Load {
        /// The name the room put in front.
        name: &'a str,
        /// The sender's index, as it wrote it.
        sender: usize,
        /// Its line number among its own.
        seq: u32,
        /// When it was sent, in microseconds since the process started.
        sent_us: u64,
    },
    /// Any other `NAME: TEXT`.
    Said {
        /// Who said it.
        name: &'a str,
        /// What.
        text: &'a str,
    },
}

/// Parse one message of the room, `ID LINE`; `None` if it is not one.
pub fn parse(message: &str) -> Option<Line<'_>> {
    let (id, line) = message.split_once(' ')?;
    let (ms, seq) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    if line.starts_with("* ") {
        return Some(Line::Notice(line));
    }
    let (name, text) = line.split_once(": ")?;
    if let Some(fields) = text.strip_prefix("load ") {
        let mut fields = fields.split(' ');
        let mut next = || fields.next();
        let load = (|| {
            let sender = next()?.parse().ok()?;
            let seq = next()?.parse().ok()?;
            let sent_us = next()?.parse().ok()?;
            next().is_none().then_some(Line::Load {
                name,
                sender,
                seq,
                sent_us,
            })
        })();
        if load.is_some() {
            return load;
        }
    }
    Some(Line::Said { name, text })
}

/// Whether `name` is the name of member `sender`: a line of this run
/// carries its sender's index, and the room vouches for the name.
fn name_is(name: &str, sender: usize) -> bool {
    name.strip_prefix('m').and_then(|n| n.parse::<usize>().ok()) == Some(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_the_run_parse() {
        assert_eq!(
            parse("1733280000000-7 m12: load 12 3 456789"),
            Some(Line::Load {
                name: "m12",
                sender: 12,
                seq: 3,
                sent_us: 456789
            })
        );
        assert_eq!(parse("1-0 * m3 joined"), Some(Line::Notice("* m3 joined")));
        assert_eq!(
            parse("1-0 m0: sync"),
            Some(Line::Said {
                name: "m0",
                text: "sync"
            })
        );
    }

    #[test]
    fn near_misses_are_plain_lines_or_nothing() {
        // Not a load line: one field too many, or too few.
        assert_eq!(
            parse("1-0 m1: load 1 2 3 4"),
            Some(Line::Said {
                name: "m1",
                text: "load 1 2 3 4"
            })
        );
        assert_eq!(
            parse("1-0 m1: load 1 2"),
            Some(Line::Said {
                name: "m1",
                text: "load 1 2"
            })
        );
        assert_eq!(
            parse("1-0 m1: load -1 2 3").map(|l| matches!(l, Line::Load { .. })),
            Some(false)
        );
        // Not `ID LINE`.
        assert_eq!(parse("m1: load 1 2 3"), None);
        assert_eq!(parse("1- m1: hi"), None);
        assert_eq!(parse("x-1 m1: hi"), None);
        assert_eq!(parse("1-1 no colon"), None);
    }

    #[test]
    fn the_name_must_be_the_senders() {
        assert!(name_is("m12", 12));
        assert!(!name_is("m12", 1));
        assert!(!name_is("anonymous", 0));
        assert!(!name_is("m", 0));
    }
}
