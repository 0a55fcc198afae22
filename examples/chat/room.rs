//! The room: who is in it, and the lines waiting for each member.
//!
//! Each member has a queue of lines bounded by bytes and by age, not by
//! a count: a burst of a thousand short lines is nothing to a member that
//! reads, while a member that stopped reading is found either when the
//! lines waiting for it pass [`Limits::max_behind`] bytes or when its
//! oldest undelivered line has waited [`Limits::slow_after`]. The first is
//! checked when a line is queued; the second then too, and by the
//! member's own timer while it waits on its socket, so a member that
//! stops reading while the room is quiet is found as well.
//!
//! Memory: a line is one `Arc<PreparedMessage>`, framed once and
//! compressed once for the room (not once per member), shared by every
//! queue that holds it. A member's queue costs at most `max_behind` (each
//! line counted as its text's bytes plus [`ENTRY_COST`] for its queue
//! entry), so the room holds at most members × `max_behind`; and because
//! every queue is the newest part of the same sequence of lines, the
//! lines themselves are held once, at most `max_behind` of text (with its
//! frame and, with permessage-deflate, its compressed form beside it): the
//! rest is 64 bytes per member per line.
//!
//! The room is this instance's members only. Lines come to it, each with
//! its [`Id`], from the hub (`chat/hub.rs`: this process alone, or every
//! instance through Redis) in id order; a mailbox takes each id once, so
//! a member that resumes gets the lines it missed (its history, put in
//! front by [`Mailbox::resume`]) and then the live ones, none twice.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use wscore::PreparedMessage;

use crate::hub::Id;

/// A chat line as the room shares it: framed (and compressed) once.
pub type Line = Arc<PreparedMessage>;

/// What a queued line costs a member on top of its text: its entry (an
/// `Arc` and an `Instant`, 24 bytes), doubled for the spare room a
/// growing `VecDeque` keeps. Without it, a flood of empty lines would
/// cost a member far more than `max_behind`.
pub const ENTRY_COST: usize = 64;

/// What a line of `text` costs a member's queue.
pub fn text_cost(text: &str) -> usize {
    text.len() + ENTRY_COST
}

/// When a member counts as too slow (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most a member's queue may cost, in bytes.
    pub max_behind: usize,
    /// The longest a line may wait for a member before it is delivered
    /// (handed to the member's connection).
    pub slow_after: Duration,
}

/// Why the room cut a member off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// It fell behind the room (see [`Limits`]): closed with 1013.
    TooSlow,
    /// The room is not there any more (this instance lost its Redis, see
    /// `chat/hub.rs`): closed with 1011, so its page comes back, here or
    /// to another instance, and resumes.
    Unavailable,
}

/// The lines waiting for one member, shared by the room (which pushes)
/// and the member's task (which sends and pops).
#[derive(Default)]
pub struct Mailbox {
    queue: Mutex<Queue>,
    /// A line was queued.
    ready: Notify,
    /// The member was cut off: its task closes the connection.
    kick: Notify,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<(Id, Line, Instant)>,
    /// What `lines` costs, in bytes (see [`ENTRY_COST`]).
    cost: usize,
    /// The newest id taken: a line with this id or an older one is one
    /// the member has (or had queued) already.
    last: Option<Id>,
    /// Set when the member is cut off, with why.
    cut: Option<Cut>,
}

fn cost(line: &PreparedMessage) -> usize {
    line.payload().len() + ENTRY_COST
}

impl Mailbox {
    /// Queue `line` unless the member is too slow for it: its queue would
    /// cost more than `max_behind`, or its oldest line waited too long.
    /// A line it has already (its id is not newer than the last taken)
    /// is dropped: a resumed member's history can hold lines that also
    /// come live.
    fn push(&self, id: Id, line: &Line, now: Instant, limits: Limits) -> Result<(), ()> {
        let mut queue = lock(&self.queue);
        if queue.last.is_some_and(|last| id <= last) {
            return Ok(());
        }
        let late = queue.lines.front().is_some_and(|(_, _, queued)| {
            now.saturating_duration_since(*queued) > limits.slow_after
        });
        if late || queue.cost + cost(line) > limits.max_behind {
            return Err(());
        }
        queue.cost += cost(line);
        queue.lines.push_back((id, line.clone(), now));
        queue.last = Some(id);
        drop(queue);
        self.ready.notify_one();
        Ok(())
    }

