//! The W5 corpus: chat-like JSON messages from 50 B to 4 KiB, made from a
//! fixed seed, so every run and every implementation sends the same bytes.
//!
//! Sizes are spread log-uniformly over 50..=4096 bytes: many short events
//! (typing, presence, receipts), chat messages with text of varied length,
//! and, above about 1.5 KiB, history batches (a nested array of messages).
//! Text is words from a small chat vocabulary with some non-ASCII (accents,
//! emoji, CJK), as in a real room.

pub const MIN_SIZE: usize = 50;
pub const MAX_SIZE: usize = 4096;

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n small; the bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoë",
];
const ROOMS: &[&str] = &[
    "general",
    "random",
    "dev",
    "ops",
    "design",
    "support",
    "release",
    "incidents",
];
const STATUS: &[&str] = &["online", "away", "busy", "offline"];
const WORDS: &[&str] = &[
    "hey",
    "hi",
    "ok",
    "okay",
    "sure",
    "thanks",
    "thx",
    "lol",
    "yes",
    "no",
    "maybe",
    "the",
    "a",
    "to",
    "is",
    "it",
    "in",
    "on",
    "for",
    "and",
    "but",
    "so",
    "we",
    "you",
    "I",
    "can",
    "could",
    "should",
    "will",
    "just",
    "still",
    "again",
    "now",
    "later",
    "today",
    "tomorrow",
    "build",
    "deploy",
    "release",
    "staging",
    "prod",
    "server",
    "client",
    "review",
    "PR",
    "merge",
    "branch",
    "test",
    "tests",
    "failing",
    "green",
    "red",
    "flaky",
    "fixed",
    "bug",
    "issue",
    "ticket",
    "meeting",
    "standup",
    "lunch",
    "coffee",
    "call",
    "link",
    "docs",
    "logs",
    "dashboard",
    "latency",
    "p99",
    "spike",
    "rollback",
    "hotfix",
    "config",
    "cache",
    "database",
    "migration",
    "websocket",
    "compression",
    "window",
    "bytes",
    "message",
    "looks",
    "good",
    "great",
    "weird",
    "broken",
    "works",
    "on",
    "my",
    "machine",
    "who",
    "what",
    "when",
    "where",
    "why",
    "how",
    "about",
    "this",
    "that",
    "these",
    "those",
    "please",
    "ping",
    "me",
    "after",
    "before",
    "👍",
    "🎉",
    "😂",
    "🙏",
    "🚀",
    "café",
    "naïve",
    "über",
    "déjà",
    "vu",
    "日本語",
    "テスト",
    "안녕하세요",
    "спасибо",
    "?",
    "!",
    "...",
    "1.2.3",
    "v2",
    "#42",
    "@here",
];

/// Chat text of about `len` bytes (never longer).
fn text(rng: &mut Rng, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    loop {
        let w = rng.pick(WORDS);
        let extra = w.len() + usize::from(!out.is_empty());
        if out.len() + extra > len {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

struct Clock(u64);

impl Clock {
    fn tick(&mut self, rng: &mut Rng) -> u64 {
        self.0 += 1 + rng.below(5000) as u64;
        self.0
    }
}

/// One chat message object; `text_len` sizes its text.
fn message(rng: &mut Rng, clock: &mut Clock, id: &mut u64, room: &str, text_len: usize) -> String {
    *id += 1 + rng.below(3) as u64;
    let user = rng.pick(USERS);
    let ts = clock.tick(rng);
    let body = text(rng, text_len);
    let mut m = format!(
        r#"{{"type":"message","id":{id},"room":"{room}","user":"{user}","ts":{ts},"text":"{body}""#
    );
    match rng.below(6) {
        0 => m.push_str(&format!(
            r#","reply_to":{}"#,
            id.saturating_sub(rng.below(40) as u64)
        )),
        1 => m.push_str(&format!(r#","mentions":["{}"]"#, rng.pick(USERS))),
        2 => m.push_str(&format!(
            r#","reactions":{{"{}":{},"{}":{}}}"#,
            rng.pick(&["👍", "🎉", "😂", "👀"]),
            1 + rng.below(9),
            rng.pick(&["🙏", "🚀", "❤️", "✅"]),
            1 + rng.below(4)
        )),
        _ => {}
    }
    m.push('}');
    m
}

/// A short event (typing, presence, read receipt), 50 B to about 110 B.
fn event(rng: &mut Rng, clock: &mut Clock, id: u64) -> String {
    let user = rng.pick(USERS);
    let room = rng.pick(ROOMS);
    let ts = clock.tick(rng);
    match rng.below(3) {
        0 => format!(r#"{{"type":"typing","room":"{room}","user":"{user}","ts":{ts}}}"#),
        1 => format!(
            r#"{{"type":"presence","user":"{user}","status":"{}","ts":{ts}}}"#,
            rng.pick(STATUS)
        ),
        _ => format!(r#"{{"type":"read","room":"{room}","user":"{user}","upto":{id}}}"#),
    }
}

/// `count` messages; sizes log-uniform over `MIN_SIZE..=MAX_SIZE`.
pub fn corpus(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut clock = Clock(1_732_212_345_123);
    let mut id = 90_000u64;
    let (lo, hi) = ((MIN_SIZE as f64).ln(), (MAX_SIZE as f64).ln());
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let target = (lo + rng.unit() * (hi - lo)).exp() as usize;
        let room = rng.pick(ROOMS);
        let msg = if target < 120 {
            event(&mut rng, &mut clock, id)
        } else if target < 1500 {
            // The envelope takes about 100 bytes.
            message(&mut rng, &mut clock, &mut id, room, target - 100)
        } else {
            let mut m = format!(r#"{{"type":"history","room":"{room}","messages":["#);
            let mut first = true;
            loop {
                let len = 20 + rng.below(220);
                let item = message(&mut rng, &mut clock, &mut id, room, len);
                if m.len() + item.len() + 3 > target {
                    break;
                }
                if !first {
                    m.push(',');
                }
                first = false;
                m.push_str(&item);
            }
            m.push_str("]}");
            m
        };
        // Redraw the rare one outside the range (never happens with these
        // shapes, but the range is the workload's promise).
        if (MIN_SIZE..=MAX_SIZE).contains(&msg.len()) {
            out.push(msg);
        }
    }
    out
}
