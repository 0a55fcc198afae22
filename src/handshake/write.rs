//! HTTP/1.1 serialization shared by everything the handshake writes: the
//! 101 ([`Accept`](super::server::Accept)), a refusal
//! ([`Reject`](super::server::Reject)), an error's response
//! ([`HandshakeError`](super::HandshakeError)) and the client's request.
//!
//! It depends on nothing else in the handshake, so the error and response
//! modules both use it without importing each other.

use alloc::vec::Vec;

/// The reason phrase for the statuses a handshake is likely to send; other
/// statuses get an empty one, which HTTP allows (RFC 7230 section 3.1.2).
const fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Append `n` in decimal.
pub(crate) fn write_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Append `HTTP/1.1 <status> <reason>\r\n`. `status` must be three digits.
pub(crate) fn write_status_line(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(b"HTTP/1.1 ");
    write_decimal(out, usize::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Where a head's header fields go: the bytes of an HTTP/1.1 head here, or
/// an HTTP library's header map (the `http` feature). Each head lists its
/// fields once, in one function, whichever way it is written.
pub(crate) trait HeaderSink {
    /// Add one field; `name` and `value` are already checked.
    fn header(&mut self, name: &str, value: &[u8]);
}

impl HeaderSink for Vec<u8> {
    fn header(&mut self, name: &str, value: &[u8]) {
        write_header(self, name, value);
    }
}

/// Append `<name>: <value>\r\n`; both are already checked.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Append a `Content-Length` header.
pub(crate) fn write_content_length(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(b"Content-Length: ");
    write_decimal(out, len);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        for (n, s) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (8192, "8192"),
            (usize::MAX, "18446744073709551615"),
        ] {
            let mut out = Vec::new();
            write_decimal(&mut out, n);
            assert_eq!(out, s.as_bytes());
        }
    }
}