    /// Put `history` (lines the member missed, oldest first, newer than
    /// the id it resumes from) in front of the live lines queued since it
    /// joined. The member joined before the history was read, so the
    /// live lines and the history overlap or meet: a history line as new
    /// as the first live one is already queued. What does not fit in
    /// `max_behind` beside the live lines is left out, oldest first.
    pub fn resume(&self, history: Vec<(Id, Line)>, limits: Limits) {
        let now = Instant::now();
        let mut queue = lock(&self.queue);
        let first_live = queue.lines.front().map(|(id, _, _)| *id);
        let mut room = limits.max_behind.saturating_sub(queue.cost);
        let mut older = Vec::new();
        for (id, line) in history.into_iter().rev() {
            if first_live.is_some_and(|first| id >= first) {
                continue;
            }
            if cost(&line) > room {
                break;
            }
            room -= cost(&line);
            older.push((id, line));
        }
        if let Some((newest, _)) = older.first() {
            queue.last = queue.last.max(Some(*newest));
        }
        for (id, line) in older {
            queue.cost += cost(&line);
            queue.lines.push_front((id, line, now));
        }
        if !queue.lines.is_empty() {
            drop(queue);
            self.ready.notify_one();
        }
    }

    /// The oldest undelivered line and when it was queued. It stays
    /// queued, and counts toward the limits, until [`delivered`](Self::delivered).
    pub fn front(&self) -> Option<(Line, Instant)> {
        let queue = lock(&self.queue);
        let (_, line, queued) = queue.lines.front()?;
        Some((line.clone(), *queued))
    }

    /// `line`, the front, was handed to the connection.
    pub fn delivered(&self, line: &Line) {
        let mut queue = lock(&self.queue);
        if queue
            .lines
            .front()
            .is_some_and(|(_, l, _)| Arc::ptr_eq(l, line))
        {
            queue.lines.pop_front();
            queue.cost -= cost(line);
        }
    }

    /// Wait until a line is queued (a line queued before the call counts).
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Wait until the member is cut off (a cut before the call counts),
    /// and say why.
    pub async fn kicked(&self) -> Cut {
        self.kick.notified().await;
        lock(&self.queue).cut.unwrap_or(Cut::TooSlow)
    }

    /// Cut the member off: drop what waits for it and wake its task.
    fn kick(&self, cut: Cut) {
        *lock(&self.queue) = Queue {
            cut: Some(cut),
            ..Queue::default()
        };
        self.kick.notify_one();
    }
}

struct Member {
    name: String,
    mailbox: Arc<Mailbox>,
}

/// Who is in the room, and their queues.
pub struct Room {
    members: Mutex<HashMap<u64, Member>>,
    next_id: AtomicU64,
    limits: Limits,
}

impl Room {
    pub fn new(limits: Limits) -> Room {
        Room {
            members: Mutex::default(),
            next_id: AtomicU64::new(0),
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Add a member; returns its id and its mailbox. From now on it
    /// gets every line [`deliver`](Self::deliver)ed. The hub announces it.
    pub fn join(&self, name: &str) -> (u64, Arc<Mailbox>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::default());
        let member = Member {
            name: name.into(),
            mailbox: mailbox.clone(),
        };
        lock(&self.members).insert(id, member);
        (id, mailbox)
    }

    /// The member left on its own; its name, to announce, if it was
    /// still a member.
    pub fn leave(&self, id: u64) -> Option<String> {
        let gone = lock(&self.members).remove(&id);
        gone.map(|member| member.name)
    }

    /// The member's own timer found its oldest line too old: cut it off
    /// as [`deliver`](Self::deliver) would; the notice to announce, if it
    /// was still a member.
    pub fn too_slow(&self, id: u64) -> Option<String> {
        let gone = lock(&self.members).remove(&id);
        gone.map(|member| {
            member.mailbox.kick(Cut::TooSlow);
            too_slow_notice(&member.name)
        })
    }

    /// The room is gone from under its members (see [`Cut::Unavailable`]):
    /// cut every one off. Returns how many there were.
    pub fn close_all(&self) -> usize {
        let gone: Vec<Member> = lock(&self.members).drain().map(|(_, m)| m).collect();
        for member in &gone {
            member.mailbox.kick(Cut::Unavailable);
        }
        gone.len()
    }

    /// Queue `line`, the room's line `id`, for every member here, never
    /// waiting: a member too slow for it is removed and told to close.
    /// Returns the notices to announce for those (the hub says them to
    /// the whole room, every instance).
    pub fn deliver(&self, id: Id, line: &Line) -> Vec<String> {
        let now = Instant::now();
        let mut too_slow = Vec::new();
        lock(&self.members).retain(|_, member| {
            match member.mailbox.push(id, line, now, self.limits) {
                Ok(()) => true,
                Err(()) => {
                    member.mailbox.kick(Cut::TooSlow);
                    too_slow.push(too_slow_notice(&member.name));
                    false
                }
            }
        });
        too_slow
    }
}

/// The room's line `id` as every member gets it, `ID TEXT`: framed once
/// for every member, and compressed once for all of those with
/// permessage-deflate.
pub fn prepare(id: Id, text: &str) -> Line {
    Arc::new(PreparedMessage::text(&format!("{id} {text}")))
}

fn too_slow_notice(name: &str) -> String {
    format!("* {name} was too slow and was disconnected")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave the data half-changed
    // (each change is one call), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
