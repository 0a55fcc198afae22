//! Where the room's lines are said and numbered: this process alone, or
//! every instance of the chat through one Redis.
//!
//! Every line of the room gets an [`Id`], and every instance hands the
//! lines to its members in id order, so a page that remembers the id of
//! the last line it showed can come back, to any instance, and ask for
//! what followed (`/ws?since=ID`).
//!
//! * **One process** ([`Hub::local`]): ids come from the clock and a
//!   counter, under one lock that also delivers the line, so the order
//!   the lines are numbered in is the order everyone gets them. The
//!   recent history (for resuming) is kept in memory.
//! * **Redis** ([`Hub::redis`]): a line is said by one script that adds it
//!   to the Stream [`STREAM`] (which numbers it and keeps the recent
//!   history) and publishes `ID TEXT` on the Pub/Sub channel [`LIVE`].
//!   Redis runs a script as one step, so the channel carries the lines in
//!   id order; each instance has one subscription and delivers what it
//!   carries to its own members. An instance hears its own members' lines
//!   back from Redis like everyone else's, so all instances see one order.
//!   Pub/Sub alone is at most once (a subscriber that was away misses
//!   what was published meanwhile), so an instance whose subscription
//!   broke subscribes again and then reads from the Stream whatever came
//!   after the last line it delivered; ids make the overlap harmless.
//!   One that has been without its subscription for [`ROOM_LOST_AFTER`]
//!   closes its members with 1011 and refuses new ones until it is
//!   back: their pages come back, to an instance that has its Redis, and
//!   resume.
//!
//! Resuming ([`Hub::join`] with `since`): the member joins the room
//! first, so it gets every line delivered from then on; then the history
//! after `since` is read and put in front of those, and the mailbox takes
//! each id once (`room.rs`). A line is either delivered after the member
//! joined or was said before the history was read: nothing falls between.
//!
//! Bounds: the history kept is the newest `history` lines (`--history`,
//! [`HISTORY`] by default), in this process or in the Stream
//! (`MAXLEN ~`, so Redis may keep a few more); what one resume reads is
//! at most what fits in the member's queue (`--max-behind`), newest
//! first, in pages of [`PAGE`] lines, so neither a long absence nor a
//! hostile `since=0-0` makes an instance read more than that.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, Script};

use crate::room::{Line, Mailbox, Room, prepare, text_cost};

/// The Stream that numbers the room's lines and keeps its history.
pub const STREAM: &str = "chat:lines";
/// The Pub/Sub channel that carries each line, as `ID TEXT`, live.
pub const LIVE: &str = "chat:live";
/// `--history`'s default: the newest lines kept for members that resume.
pub const HISTORY: usize = 10_000;
/// How many history lines one Redis read asks for.
const PAGE: usize = 64;
/// How long a Redis command may take before the line counts as not said.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an instance may be without its subscription before it closes
/// its members with 1011 (and refuses new ones until it is back). A
/// shorter break is filled from the Stream and nobody notices; a longer
/// one would leave members connected to a room that says nothing, while
/// their pages could be on an instance that still has its Redis.
pub const ROOM_LOST_AFTER: Duration = Duration::from_secs(10);

/// Say a line: number it in the Stream and publish it, as one step.
/// KEYS: the Stream, the channel; ARGV: the text, the history length.
const SAY: &str = r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'line', ARGV[1])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[1])
return id
";

/// A line's place in the room: a Redis Stream id, `MS-SEQ` (the time it
/// was said in Unix milliseconds, and a counter within that
/// millisecond). Ids order the lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id {
    ms: u64,
    seq: u64,
}

impl Id {
    /// The first id there can be: every line comes after it.
    const ZERO: Id = Id { ms: 0, seq: 0 };

