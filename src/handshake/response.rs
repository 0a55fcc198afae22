//! What a server writes: the 101 that accepts a handshake ([`Accept`]) and a
//! response that refuses it ([`Reject`]), and the check of the extra headers
//! an application adds to them or to a client request.

use alloc::string::String;
use alloc::vec::Vec;

use super::Negotiated;
use super::error::BuildError;
use super::header::{accept_key, is_field_value, is_token};
use super::write::{HeaderSink, write_content_length, write_header, write_status_line};
use crate::config::Config;
use crate::extension::{self, Extension, write_extension_list};

/// Headers the handshake writes itself; the caller may not add them as
/// extras, since a second copy would contradict ours.
const RESERVED: &[&str] = &[
    "upgrade",
    "connection",
    "host",
    "origin",
    "content-length",
    "transfer-encoding",
    "sec-websocket-key",
    "sec-websocket-accept",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// Check a caller-supplied extra header.
pub(crate) fn check_extra_header(name: &str, value: &[u8]) -> Result<(), BuildError> {
    if !is_token(name.as_bytes()) {
        return Err(BuildError::InvalidHeaderName);
    }
    if !is_field_value(value) {
        return Err(BuildError::InvalidHeaderValue);
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(BuildError::ReservedHeader);
    }
    Ok(())
}

/// How a server accepts a handshake: the subprotocol and extensions it
/// chose, and any extra headers (cookies, for instance) for the 101.
///
/// Pass it to [`Request::accept`](super::server::Request::accept), which
/// checks it against the request, writes the response and returns the
/// connection (or, for a request that came by extended CONNECT over
/// HTTP/2 or HTTP/3, to
/// [`Request::accept_fields`](super::server::Request::accept_fields) or
/// `accept_http`, which answer 200 with the same choices). The extensions answered are those added with
/// [`extension`](Self::extension) followed by what the [`Config`] given
/// to `accept` accepts: permessage-deflate as [`Config::deflate`] says,
/// unless this `Accept` answers it by hand already. So `Accept::new()`
/// accepts permessage-deflate under the default config, and a config with
/// [`DeflateConfig::DISABLED`](crate::extension::deflate::DeflateConfig::DISABLED)
/// never does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Accept {
    protocol: Option<String>,
    extensions: Vec<Extension>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Accept {
    /// Accept with no subprotocol, no extensions and no extra headers.
    pub fn new() -> Accept {
        Accept::default()
    }

    /// Choose a subprotocol; it must be one the client offered (section
    /// 4.2.2 item 5.4).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Accept {
        self.protocol = Some(protocol.into());
        self
    }

    /// Accept an extension, with the parameters of the server's response;
    /// its name must be one the client offered (section 9.1). The order of
    /// calls is the order in the response, which is the order the
    /// extensions apply in.
    pub fn extension(mut self, extension: Extension) -> Accept {
        self.extensions.push(extension);
        self
    }

    /// Add an extra header to the 101 response.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Accept {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Check this choice against the client's offer (the subprotocol and
    /// each extension's name must be offered, an element of an extension
    /// this crate knows must answer an offer of it by its rules, the
    /// extras must be well-formed) and return what is agreed: this choice
    /// plus what `config` accepts.
    pub(crate) fn agree(
        &self,
        config: &Config,
        offered_protocols: &[String],
        offered_extensions: &[Extension],
    ) -> Result<Negotiated, BuildError> {
        if let Some(p) = &self.protocol {
            if !offered_protocols.iter().any(|o| o == p) {
                return Err(BuildError::ProtocolNotOffered);
            }
        }
        for ext in &self.extensions {
            if !ext.is_valid() {
                return Err(BuildError::InvalidExtension);
            }
            if !offered_extensions.iter().any(|o| o.name() == ext.name()) {
                return Err(BuildError::ExtensionNotOffered);
            }
        }
        extension::check_answer(offered_extensions, &self.extensions)
            .map_err(|_| BuildError::InvalidExtensionResponse)?;
        for (name, value) in &self.headers {
            check_extra_header(name, value)?;
        }
        Ok(Negotiated {
            protocol: self.protocol.clone(),
            extensions: extension::answer(config, offered_extensions, &self.extensions),
        })
    }

    /// The header fields of the 101 (section 4.2.2 item 5) that agrees to
    /// `agreed`, as [`agree`](Self::agree) returned it.
    pub(crate) fn write_headers(&self, key: &str, agreed: &Negotiated, out: &mut impl HeaderSink) {
        out.header("Upgrade", b"websocket");
        out.header("Connection", b"Upgrade");
        out.header(
            "Sec-WebSocket-Accept",
            accept_key(key.as_bytes()).as_bytes(),
        );
        self.write_agreed(agreed, out);
    }

    /// The header fields that state what was agreed, then the extras: all
    /// of the 101 but the upgrade's own fields, and all of the 200 that
    /// answers an extended CONNECT (RFC 8441 section 5), which carries no
    /// `Upgrade`, `Connection` or `Sec-WebSocket-Accept`.
    pub(crate) fn write_agreed(&self, agreed: &Negotiated, out: &mut impl HeaderSink) {
        if let Some(p) = &agreed.protocol {
            out.header("Sec-WebSocket-Protocol", p.as_bytes());
        }
        if !agreed.extensions.is_empty() {
            let mut list = Vec::new();
            write_extension_list(&agreed.extensions, &mut list);
            out.header("Sec-WebSocket-Extensions", &list);
        }
        for (name, value) in &self.headers {
            out.header(name, value);
        }
    }
}

