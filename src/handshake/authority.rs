//! The authority a request names, `uri-host [ ":" port ]`: the value of the
//! `Host` header field and the authority of an absolute-form request target
//! (RFC 9112 section 3.2, RFC 9110 sections 4.2 and 7.2, RFC 3986 section
//! 3.2). Both are checked by the one function here, so the two places a
//! client can name a host cannot disagree on what a valid one is.

/// Whether `value` is a valid authority of an `http`, `https`, `ws` or `wss`
/// URI as HTTP/1.1 carries it: `uri-host [ ":" port ]` (the `Host` grammar of
/// RFC 9110 section 7.2), where `uri-host` is RFC 3986 section 3.2.2's
/// `host`: a `reg-name` (unreserved characters, `%XX` escapes and
/// sub-delims), an IPv4 address, or an `[IPv6]` or `[vX.future]` literal.
///
/// RFC 9112 section 3.2 makes a server answer 400 to a `Host` with an
/// invalid value: left unchecked, a value such as `a/b@c` or `evil:80 x`
/// reaches the application, which may route, log or build URLs with it.
///
/// Where the grammar leaves room, the choices are:
///
/// * **The host is not empty.** RFC 3986 lets a `reg-name` be empty, but
///   RFC 9110 section 4.2.1 makes a recipient reject an `http` URI with an
///   empty host, and an empty `Host` names nothing to route to.
/// * **No userinfo** (`user:pass@host`): RFC 9110 section 4.2.4 tells a
///   recipient to treat it as an error, and RFC 9112 section 3.2 excludes it
///   from `Host`. `@` is refused wherever it appears.
/// * **An empty port is accepted** (`example.com:`): RFC 3986's
///   `port = *DIGIT` allows it, and its section 6.2.3 makes it equivalent to
///   no port at all (the scheme's default). The value is reported as sent.
/// * **A port is at most 65535.** The grammar sets no bound, but a larger
///   number names no TCP port, so it cannot be a real authority. Leading
///   zeros are allowed (`:080` is port 80), as the grammar allows them.
/// * **Dotted numbers that are not an IPv4 address** (`256.1.1.1`,
///   `1.2.3`) are still a valid `reg-name` by RFC 3986 section 3.2.2's
///   grammar (its first-match rule only says which reading wins), so they
///   pass; a resolver, not the handshake, finds they name nothing.
/// * **ASCII only.** A `reg-name` has no room for other bytes:
///   internationalized names travel as A-labels (`xn--...`). A `%` must
///   start a `%XX` escape.
/// * **No IPv6 zone identifier** (`[fe80::1%25eth0]`, RFC 6874): HTTP's
///   grammar is RFC 3986's, which has none, and a zone only means something
///   on the client's own host.
pub(crate) fn is_valid_authority(value: &[u8]) -> bool {
    // A literal holds colons, so it is delimited by its brackets; anywhere
    // else the first colon starts the port (a reg-name holds none).
    let (host, port) = if value.first() == Some(&b'[') {
        match value.iter().position(|&b| b == b']') {
            Some(close) => value.split_at(close + 1),
            None => return false,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(colon) => value.split_at(colon),
            None => (value, &[][..]),
        }
    };
    is_host(host) && is_port_suffix(port)
}

/// `host = IP-literal / IPv4address / reg-name` (RFC 3986 section 3.2.2),
/// not empty. An IPv4 address is made of `reg-name` characters, so
/// `is_reg_name` admits every one of them.
fn is_host(host: &[u8]) -> bool {
    match host {
        [b'[', literal @ .., b']'] => is_ipv6(literal) || is_ipv_future(literal),
        _ => !host.is_empty() && is_reg_name(host),
    }
}

