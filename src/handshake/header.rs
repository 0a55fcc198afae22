//! Header fields as the handshake sees them: the received header list,
//! HTTP token and list syntax (RFC 7230 sections 3.2.6 and 7), and the
//! `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` pair (RFC 6455 section 4).

use alloc::string::String;
use alloc::vec::Vec;
use core::slice;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

pub(crate) use crate::token::{ascii_string, is_ows, is_token};

/// The GUID every endpoint appends to the key before hashing (section 1.3).
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// One header field of a received request or response, in arrival order.
///
/// The name keeps the case it arrived in; compare it with
/// [`str::eq_ignore_ascii_case`]. The value is raw bytes because HTTP allows
/// obs-text (bytes 0x80-0xFF) that need not be UTF-8; leading and trailing
/// whitespace is already trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HeaderField {
    name: String,
    value: Vec<u8>,
}

impl HeaderField {
    /// The field name, as sent.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field value, as sent.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The field value as text, if it is valid UTF-8.
    #[must_use]
    pub fn value_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.value).ok()
    }
}

/// The header fields of a received request or response, in arrival order,
/// repeated fields included.
///
/// Lookups by name are ASCII case-insensitive (RFC 7230 section 3.2), and
/// each is a scan of the fields, linear in their number, returning views
/// that allocate nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Headers {
    fields: Vec<HeaderField>,
}

impl Headers {
    /// Copy the fields `httparse` found; they outlive the buffer they were
    /// parsed from.
    pub(crate) fn from_httparse(parsed: &[httparse::Header<'_>]) -> Headers {
        Headers {
            fields: parsed
                .iter()
                .map(|h| HeaderField {
                    name: h.name.into(),
                    value: h.value.into(),
                })
                .collect(),
        }
    }

    /// Copy the fields of an HTTP library's header map, in its iteration
    /// order (each name's values in arrival order).
    #[cfg(feature = "http")]
    pub(crate) fn from_http(map: &http::HeaderMap) -> Headers {
        Headers {
            fields: map
                .iter()
                .map(|(name, value)| HeaderField {
                    name: name.as_str().into(),
                    value: value.as_bytes().into(),
                })
                .collect(),
        }
    }

    /// Add a field at the end, its name lowercased, as HTTP/2 and HTTP/3
    /// require of every field name (RFC 9113 section 8.2.1, RFC 9114
    /// section 4.2).
    pub(crate) fn push_lowercase(&mut self, name: &str, value: &[u8]) {
        self.fields.push(HeaderField {
            name: name.to_ascii_lowercase(),
            value: value.into(),
        });
    }

    /// All fields in arrival order.
    pub fn iter(&self) -> slice::Iter<'_, HeaderField> {
        self.fields.iter()
    }

    /// The number of fields, repeated ones counted each time.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the first field called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The values of every field called `name`, in arrival order.
    pub fn get_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value.as_slice())
    }

    /// Whether any field called `name` exists.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the comma-separated lists in the fields called `name` hold
    /// `token`, compared ASCII case-insensitively.
    ///
    /// Repeated fields count as one list (RFC 7230 section 3.2.2), so both
    /// `Connection: keep-alive, Upgrade` and two `Connection` lines find
    /// `upgrade`.
    #[must_use]
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(list_elements)
            .any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// The single value of `name`: `Ok(None)` if absent, `Err(())` if the
    /// field is repeated.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&[u8]>, ()> {
        let mut all = self.get_all(name);
        let first = all.next();
        match all.next() {
            Some(_) => Err(()),
            None => Ok(first),
        }
    }
}

/// The fields of an HTTP/2 or HTTP/3 head, written in lowercase.
impl super::write::HeaderSink for Headers {
    fn header(&mut self, name: &str, value: &[u8]) {
        self.push_lowercase(name, value);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a HeaderField;
    type IntoIter = slice::Iter<'a, HeaderField>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// `s` without leading and trailing OWS.
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// The elements of one comma-separated list value, trimmed, with empty
/// elements skipped: RFC 7230 section 7 makes recipients accept `a, , b`.
///
/// Only for lists whose elements cannot hold a comma (tokens);
/// `Sec-WebSocket-Extensions` may quote, so it has its own parser.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Parse every field called `name` as a `1#token` list, concatenated in
/// arrival order (for `Sec-WebSocket-Protocol`, section 4.1 and 11.3.4).
///
/// Each field must hold at least one element, and every element must be a
/// token. Tokens keep their case: subprotocol names are case-sensitive.
pub(crate) fn parse_token_list(headers: &Headers, name: &str) -> Result<Vec<String>, ()> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let before = out.len();
        for element in list_elements(value) {
            if !is_token(element) {
                return Err(());
            }
            out.push(ascii_string(element));
        }
        if out.len() == before {
            return Err(());
        }
    }
    Ok(out)
}

/// Whether `value` may be written as a header field value we generate:
/// `field-content` of RFC 7230 section 3.2, so no CR, LF, NUL or other
/// control byte (HTAB aside), and no leading or trailing whitespace, which
/// the receiver would strip and so could not round-trip.
pub(crate) fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7F))
        && value.first().is_none_or(|&b| !is_ows(b))
        && value.last().is_none_or(|&b| !is_ows(b))
}

/// Whether `s` is visible ASCII only (`VCHAR`), for values that end up in a
/// request line or must be plain text (host, target, origin).
pub(crate) fn is_visible_ascii(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `value` is a valid `Sec-WebSocket-Key`: the base64 encoding of
/// exactly 16 bytes (section 4.2.1 item 5), which is 24 characters with
/// `==` padding. Non-canonical encodings are refused.
pub(crate) fn is_valid_key(value: &[u8]) -> bool {
    if value.len() != 24 {
        return false;
    }
    // 24 characters decode to at most 18 bytes; 16 is the only valid length.
    let mut decoded = [0u8; 18];
    matches!(STANDARD.decode_slice(value, &mut decoded), Ok(16))
}

/// The `Sec-WebSocket-Key` for a caller-supplied 16-byte nonce (section 4.1).
pub(crate) fn key_for_nonce(nonce: &[u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (section 4.2.2
/// item 5.4): the base64 encoding of the SHA-1 of the key, as sent (trimmed
/// of whitespace, not decoded), followed by the GUID
/// `258EAFA5-E914-47DA-95CA-C5AB0DC85B11`. One SHA-1 over the key and the
/// GUID; allocates the 28-character result.
///
/// ```
/// // The example of RFC 6455 section 1.3.
/// assert_eq!(
///     wscore::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
/// );
/// ```
#[must_use]
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(ACCEPT_GUID);
    STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_ows_handles_blank_and_inner_space() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }

    #[test]
    fn list_elements_skip_empty_elements() {
        let got: Vec<&[u8]> = list_elements(b" , a ,, b\t,").collect();
        assert_eq!(got, [&b"a"[..], &b"b"[..]]);
    }

    #[test]
    fn key_must_decode_to_sixteen_bytes() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        // 15 and 17 bytes.
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXg="));
        // Non-zero trailing bits: not the canonical encoding of any 16 bytes.
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZR=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ!!"));
    }

    #[test]
    fn field_values_refuse_controls_and_outer_space() {
        assert!(is_field_value(b""));
        assert!(is_field_value(b"a\tb c\xff"));
        assert!(!is_field_value(b"a\r\nb"));
        assert!(!is_field_value(b"a\0"));
        assert!(!is_field_value(b" a"));
        assert!(!is_field_value(b"a\t"));
    }
}
