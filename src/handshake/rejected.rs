//! A server's answer other than 101, and its body (RFC 9112 section 6.3),
//! read up to a cap so a refusal can be reported with what the server
//! said without letting it send us gigabytes.

use alloc::string::String;
use alloc::vec::Vec;

use super::header::{Headers, trim_ows};
use crate::frame::Status;

/// A response other than 101 Switching Protocols, as the client received it:
/// the status, the header fields, and as much of the body as was read.
///
/// The handshake layer keeps the body bytes that came in the same input as
/// the end of the head ([`body_start`](Self::body_start)). A driver that
/// owns the transport reads on and feeds the rest to
/// [`handle_body`](Self::handle_body), which keeps at most
/// [`MAX_BODY`](Self::MAX_BODY) bytes; the tokio driver's
/// `WebSocket::connect` does so within its handshake timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedResponse {
    status: u16,
    reason: String,
    headers: Headers,
    /// The body as far as it was read, as sent (chunked coding included).
    body: Vec<u8>,
    /// How many bytes of `body` came with the head.
    start_len: usize,
    framing: Framing,
    /// Bytes were dropped at [`MAX_BODY`](Self::MAX_BODY).
    truncated: bool,
}

/// How the end of the body is found (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// 1xx, 204 and 304 have none.
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding` ending in `chunked`: the last chunk and the
    /// trailer section end it.
    Chunked,
    /// Neither, or a coding other than chunked last: the body ends when
    /// the server closes the connection.
    UntilClose,
}

impl RejectedResponse {
    /// The most body bytes [`handle_body`](Self::handle_body) keeps: 64 KiB,
    /// room for any error page worth reading and little for a server that
    /// streams without end.
    pub const MAX_BODY: usize = 64 << 10;

    /// A refusal whose head was followed by `rest` in the same input, of
    /// which at most `cap` bytes are kept as the body's start.
    pub(crate) fn new(
        status: u16,
        reason: String,
        headers: Headers,
        rest: &[u8],
        cap: usize,
    ) -> RejectedResponse {
        let body_start = &rest[..rest.len().min(cap)];
        let mut rejected = RejectedResponse {
            status,
            framing: framing(status, &headers),
            reason,
            headers,
            body: body_start.into(),
            start_len: body_start.len(),
            truncated: false,
        };
        // Bytes were dropped between the start and whatever a driver reads
        // next: the body can only be reported as a prefix.
        rejected.truncated = rest.len() > cap && !rejected.body_complete();
        rejected
    }

    /// The status code, e.g. 302, 401 or 404.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, possibly empty.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The response's header fields (`Location`, `WWW-Authenticate`, ...).
    #[must_use]
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The bytes after the head that arrived in the same input as its end,
    /// at most [`HandshakeLimits::max_head_len`](super::HandshakeLimits::max_head_len)
    /// of them. The rest of the body, if any, is still on the transport
    /// unless a driver read it into [`body`](Self::body).
    #[must_use]
    pub fn body_start(&self) -> &[u8] {
        &self.body[..self.start_len]
    }

    /// The body as far as it was read: [`body_start`](Self::body_start)
    /// plus what [`handle_body`](Self::handle_body) was given, at most
    /// [`MAX_BODY`](Self::MAX_BODY) bytes past a start that was longer
    /// than that, and never past a `Content-Length`. It is the message
    /// body as sent: a chunked body keeps its chunk framing.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        match self.framing {
            Framing::Length(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                &self.body[..self.body.len().min(n)]
            }
            _ => &self.body,
        }
    }

    /// Whether body bytes were dropped: past [`MAX_BODY`](Self::MAX_BODY),
    /// or behind a [`body_start`](Self::body_start) cut at the head's cap.
    #[must_use]
    pub fn is_body_truncated(&self) -> bool {
        self.truncated
    }

    /// Feed body bytes read from the transport after the head (the input
    /// past `body_start` first, then each read). Call it once with no
    /// bytes to learn whether there is anything to read at all.
    ///
    /// `Complete` when the body is whole by the response's own framing
    /// (`Content-Length` reached, the last chunk and trailers of a chunked
    /// body, a status that has no body) or when [`MAX_BODY`](Self::MAX_BODY)
    /// bytes are kept, the rest dropped ([`is_body_truncated`](Self::is_body_truncated)):
    /// stop reading. `Partial`: read more; at the end of the transport the
    /// body is what was kept (a body without `Content-Length` or chunked
    /// coding ends there). Memory never grows past `MAX_BODY` (or the
    /// start, if that was larger): a server streaming without end costs a
    /// bounded buffer, and the caller's deadline bounds the time.
    pub fn handle_body(&mut self, input: &[u8]) -> Status<()> {
        if self.truncated || self.body_complete() {
            return Status::Complete(());
        }
        let room = Self::MAX_BODY.saturating_sub(self.body.len());
        let take = input.len().min(room);
        if take > 0 {
            // Grow geometrically, but never past the cap.
            let want = self.body.len() + take;
            if want > self.body.capacity() {
                let grown = (self.body.capacity() * 2).clamp(want, Self::MAX_BODY.max(want));
                self.body.reserve_exact(grown - self.body.len());
            }
            self.body.extend_from_slice(&input[..take]);
        }
        if self.body_complete() {
            return Status::Complete(());
        }
        if self.body.len() >= Self::MAX_BODY {
            self.truncated = true;
            return Status::Complete(());
        }
        Status::Partial
    }

    /// Whether the framing says the body is whole.
    fn body_complete(&self) -> bool {
        match self.framing {
            Framing::Empty => true,
            Framing::Length(n) => self.body.len() as u64 >= n,
            Framing::Chunked => chunked_len(&self.body).is_some(),
            Framing::UntilClose => false,
        }
    }
}

/// The framing of a response with `status` and `headers` (RFC 9112 section
/// 6.3, items 1, 4, 5 and 8; a `Content-Length` that is repeated or not a
/// number is read as "until close", which the cap bounds).
fn framing(status: u16, headers: &Headers) -> Framing {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Framing::Empty;
    }
    if headers.contains("transfer-encoding") {
        let last = headers
            .get_all("transfer-encoding")
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim_ows)
            .filter(|c| !c.is_empty())
            .last();
        return match last {
            Some(c) if c.eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        };
    }
    match headers.single("content-length") {
        Ok(Some(v)) => parse_decimal(trim_ows(v)).map_or(Framing::UntilClose, Framing::Length),
        Ok(None) | Err(()) => Framing::UntilClose,
    }
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// The length of a complete chunked body at the start of `body` (RFC 9112
/// section 7.1), or `None` if it is not complete yet or malformed (then the
/// body is read until close, within the cap). It jumps over chunk data, so
/// a scan costs one step per chunk plus the size and trailer lines.
fn chunked_len(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let (line, next) = line_at(body, at)?;
        let size = line
            .split(|&b| b == b';')
            .next()
            .map(trim_ows)
            .and_then(parse_hex)?;
        at = next;
        if size == 0 {
            // The trailer section: field lines up to an empty line.
            loop {
                let (line, next) = line_at(body, at)?;
                at = next;
                if line.is_empty() {
                    return Some(at);
                }
            }
        }
        // The data and its CRLF.
        at = at
            .checked_add(usize::try_from(size).ok()?)?
            .checked_add(2)?;
        if at > body.len() {
            return None;
        }
    }
}

/// The line starting at `at` without its CRLF (or bare LF), and where the
/// next one starts.
fn line_at(body: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = body.get(at..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = &rest[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, at + lf + 1))
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let v = char::from(d).to_digit(16)?;
        Some(n << 4 | u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn rejected(status: u16, headers: &[(&str, &str)], start: &[u8]) -> RejectedResponse {
        let parsed: Vec<httparse::Header<'_>> = headers
            .iter()
            .map(|(n, v)| httparse::Header {
                name: n,
                value: v.as_bytes(),
            })
            .collect();
        let headers = Headers::from_httparse(&parsed);
        RejectedResponse::new(status, String::new(), headers, start, usize::MAX)
    }

    #[test]
    fn content_length_ends_the_body_even_with_bytes_behind_it() {
        let mut r = rejected(403, &[("Content-Length", "5")], b"ab");
        assert_eq!(r.handle_body(b""), Status::Partial);
        assert_eq!(r.handle_body(b"cdefgh"), Status::Complete(()));
        assert_eq!(r.body(), b"abcde");
        assert_eq!(r.body_start(), b"ab");
        assert!(!r.is_body_truncated());
    }

    #[test]
    fn statuses_without_a_body_are_complete_at_once() {
        for status in [100, 204, 304] {
            let mut r = rejected(status, &[], b"");
            assert_eq!(r.handle_body(b""), Status::Complete(()));
        }
    }

    #[test]
    fn a_body_without_framing_is_read_until_the_cap() {
        let mut r = rejected(500, &[], b"x");
        assert_eq!(r.handle_body(&[b'y'; 1000]), Status::Partial);
        let huge = vec![b'z'; RejectedResponse::MAX_BODY];
        assert_eq!(r.handle_body(&huge), Status::Complete(()));
        assert_eq!(r.body().len(), RejectedResponse::MAX_BODY);
        assert!(r.is_body_truncated());
        assert!(r.body.capacity() <= RejectedResponse::MAX_BODY);
        assert_eq!(r.handle_body(&huge), Status::Complete(()));
        assert_eq!(r.body().len(), RejectedResponse::MAX_BODY);
    }

    #[test]
    fn a_chunked_body_ends_at_its_last_chunk_and_trailers() {
        let body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
        assert_eq!(chunked_len(body), Some(body.len()));
        for cut in 0..body.len() {
            assert_eq!(chunked_len(&body[..cut]), None, "cut at {cut}");
        }
        let mut r = rejected(401, &[("Transfer-Encoding", "gzip, chunked")], b"");
        assert_eq!(r.handle_body(&body[..10]), Status::Partial);
        assert_eq!(r.handle_body(&body[10..]), Status::Complete(()));
        // Malformed sizes never end the body: the cap or the end of the
        // transport does.
        assert_eq!(chunked_len(b"zz\r\n"), None);
        assert_eq!(chunked_len(b"fffffffffffffffff\r\n"), None);
        assert_eq!(chunked_len(b"ffffffffffffffff\r\n"), None);
    }

    #[test]
    fn a_start_cut_at_the_head_cap_is_reported_as_truncated() {
        let headers = Headers::default();
        let mut r = RejectedResponse::new(404, String::new(), headers, &[b'x'; 100], 64);
        assert!(r.is_body_truncated());
        assert_eq!(r.handle_body(b"more"), Status::Complete(()));
        assert_eq!(r.body(), [b'x'; 64]);
        let parsed = [httparse::Header {
            name: "Content-Length",
            value: b"10",
        }];
        let headers = Headers::from_httparse(&parsed);
        let r = RejectedResponse::new(404, String::new(), headers, &[b'x'; 100], 64);
        assert!(!r.is_body_truncated());
        assert_eq!(r.body(), [b'x'; 10]);
    }

    #[test]
    fn a_bad_content_length_reads_until_close() {
        let mut r = rejected(
            403,
            &[("Content-Length", "5"), ("Content-Length", "6")],
            b"",
        );
        assert_eq!(r.handle_body(b"abcdefgh"), Status::Partial);
        let mut r = rejected(403, &[("Content-Length", "-1")], b"");
        assert_eq!(r.handle_body(b"abc"), Status::Partial);
        assert_eq!(r.body(), b"abc");
    }
}