/// A complete HTTP response that refuses a handshake: any final status,
/// extra headers and a body. The application's policy decides (an Origin
/// not on the allow-list, failed authentication, a redirect).
///
/// ```
/// use wscore::handshake::server::Reject;
///
/// let mut out = Vec::new();
/// Reject::new(403).body("origin not allowed").write(&mut out).unwrap();
/// assert!(out.starts_with(b"HTTP/1.1 403 Forbidden\r\n"));
/// assert!(out.ends_with(b"Content-Length: 18\r\n\r\norigin not allowed"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Reject {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, Vec<u8>)>,
    pub(super) body: Vec<u8>,
}

impl Reject {
    /// A rejection with `status` (200-999), no extra headers and no body.
    pub fn new(status: u16) -> Reject {
        Reject {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Add a header, e.g. `Location` for a redirect or `WWW-Authenticate`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Reject {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Set the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reject {
        self.body = body.into();
        self
    }

    /// The status, once checked, and the extra headers checked: what both
    /// writers need.
    pub(crate) fn check(&self) -> Result<(), BuildError> {
        // 1xx responses are interim and carry no body (RFC 7231 section 6.2).
        if !(200..=999).contains(&self.status) {
            return Err(BuildError::InvalidStatus);
        }
        for (name, value) in &self.headers {
            check_extra_header(name, value)?;
        }
        Ok(())
    }

    /// Append the response to `out`: the status line, the extra headers,
    /// `Connection: close`, `Content-Length`, and the body. Send it, then
    /// close the transport.
    ///
    /// Refuses, writing nothing: [`BuildError::InvalidStatus`] outside
    /// 200-999, and [`BuildError::InvalidHeaderName`],
    /// [`BuildError::InvalidHeaderValue`] or [`BuildError::ReservedHeader`]
    /// for an extra header.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), BuildError> {
        self.check()?;
        write_status_line(out, self.status);
        for (name, value) in &self.headers {
            write_header(out, name, value);
        }
        write_header(out, "Connection", b"close");
        write_content_length(out, self.body.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_refuses_interim_status_and_reserved_headers() {
        let mut out = Vec::new();
        assert_eq!(
            Reject::new(101).write(&mut out),
            Err(BuildError::InvalidStatus)
        );
        assert_eq!(
            Reject::new(1000).write(&mut out),
            Err(BuildError::InvalidStatus)
        );
        assert_eq!(
            Reject::new(400)
                .header("Content-Length", "3")
                .write(&mut out),
            Err(BuildError::ReservedHeader)
        );
        assert_eq!(
            Reject::new(400).header("X", "a\r\nb").write(&mut out),
            Err(BuildError::InvalidHeaderValue)
        );
        assert!(out.is_empty());
    }
}
