//! What each member got, and the verdict over all of them.
//!
//! Line `k` of the run is said by sender `k % senders` as its line number
//! `k / senders`, so `(sender, seq)` names one line and each sender's lines
//! have an order to check.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What one member received of the run's lines.
#[derive(Debug)]
pub struct Tally {
    senders: usize,
    lines: usize,
    /// Bit `k`: line `k` arrived (at least once).
    seen: Vec<u64>,
    /// Per sender: one past the highest seq that arrived, 0 for none yet.
    next: Vec<u32>,
    /// Delivery latency of each first arrival, in microseconds: 4 bytes a
    /// delivery, so 1.2 million of them are under 5 MB.
    pub latencies_us: Vec<u32>,
    /// Arrivals of a line that had arrived already.
    pub duplicated: u64,
    /// First arrivals of a line after a later line of the same sender.
    pub out_of_order: u64,
    /// Lines that name a sender or seq the run does not have.
    pub foreign: u64,
}

/// What [`Tally::record`] made of an arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The line's first arrival (in order or not).
    First,
    /// It had arrived before.
    Again,
    /// Not a line of this run.
    Foreign,
}

impl Tally {
    /// An empty tally for a run of `lines` lines over `senders` senders.
    pub fn new(senders: usize, lines: usize) -> Tally {
        Tally {
            senders,
            lines,
            seen: vec![0; lines.div_ceil(64)],
            next: vec![0; senders],
            latencies_us: Vec::new(),
            duplicated: 0,
            out_of_order: 0,
            foreign: 0,
        }
    }

    /// Line `seq` of `sender` arrived, `latency_us` after it was sent.
    pub fn record(&mut self, sender: usize, seq: u32, latency_us: u32) -> Arrival {
        let Some(k) = self.index(sender, seq) else {
            self.foreign += 1;
            return Arrival::Foreign;
        };
        let (word, bit) = (k / 64, 1u64 << (k % 64));
        if self.seen[word] & bit != 0 {
            self.duplicated += 1;
            return Arrival::Again;
        }
        self.seen[word] |= bit;
        if seq < self.next[sender] {
            self.out_of_order += 1;
        }
        self.next[sender] = self.next[sender].max(seq + 1);
        self.latencies_us.push(latency_us);
        Arrival::First
    }

    /// Line `k` of the run for `(sender, seq)`, if the run has it.
    fn index(&self, sender: usize, seq: u32) -> Option<usize> {
        if sender >= self.senders {
            return None;
        }
        let k = (seq as usize)
            .checked_mul(self.senders)?
            .checked_add(sender)?;
        (k < self.lines).then_some(k)
    }

    /// Whether line `k` arrived.
    pub fn has(&self, k: usize) -> bool {
        self.seen
            .get(k / 64)
            .is_some_and(|w| w & (1 << (k % 64)) != 0)
    }

    /// How many of the lines `sent` says went out did not arrive.
    pub fn missed(&self, sent: &[bool]) -> u64 {
        let missing = sent.iter().enumerate().filter(|&(k, &s)| s && !self.has(k));
        missing.count() as u64
    }
}

/// The `p`th percentile (0 < p ≤ 100) of `sorted` by nearest rank: the
/// smallest value with at least p% of the values at or below it.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Everything the verdict is made of.
#[derive(Debug, Default)]
pub struct Summary {
    /// Members the run asked for.
    pub members: usize,
    /// Instances they were spread over.
    pub instances: usize,
    /// Lines the run meant to send.
    pub lines: usize,
    /// Which lines went out (their send returned `Ok`).
    pub sent: Vec<bool>,
    /// Members that never got in, with why (connect error, no join seen).
    pub not_joined: Vec<String>,
    /// Members whose connection ended during the run, with how.
    pub closed: Vec<String>,
    /// Members whose tally never came back (their task hung or panicked).
    pub lost: usize,
    /// The members' tallies.
    pub tallies: Vec<Tally>,
    /// A phase that ran out of time, if one did.
    pub timed_out: Option<String>,
}

