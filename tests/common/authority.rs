//! A reference for a valid authority (`Host` value or absolute-form target
//! authority), written apart from the crate so the two can check each other.

use std::net::Ipv6Addr;

/// The reference for a valid authority, `uri-host [ ":" port ]` (RFC 9110
/// section 7.2, RFC 3986 section 3.2), with the choices the crate documents
/// (no userinfo, a non-empty host, an empty port allowed, a port at most
/// 65535, no IPv6 zone). Written apart from the crate: std parses the IPv6
/// literals, and `reg-name` is checked by splitting at each `%`.
pub fn reference_authority(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let (host_ok, port) = match value.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((literal, port)) => (
                literal.parse::<Ipv6Addr>().is_ok() || reference_ipv_future(literal),
                port,
            ),
            None => return false,
        },
        None => {
            let (host, port) = value.split_at(value.find(':').unwrap_or(value.len()));
            (!host.is_empty() && reference_reg_name(host), port)
        }
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|digits| {
            digits.bytes().all(|b| b.is_ascii_digit())
                && (digits.is_empty() || digits.parse::<u16>().is_ok())
        });
    host_ok && port_ok
}

/// RFC 3986 section 2.3 `unreserved` and section 2.2 `sub-delims`.
const REG_NAME_CHARS: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=";

/// `reg-name`: each `%` is followed by two hex digits, and everything else
/// is unreserved or a sub-delim.
fn reference_reg_name(name: &str) -> bool {
    let mut parts = name.split('%');
    let first = parts.next().unwrap_or("");
    first.chars().all(|c| REG_NAME_CHARS.contains(c))
        && parts.all(|part| {
            part.len() >= 2
                && part.is_char_boundary(2)
                && u8::from_str_radix(&part[..2], 16).is_ok()
                && !part.starts_with('+')
                && part[2..].chars().all(|c| REG_NAME_CHARS.contains(c))
        })
}

/// `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn reference_ipv_future(literal: &str) -> bool {
    let Some(rest) = literal.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some((version, address)) = rest.split_once('.') else {
        return false;
    };
    !version.is_empty()
        && version.chars().all(|c| c.is_ascii_hexdigit())
        && !address.is_empty()
        && address
            .chars()
            .all(|c| c == ':' || REG_NAME_CHARS.contains(c))
}