    /// The last id there can be.
    const MAX: Id = Id {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The id after `last`, from the clock when it has moved on (and
    /// never backwards when it has not).
    fn next_after(last: Option<Id>) -> Id {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        match last {
            Some(last) if now <= last.ms => Id {
                ms: last.ms,
                seq: last.seq + 1,
            },
            _ => Id { ms: now, seq: 0 },
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Not `MS-SEQ` with both parts decimal numbers that fit in 64 bits.
#[derive(Debug)]
pub struct BadId;

impl FromStr for Id {
    type Err = BadId;

    fn from_str(s: &str) -> Result<Id, BadId> {
        let (ms, seq) = s.split_once('-').ok_or(BadId)?;
        // `u64::from_str` takes a leading `+`; an id does not have one.
        let number = |p: &str| match p.bytes().all(|b| b.is_ascii_digit()) {
            true => p.parse::<u64>().map_err(|_| BadId),
            false => Err(BadId),
        };
        Ok(Id {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }
}

/// Redis did not take the line (down, or too slow): it was not said.
#[derive(Debug)]
pub struct Unavailable;

impl From<redis::RedisError> for Unavailable {
    fn from(e: redis::RedisError) -> Unavailable {
        eprintln!("chat: redis: {e}");
        Unavailable
    }
}

/// The room's lines, numbered and delivered (see the module docs).
pub struct Hub {
    room: Arc<Room>,
    backend: Backend,
}

enum Backend {
    Local(Mutex<Local>),
    Redis(Link),
}

/// The one-process hub's state: the last id given, and the history.
struct Local {
    last: Option<Id>,
    /// The newest lines, oldest first, at most `max_lines` of them and
    /// at most the room's `max_behind` of text (a member can take no
    /// more than that in one resume).
    history: VecDeque<(Id, Line)>,
    cost: usize,
    max_lines: usize,
}

/// What saying a line through Redis needs; cheap to clone (the
/// connection manager multiplexes one connection and reconnects by
/// itself).
#[derive(Clone)]
struct Link {
    conn: ConnectionManager,
    say: Arc<Script>,
    history: usize,
    /// This instance has its subscription, or lost it less than
    /// [`ROOM_LOST_AFTER`] ago.
    live: Arc<AtomicBool>,
}

impl Link {
    async fn say(&self, text: &str) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        let mut invocation = self.say.key(STREAM);
        invocation.key(LIVE).arg(text).arg(self.history);
        let said = invocation.invoke_async::<String>(&mut conn);
        match tokio::time::timeout(REDIS_TIMEOUT, said).await {
            Ok(Ok(_id)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                eprintln!("chat: redis: no answer in {REDIS_TIMEOUT:?}");
                Err(Unavailable)
            }
        }
    }

    /// The lines after `since` (oldest first), newest first up to `budget`
    /// bytes of queue cost.
    async fn history_after(
        &self,
        since: Id,
        budget: usize,
    ) -> Result<Vec<(Id, String)>, Unavailable> {
        if since == Id::MAX {
            // Nothing comes after it (and Redis refuses `(` before it).
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let mut newest_first = Vec::new();
        let mut end = "+".to_string();
        let mut left = budget;
        'pages: loop {
            let page: Vec<(String, Vec<Vec<u8>>)> = tokio::time::timeout(
                REDIS_TIMEOUT,
                conn.xrevrange_count(STREAM, &end, format!("({since}"), PAGE),
            )
            .await
            .map_err(|_| Unavailable)??;
            let full = page.len() == PAGE;
            for (id, fields) in page {
                let (Ok(id), Some(text)) = (id.parse::<Id>(), line_field(&fields)) else {
                    continue;
                };
                if text_cost(&text) > left {
                    break 'pages;
                }
                left -= text_cost(&text);
                end = format!("({id}");
                newest_first.push((id, text));
            }
            if !full {
                break;
            }
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    /// The lines after `after`, oldest first, a page at a time, each
    /// handed to `f`.
    async fn each_after(&self, after: Id, mut f: impl FnMut(Id, &str)) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        let mut start = after;
        loop {
            let page: Vec<(String, Vec<Vec<u8>>)> = tokio::time::timeout(
                REDIS_TIMEOUT,
                conn.xrange_count(STREAM, format!("({start}"), "+", PAGE),
            )
            .await
            .map_err(|_| Unavailable)??;
            let full = page.len() == PAGE;
            for (id, fields) in page {
                let Ok(id) = id.parse::<Id>() else { continue };
                start = id;
                if let Some(text) = line_field(&fields) {
                    f(id, &text);
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// The `line` field of a Stream entry (field, value, field, value...).
fn line_field(fields: &[Vec<u8>]) -> Option<String> {
    let at = fields.chunks(2).position(|kv| kv[0] == b"line")?;
    let value = fields.get(at * 2 + 1)?;
    String::from_utf8(value.clone()).ok()
}

impl Hub {
    /// The room in this process alone, keeping `history` lines.
    pub fn local(room: Arc<Room>, history: usize) -> Arc<Hub> {
        let local = Local {
            last: None,
            history: VecDeque::new(),
            cost: 0,
            max_lines: history,
        };
        Arc::new(Hub {
            room,
            backend: Backend::Local(Mutex::new(local)),
        })
    }

    /// The room shared through the Redis at `url`, the Stream keeping
    /// `history` lines. Returns once subscribed, so no line said after
    /// it returns is missed here.
    pub async fn redis(room: Arc<Room>, url: &str, history: usize) -> redis::RedisResult<Arc<Hub>> {
        let client = Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let link = Link {
            conn,
            say: Arc::new(Script::new(SAY)),
            history,
            live: Arc::new(AtomicBool::new(true)),
        };
        // The newest line so far, read before subscribing: every line
        // said later has a greater id, and is either heard live or, if
        // the subscription breaks before that, read from the Stream.
        let newest: Vec<(String, Vec<Vec<u8>>)> = link
            .conn
            .clone()
            .xrevrange_count(STREAM, "+", "-", 1)
            .await?;
        let newest = newest.first().and_then(|(id, _)| id.parse::<Id>().ok());
        let (subscribed, first) = tokio::sync::oneshot::channel();
        tokio::spawn(subscribe(
            client,
            link.clone(),
            room.clone(),
            newest,
            subscribed,
        ));
        // The first subscription is made or failed before serving.
        first.await.map_err(|_| {
            redis::RedisError::from((redis::ErrorKind::Io, "the subscription task ended"))
        })??;
        Ok(Arc::new(Hub {
            room,
            backend: Backend::Redis(link),
        }))
    }

    pub fn room(&self) -> &Room {
        &self.room
    }

    /// Say `text` to the whole room. `Err` if Redis did not take it: the
    /// line was not said.
    pub async fn say(&self, text: String) -> Result<(), Unavailable> {
        match &self.backend {
            Backend::Local(local) => {
                self.say_local(local, text);
                Ok(())
            }
            Backend::Redis(link) => link.say(&text).await,
        }
    }

    /// Number, keep and deliver `text`, and the notices for members it
    /// found too slow, all under the lock: the order of the ids is the
    /// order of delivery.
    fn say_local(&self, local: &Mutex<Local>, text: String) {
        let mut local = lock(local);
        let mut texts = vec![text];
        // Each notice is for a member the line before removed, so this
        // ends within as many turns as there are members.
        while let Some(text) = texts.pop() {
            let id = Id::next_after(local.last);
            local.last = Some(id);
            let line = prepare(id, &text);
            local.keep(id, &line, self.room.limits().max_behind);
            texts.extend(self.room.deliver(id, &line));
        }
    }

    /// Add a member named `name`: with `since`, give it first the lines
    /// after that id still kept (see the module docs), then announce it.
    pub async fn join(
        &self,
        name: &str,
        since: Option<Id>,
    ) -> Result<(u64, Arc<Mailbox>), Unavailable> {
        if let Backend::Redis(link) = &self.backend
            && !link.live.load(Ordering::Relaxed)
        {
            // It would hear nothing here: its page goes elsewhere.
            return Err(Unavailable);
        }
        let (member, mailbox) = self.room.join(name);
        if let Some(since) = since {
            let limits = self.room.limits();
            let history = match &self.backend {
                Backend::Local(local) => lock(local).after(since),
                Backend::Redis(link) => match link.history_after(since, limits.max_behind).await {
                    Ok(texts) => texts
                        .into_iter()
                        .map(|(id, text)| (id, prepare(id, &text)))
                        .collect(),
                    Err(e) => {
                        self.room.leave(member);
                        return Err(e);
                    }
                },
            };
            mailbox.resume(history, limits);
        }
        if let Err(e) = self.say(format!("* {name} joined")).await {
            self.room.leave(member);
            return Err(e);
        }
        Ok((member, mailbox))
    }

    /// The member left: announce it to the room.
    pub async fn leave(&self, member: u64) {
        if let Some(name) = self.room.leave(member) {
            let _ = self.say(format!("* {name} left")).await;
        }
    }

    /// The member's own timer found it too slow: cut it off and tell the
    /// room.
    pub async fn too_slow(&self, member: u64) {
        if let Some(notice) = self.room.too_slow(member) {
            let _ = self.say(notice).await;
        }
    }
}

impl Local {
    /// Keep `line` in the history, dropping the oldest past either bound.
    fn keep(&mut self, id: Id, line: &Line, max_behind: usize) {
        self.cost += cost(line);
        self.history.push_back((id, line.clone()));
        while self.history.len() > self.max_lines || self.cost > max_behind {
            let Some((_, old)) = self.history.pop_front() else {
                break;
            };
            self.cost -= cost(&old);
        }
    }

    /// The kept lines after `since`, oldest first.
    fn after(&self, since: Id) -> Vec<(Id, Line)> {
        let start = self.history.partition_point(|(id, _)| *id <= since);
        self.history.range(start..).cloned().collect()
    }
}

/// A kept line's cost, counted as a member's queue counts it.
fn cost(line: &Line) -> usize {
    line.payload().len() + crate::room::ENTRY_COST
}

/// This instance's subscription to [`LIVE`]: deliver each line to the
/// members here, in the order Redis published them. When the
/// subscription breaks (Redis restarted, the network), subscribe again
/// and fill the gap from the Stream before taking live lines again.
async fn subscribe(
    client: Client,
    link: Link,
    room: Arc<Room>,
    mut last: Option<Id>,
    first: tokio::sync::oneshot::Sender<redis::RedisResult<()>>,
) {
    let mut first = Some(first);
    let mut pause = Duration::from_millis(100);
    // When the subscription broke, while it is not back.
    let mut down_since = None;
    // Deliver one line unless already delivered; the notices for members
    // it found too slow are said on their own (never waited for here).
    let deliver = |id: Id, text: &str, last: &mut Option<Id>| {
        if last.is_some_and(|l| id <= l) {
            return;
        }
        *last = Some(id);
        for notice in room.deliver(id, &prepare(id, text)) {
            let link = link.clone();
            tokio::spawn(async move { link.say(&notice).await });
        }
    };
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(LIVE).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let pubsub = match tokio::time::timeout(REDIS_TIMEOUT, subscribed).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(e)) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Err(e));
                    return;
                }
                eprintln!("chat: redis subscription: {e}; again in {pause:?}");
                still_down(&mut down_since, &link, &room);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
            Err(_) => {
                if let Some(first) = first.take() {
                    let timeout = (redis::ErrorKind::Io, "no answer to SUBSCRIBE");
                    let _ = first.send(Err(timeout.into()));
                    return;
                }
                still_down(&mut down_since, &link, &room);
                continue;
            }
        };
        pause = Duration::from_millis(100);
        if let Some(first) = first.take() {
            let _ = first.send(Ok(()));
        } else {
            // Subscribed again: what was said while we were not, from the
            // Stream, before the live lines (which may repeat some). With
            // nothing delivered yet, the Stream was empty when this
            // instance started: all of it is the gap.
            let mut gap = last;
            let filled = link
                .each_after(last.unwrap_or(Id::ZERO), |id, text| {
                    deliver(id, text, &mut gap)
                })
                .await;
            last = gap;
            if filled.is_err() {
                still_down(&mut down_since, &link, &room);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
            down_since = None;
            link.live.store(true, Ordering::Relaxed);
            eprintln!("chat: redis subscription restored");
        }
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            let payload = message.get_payload_bytes();
            let Ok(payload) = std::str::from_utf8(payload) else {
                continue;
            };
            let Some((id, text)) = payload.split_once(' ') else {
                continue;
            };
            let Ok(id) = id.parse::<Id>() else { continue };
            deliver(id, text, &mut last);
        }
        eprintln!("chat: redis subscription lost; subscribing again");
        still_down(&mut down_since, &link, &room);
    }
}

/// The subscription is down (since `down_since`, set now if it was not):
/// once for [`ROOM_LOST_AFTER`], close the room here, once per break.
fn still_down(down_since: &mut Option<Instant>, link: &Link, room: &Room) {
    let since = *down_since.get_or_insert_with(Instant::now);
    if since.elapsed() >= ROOM_LOST_AFTER && link.live.swap(false, Ordering::Relaxed) {
        let closed = room.close_all();
        eprintln!(
            "chat: redis subscription down for {ROOM_LOST_AFTER:?}: closed {closed} members with 1011"
        );
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each change under the lock is whole, so a poisoned one is usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
