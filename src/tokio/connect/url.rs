//! `ws://` and `wss://` URLs (RFC 6455 section 3): where to connect, what
//! to send as `Host`, and the request target.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use std::io;

use http::Uri;

/// A `ws://` or `wss://` URL for [`connect`](super::connect): a `&str`, a
/// `String` or an [`http::Uri`]. Sealed: the crate parses it.
pub trait IntoUrl: sealed::Sealed {
    /// The URL as an [`http::Uri`]; [`InvalidInput`](io::ErrorKind::InvalidInput)
    /// if it does not parse or has a fragment (section 3: "MUST NOT be used").
    fn into_uri(self) -> io::Result<Uri>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &str {}
    impl Sealed for alloc::string::String {}
    impl Sealed for &alloc::string::String {}
    impl Sealed for http::Uri {}
    impl Sealed for &http::Uri {}
}

impl IntoUrl for &str {
    fn into_uri(self) -> io::Result<Uri> {
        // `http::Uri` drops a fragment silently; section 3 forbids one.
        if self.contains('#') {
            return Err(invalid(format!("a websocket URL has no fragment: {self}")));
        }
        self.parse()
            .map_err(|e| invalid(format!("invalid websocket URL {self:?}: {e}")))
    }
}

impl IntoUrl for String {
    fn into_uri(self) -> io::Result<Uri> {
        self.as_str().into_uri()
    }
}

impl IntoUrl for &String {
    fn into_uri(self) -> io::Result<Uri> {
        self.as_str().into_uri()
    }
}

impl IntoUrl for Uri {
    fn into_uri(self) -> io::Result<Uri> {
        Ok(self)
    }
}

impl IntoUrl for &Uri {
    fn into_uri(self) -> io::Result<Uri> {
        Ok(self.clone())
    }
}

pub(in crate::tokio) fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// What a URL says about the connection.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::tokio) struct Target {
    pub(in crate::tokio) tls: bool,
    /// The host to resolve or connect to: an IPv6 literal without brackets.
    pub(in crate::tokio) host: String,
    pub(in crate::tokio) port: u16,
    /// The `Host` header: the host as written (IPv6 in brackets), with
    /// `:port` only when it is not the scheme's default.
    pub(in crate::tokio) authority: String,
    /// Path and query, `/` when the path is empty (section 3).
    pub(in crate::tokio) target: String,
}

impl Target {
    pub(super) fn parse(uri: &Uri) -> io::Result<Target> {
        Target::parse_schemes(uri, false)
    }

    /// [`parse`](Self::parse), taking `http` and `https` as `ws` and `wss`
    /// too if `http_too`: an HTTP/2 connection is named either way.
    pub(in crate::tokio) fn parse_schemes(uri: &Uri, http_too: bool) -> io::Result<Target> {
        let scheme = uri.scheme_str().unwrap_or("");
        let is = |name: &str| scheme.eq_ignore_ascii_case(name);
        let (tls, default_port) = if is("ws") || (http_too && is("http")) {
            (false, 80)
        } else if is("wss") || (http_too && is("https")) {
            (true, 443)
        } else if http_too {
            return Err(invalid(format!(
                "not a ws://, wss://, http:// or https:// URL: {uri}"
            )));
        } else {
            return Err(invalid(format!(
                "not a ws:// or wss:// URL: {uri} (http and https are not websocket schemes)"
            )));
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid(format!("no host in {uri}")))?
            .as_str();
        // Credentials in the URL would go nowhere: a WebSocket client
        // sends them as a header, which `ConnectOptions::header` adds.
        if authority.contains('@') {
            return Err(invalid(format!(
                "user information in a websocket URL is not sent; use an Authorization header: {uri}"
            )));
        }
        let written_host = uri.host().unwrap_or("");
        if written_host.is_empty() {
            return Err(invalid(format!("no host in {uri}")));
        }
        // `Uri::port_u16` is `None` for a port out of range as for none at
        // all: tell them apart from what follows the host.
        let port = match &authority[written_host.len()..] {
            "" | ":" => default_port,
            suffix => suffix[1..]
                .parse::<u16>()
                .map_err(|_| invalid(format!("invalid port in {uri}")))?,
        };
        let host = written_host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(written_host)
            .to_owned();
        let authority = if port == default_port {
            written_host.to_owned()
        } else {
            format!("{written_host}:{port}")
        };
        let target = match uri.query() {
            Some(query) => format!("{}?{query}", uri.path()),
            None => uri.path().to_owned(),
        };
        let target = if target.starts_with('/') {
            target
        } else {
            format!("/{target}")
        };
        Ok(Target {
            tls,
            host,
            port,
            authority,
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> io::Result<Target> {
        Target::parse(&url.into_uri()?)
    }

    fn target(tls: bool, host: &str, port: u16, authority: &str, target: &str) -> Target {
        Target {
            tls,
            host: host.into(),
            port,
            authority: authority.into(),
            target: target.into(),
        }
    }

    #[test]
    fn urls_give_address_host_header_and_target() {
        let cases = [
            (
                "ws://example.com",
                target(false, "example.com", 80, "example.com", "/"),
            ),
            (
                "ws://example.com:80/a",
                target(false, "example.com", 80, "example.com", "/a"),
            ),
            (
                "WSS://Example.com:443",
                target(true, "Example.com", 443, "Example.com", "/"),
            ),
            (
                "wss://example.com:80",
                target(true, "example.com", 80, "example.com:80", "/"),
            ),
            (
                "ws://h:9001/p/q?x=1&y",
                target(false, "h", 9001, "h:9001", "/p/q?x=1&y"),
            ),
            ("ws://h?x", target(false, "h", 80, "h", "/?x")),
            ("ws://h:/x", target(false, "h", 80, "h", "/x")),
            (
                "ws://[::1]:9001/x",
                target(false, "::1", 9001, "[::1]:9001", "/x"),
            ),
            ("wss://[::1]", target(true, "::1", 443, "[::1]", "/")),
            (
                "ws://127.0.0.1:8080",
                target(false, "127.0.0.1", 8080, "127.0.0.1:8080", "/"),
            ),
        ];
        for (url, want) in cases {
            assert_eq!(parse(url).unwrap(), want, "{url}");
        }
    }

    #[test]
    fn other_urls_are_invalid_input() {
        for url in [
            "http://example.com/",
            "https://example.com/",
            "example.com",
            "/path",
            "ws://h:99999/",
            "ws://h:x/",
            "ws://u:p@h/",
            "ws://h/#frag",
            "ws:///x",
        ] {
            let e = parse(url).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{url}: {e}");
        }
    }
}