impl Summary {
    /// The last line of the run, and whether it passed.
    pub fn verdict(&self) -> (bool, String) {
        let sent = self.sent.iter().filter(|&&s| s).count();
        let mut deliveries = 0u64;
        let (mut missed, mut duplicated, mut out_of_order, mut foreign) = (0, 0, 0, 0);
        let mut latencies = Vec::new();
        for tally in &self.tallies {
            deliveries += tally.latencies_us.len() as u64;
            missed += tally.missed(&self.sent);
            duplicated += tally.duplicated;
            out_of_order += tally.out_of_order;
            foreign += tally.foreign;
            latencies.extend_from_slice(&tally.latencies_us);
        }
        // A member without a tally got nothing.
        missed += (self.members - self.tallies.len()) as u64 * sent as u64;
        latencies.sort_unstable();
        let ms = |p: f64| match percentile(&latencies, p) {
            Some(us) => format!("{:.1} ms", f64::from(us) / 1000.0),
            None => "-".into(),
        };
        let figures = format!(
            "members {} over {} instances, {sent} lines, {deliveries} deliveries, {missed} missed, \
             {duplicated} duplicated, {out_of_order} out of order; latency p50 {} p99 {} max {}",
            self.members,
            self.instances,
            ms(50.0),
            ms(99.0),
            ms(100.0),
        );
        let mut reasons = Vec::new();
        if let Some(phase) = &self.timed_out {
            reasons.push(format!("timed out {phase}"));
        }
        if !self.not_joined.is_empty() {
            reasons.push(format!(
                "{} not joined ({})",
                self.not_joined.len(),
                grouped(&self.not_joined)
            ));
        }
        if !self.closed.is_empty() {
            reasons.push(format!(
                "{} closed ({})",
                self.closed.len(),
                grouped(&self.closed)
            ));
        }
        if self.lost > 0 {
            reasons.push(format!("{} members did not report", self.lost));
        }
        if sent < self.lines {
            reasons.push(format!(
                "{} of {} lines not sent",
                self.lines - sent,
                self.lines
            ));
        }
        if foreign > 0 {
            reasons.push(format!("{foreign} lines not of this run"));
        }
        if missed > 0 || duplicated > 0 || out_of_order > 0 {
            reasons.push("deliveries wrong".into());
        }
        let pass = reasons.is_empty();
        let mut line = format!(
            "chat_load: {} {figures}",
            if pass { "PASS" } else { "FAIL" }
        );
        if !pass {
            let _ = write!(line, "; {}", reasons.join(", "));
        }
        (pass, line)
    }
}

