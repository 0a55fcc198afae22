//! The token grammar of HTTP (RFC 7230 section 3.2), shared by the
//! handshake's header parsing and the extension layer's
//! `Sec-WebSocket-Extensions` lists: neither layer owns it, so neither
//! imports the other for it.

use alloc::string::String;

/// Whether `b` is a `tchar` (RFC 7230 section 3.2.6): the characters a token
/// may hold, that is visible ASCII except the delimiters `"(),/:;<=>?@[\]{}`.
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Optional whitespace, `OWS = *( SP / HTAB )` (RFC 7230 section 3.2.3).
pub(crate) const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A `String` from bytes already checked to be ASCII (tokens), without a
/// fallible UTF-8 conversion.
pub(crate) fn ascii_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}