/// `"" / ":" port`, with `port = *DIGIT` (RFC 3986 section 3.2.3) at most
/// 65535; see [`is_valid_authority`] for why an empty port passes.
fn is_port_suffix(suffix: &[u8]) -> bool {
    let Some((b':', digits)) = suffix.split_first() else {
        return suffix.is_empty();
    };
    let mut port: u32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return false;
        }
        port = port * 10 + u32::from(d - b'0');
        if port > u32::from(u16::MAX) {
            return false;
        }
    }
    true
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`.
fn is_reg_name(name: &[u8]) -> bool {
    let mut bytes = name.iter();
    while let Some(&b) = bytes.next() {
        let ok = if b == b'%' {
            bytes.next().is_some_and(u8::is_ascii_hexdigit)
                && bytes.next().is_some_and(u8::is_ascii_hexdigit)
        } else {
            is_unreserved(b) || is_sub_delim(b)
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 section 2.3).
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="`
/// (RFC 3986 section 2.2).
const fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`
/// (RFC 3986 section 3.2.2; ABNF literals are case-insensitive, so `V` too).
fn is_ipv_future(literal: &[u8]) -> bool {
    let Some((b'v' | b'V', rest)) = literal.split_first() else {
        return false;
    };
    let Some(dot) = rest.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (version, address) = (&rest[..dot], &rest[dot + 1..]);
    !version.is_empty()
        && version.iter().all(u8::is_ascii_hexdigit)
        && !address.is_empty()
        && address
            .iter()
            .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
}

/// `IPv6address` of RFC 3986 section 3.2.2: eight 16-bit pieces written as
/// 1 to 4 hex digits separated by `:`, the last two of which may be written
/// as an IPv4 address, and one run of one or more zero pieces that may be
/// compressed to `::`.
fn is_ipv6(literal: &[u8]) -> bool {
    match literal.windows(2).position(|w| w == b"::") {
        None => pieces(literal, true) == Some(8),
        Some(at) => {
            let (head, tail) = (&literal[..at], &literal[at + 2..]);
            // `::` stands for at least one piece, so at most seven are written.
            match (pieces(head, false), pieces(tail, true)) {
                (Some(h), Some(t)) => h + t <= 7,
                _ => false,
            }
        }
    }
}

/// How many 16-bit pieces `part` (one side of an IPv6 `::`, or a whole
/// uncompressed address) writes, or `None` if it is not a `:`-separated run
/// of `h16` (1 to 4 hex digits), optionally ending in an IPv4 address that
/// counts as two. An empty part writes none; a second `::` makes an empty
/// piece, which is refused.
fn pieces(part: &[u8], may_end_in_ipv4: bool) -> Option<usize> {
    if part.is_empty() {
        return Some(0);
    }
    let mut count = 0;
    let mut rest = part.split(|&b| b == b':').peekable();
    while let Some(piece) = rest.next() {
        let last = rest.peek().is_none();
        count += if last && may_end_in_ipv4 && is_ipv4(piece) {
            2
        } else if (1..=4).contains(&piece.len()) && piece.iter().all(u8::is_ascii_hexdigit) {
            1
        } else {
            return None;
        };
    }
    Some(count)
}

/// `IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet`, where
/// a `dec-octet` is 0 to 255 without leading zeros (RFC 3986 section 3.2.2).
fn is_ipv4(address: &[u8]) -> bool {
    let mut octets = 0;
    for octet in address.split(|&b| b == b'.') {
        octets += 1;
        // At most three digits, the first not a zero unless it is alone.
        let canonical = matches!(
            octet,
            [b'0'..=b'9'] | [b'1'..=b'9', b'0'..=b'9'] | [b'1'..=b'9', b'0'..=b'9', b'0'..=b'9']
        );
        let value = || {
            octet
                .iter()
                .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'))
        };
        if octets > 4 || !canonical || value() > 255 {
            return false;
        }
    }
    octets == 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_pieces_and_compression() {
        for ok in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:1.2.3.4",
            "::1.2.3.4",
            "::ffff:192.0.2.128",
            "1::2:3.4.5.6",
            "ABCD:ef01::0",
            "fe80::1",
        ] {
            assert!(is_ipv6(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            ":",
            ":::",
            "1:::2",
            "1::2::3",
            ":1::",
            "::1:",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::8",
            "1:2:3:4:5:6:7:1.2.3.4",
            "12345::",
            "g::",
            "1.2.3.4",
            "::1.2.3.4:1",
            "::1.2.3",
            "::01.2.3.4",
            "::256.2.3.4",
            "fe80::1%25eth0",
        ] {
            assert!(!is_ipv6(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn ipv4_octets_are_canonical_decimals() {
        for ok in ["0.0.0.0", "255.255.255.255", "192.0.2.1", "10.0.100.9"] {
            assert!(is_ipv4(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.0.0.1",
            "01.0.0.1",
            "1..2.3",
            "1.2.3.a",
            "0001.1.1.1",
        ] {
            assert!(!is_ipv4(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn port_suffix_is_empty_or_a_16_bit_number() {
        for ok in ["", ":", ":0", ":80", ":65535", ":000000000080"] {
            assert!(is_port_suffix(ok.as_bytes()), "{ok}");
        }
        for bad in [
            ":65536", ":99999", ":1x", ": 80", ":-1", ":+1", "80", "::80",
        ] {
            assert!(!is_port_suffix(bad.as_bytes()), "{bad}");
        }
    }
}