/// `reasons` counted by kind, the commonest first, at most three kinds.
fn grouped(reasons: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in reasons {
        *counts.entry(reason).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let shown: Vec<String> = counts
        .iter()
        .take(3)
        .map(|(r, n)| format!("{n}× {r}"))
        .collect();
    let more = if counts.len() > 3 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_arrivals_in_order_count_once() {
        let mut t = Tally::new(2, 6);
        for k in 0..6u32 {
            assert_eq!(t.record(k as usize % 2, k / 2, k * 10), Arrival::First);
        }
        assert_eq!((t.duplicated, t.out_of_order, t.foreign), (0, 0, 0));
        assert_eq!(t.latencies_us, [0, 10, 20, 30, 40, 50]);
        assert_eq!(t.missed(&[true; 6]), 0);
    }

    #[test]
    fn a_repeat_is_a_duplicate_not_a_delivery() {
        let mut t = Tally::new(1, 3);
        t.record(0, 0, 5);
        assert_eq!(t.record(0, 0, 7), Arrival::Again);
        assert_eq!(t.duplicated, 1);
        assert_eq!(t.latencies_us, [5]);
        // Neither is an earlier seq after a later one.
        assert_eq!(t.out_of_order, 0);
    }

    #[test]
    fn an_earlier_line_after_a_later_one_is_out_of_order() {
        let mut t = Tally::new(2, 8);
        t.record(1, 2, 0);
        t.record(0, 0, 0); // another sender: no order between senders
        assert_eq!(t.out_of_order, 0);
        t.record(1, 0, 0);
        t.record(1, 1, 0);
        assert_eq!(t.out_of_order, 2);
        t.record(1, 3, 0);
        assert_eq!(t.out_of_order, 2);
    }

    #[test]
    fn missed_counts_only_lines_that_went_out() {
        let mut t = Tally::new(1, 4);
        t.record(0, 0, 0);
        t.record(0, 2, 0);
        assert_eq!(t.missed(&[true; 4]), 2);
        assert_eq!(t.missed(&[true, true, true, false]), 1);
    }

    #[test]
    fn lines_of_another_run_are_foreign() {
        let mut t = Tally::new(2, 5);
        assert_eq!(t.record(2, 0, 0), Arrival::Foreign); // no sender 2
        assert_eq!(t.record(0, 3, 0), Arrival::Foreign); // line 6 of 5
        assert_eq!(t.record(1, u32::MAX, 0), Arrival::Foreign);
        assert_eq!(t.record(0, 2, 0), Arrival::First); // line 4
        assert_eq!(t.foreign, 3);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 1000], 99.0), Some(1000));
        assert_eq!(percentile(&[], 50.0), None);
    }

    fn summary(members: usize, lines: usize) -> Summary {
        Summary {
            members,
            instances: 2,
            lines,
            sent: vec![true; lines],
            ..Summary::default()
        }
    }

    #[test]
    fn everything_everywhere_passes() {
        let mut s = summary(2, 2);
        for _ in 0..2 {
            let mut t = Tally::new(1, 2);
            t.record(0, 0, 1000);
            t.record(0, 1, 3000);
            s.tallies.push(t);
        }
        let (pass, line) = s.verdict();
        assert!(pass, "{line}");
        assert_eq!(
            line,
            "chat_load: PASS members 2 over 2 instances, 2 lines, 4 deliveries, 0 missed, \
             0 duplicated, 0 out of order; latency p50 1.0 ms p99 3.0 ms max 3.0 ms"
        );
    }

    #[test]
    fn a_missing_line_fails() {
        let mut s = summary(2, 2);
        for n in [2, 1] {
            let mut t = Tally::new(1, 2);
            for seq in 0..n {
                t.record(0, seq, 0);
            }
            s.tallies.push(t);
        }
        let (pass, line) = s.verdict();
        assert!(!pass);
        assert!(
            line.contains(", 1 missed,") && line.ends_with("deliveries wrong"),
            "{line}"
        );
    }

    #[test]
    fn a_member_without_a_tally_missed_everything() {
        let mut s = summary(2, 3);
        let mut t = Tally::new(1, 3);
        (0..3).for_each(|seq| _ = t.record(0, seq, 0));
        s.tallies.push(t);
        s.lost = 1;
        let (pass, line) = s.verdict();
        assert!(!pass);
        assert!(
            line.contains(", 3 missed,") && line.contains("1 members did not report"),
            "{line}"
        );
    }

    #[test]
    fn closes_unsent_lines_and_timeouts_are_reasons() {
        let mut s = summary(3, 2);
        s.sent[1] = false;
        s.closed = vec!["1011 the room is unavailable".into(); 2];
        s.timed_out = Some("waiting for the lines".into());
        for _ in 0..3 {
            let mut t = Tally::new(1, 2);
            t.record(0, 0, 0);
            s.tallies.push(t);
        }
        let (pass, line) = s.verdict();
        assert!(!pass);
        assert!(line.contains("1 lines, 3 deliveries, 0 missed"), "{line}");
        assert!(line.contains("timed out waiting for the lines"), "{line}");
        assert!(
            line.contains("2 closed (2× 1011 the room is unavailable)"),
            "{line}"
        );
        assert!(line.contains("1 of 2 lines not sent"), "{line}");
    }
}
