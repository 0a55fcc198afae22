//! `Sec-WebSocket-Extensions` values (RFC 6455 section 9.1): parsing offers
//! and responses, and writing them.
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! A quoted-string value must unescape to a token (section 9.1), so every
//! value this module hands out or writes is a plain token.

use alloc::string::String;
use alloc::vec::Vec;

use crate::token::{ascii_string, is_ows, is_tchar, is_token};

/// One element of a `Sec-WebSocket-Extensions` list: an extension name and
/// its parameters, in order.
///
/// The same shape serves a client's offer, a server's response and the
/// negotiated result handed to the connection, so an extension such as
/// permessage-deflate reads its parameters from one place.
///
/// Names and values are tokens; a parsed `Extension` always satisfies that,
/// and one the caller builds is checked when it is written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension without parameters, e.g. `Extension::new("permessage-deflate")`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Extension {
        Extension {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Add a parameter without a value, e.g. `client_max_window_bits`.
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>) -> Extension {
        self.params.push((name.into(), None));
        self
    }

    /// Add a parameter with a value, e.g. `server_max_window_bits=10`.
    #[must_use]
    pub fn with_param_value(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Extension {
        self.params.push((name.into(), Some(value.into())));
        self
    }

    /// The extension's name (its registered token).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters in the order they were given: name, and value if any
    /// (quoted values already unescaped).
    #[must_use]
    pub fn params(&self) -> &[(String, Option<String>)] {
        &self.params
    }

    /// The first parameter called `name` (case-sensitive): `None` if absent,
    /// `Some(None)` if present without a value, `Some(Some(v))` with one.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref())
    }

    /// Whether the name, every parameter name and every value are tokens.
    pub(crate) fn is_valid(&self) -> bool {
        is_token(self.name.as_bytes())
            && self.params.iter().all(|(n, v)| {
                is_token(n.as_bytes()) && v.as_ref().is_none_or(|v| is_token(v.as_bytes()))
            })
    }

    /// Append this element in its wire form. Values are tokens, so they never
    /// need quoting.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.as_bytes());
        for (name, value) in &self.params {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(name.as_bytes());
            if let Some(value) = value {
                out.push(b'=');
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
}

/// Append `extensions` as one `Sec-WebSocket-Extensions` value. The caller
/// has checked [`Extension::is_valid`] on each.
pub(crate) fn write_extension_list(extensions: &[Extension], out: &mut Vec<u8>) {
    for (i, ext) in extensions.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        ext.write(out);
    }
}

/// The extension list value was not valid section 9.1 syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidExtensionList;

/// Parse one `Sec-WebSocket-Extensions` field value and append its elements
/// to `out`.
///
/// OWS is allowed around `,`, `;` and `=`, and empty list elements are
/// skipped (RFC 7230 section 7), but the value must hold at least one
/// extension. Linear in the value's length.
pub(crate) fn parse_extension_list(
    value: &[u8],
    out: &mut Vec<Extension>,
) -> Result<(), InvalidExtensionList> {
    let mut p = Parser { s: value, pos: 0 };
    let mut found = false;
    loop {
        p.skip_ows();
        match p.peek() {
            None => break,
            // An empty element.
            Some(b',') => {
                p.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut ext = Extension::new(p.token()?);
        p.skip_ows();
        while p.peek() == Some(b';') {
            p.pos += 1;
            p.skip_ows();
            let name = p.token()?;
            p.skip_ows();
            let value = if p.peek() == Some(b'=') {
                p.pos += 1;
                p.skip_ows();
                let v = if p.peek() == Some(b'"') {
                    p.quoted_token()?
                } else {
                    p.token()?
                };
                p.skip_ows();
                Some(v)
            } else {
                None
            };
            ext.params.push((name, value));
        }
        match p.peek() {
            None | Some(b',') => {}
            Some(_) => return Err(InvalidExtensionList),
        }
        out.push(ext);
        found = true;
    }
    if found {
        Ok(())
    } else {
        Err(InvalidExtensionList)
    }
}

/// A cursor over one field value.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.pos += 1;
        }
    }

    /// A non-empty run of tchars.
    fn token(&mut self) -> Result<String, InvalidExtensionList> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(InvalidExtensionList);
        }
        Ok(ascii_string(&self.s[start..self.pos]))
    }

    /// A quoted-string (RFC 7230 section 3.2.6) whose unescaped content is a
    /// token, as section 9.1 requires of quoted parameter values.
    fn quoted_token(&mut self) -> Result<String, InvalidExtensionList> {
        // Skip the opening quote.
        self.pos += 1;
        let mut value = String::new();
        loop {
            let b = self.peek().ok_or(InvalidExtensionList)?;
            self.pos += 1;
            let c = match b {
                b'"' => break,
                b'\\' => {
                    let escaped = self.peek().ok_or(InvalidExtensionList)?;
                    self.pos += 1;
                    escaped
                }
                _ => b,
            };
            // Anything legal in a quoted-string but not a tchar (space,
            // delimiters, obs-text) is refused here, as is any control byte.
            if !is_tchar(c) {
                return Err(InvalidExtensionList);
            }
            value.push(char::from(c));
        }
        if value.is_empty() {
            return Err(InvalidExtensionList);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse(s: &str) -> Result<Vec<Extension>, InvalidExtensionList> {
        let mut out = Vec::new();
        parse_extension_list(s.as_bytes(), &mut out).map(|()| out)
    }

    #[test]
    fn parses_params_and_quoted_values() {
        let got = parse(
            "permessage-deflate; client_max_window_bits, \
             permessage-deflate ; server_max_window_bits = \"1\\0\" ;x=y,foo",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Extension::new("permessage-deflate").with_param("client_max_window_bits"),
                Extension::new("permessage-deflate")
                    .with_param_value("server_max_window_bits", "10")
                    .with_param_value("x", "y"),
                Extension::new("foo"),
            ]
        );
        assert_eq!(got[1].param("server_max_window_bits"), Some(Some("10")));
        assert_eq!(got[0].param("client_max_window_bits"), Some(None));
        assert_eq!(got[0].param("nope"), None);
    }

    #[test]
    fn refuses_junk() {
        for junk in [
            "",
            " , ",
            "a;",
            "a; =1",
            "a; b=",
            "a; b=\"\"",
            "a; b=\"x y\"",
            "a; b=\"x",
            "a; b=\"x\\",
            "a b",
            "a;b=c d",
            "a,;b",
            "\"a\"",
            "a;b==c",
            "a/b",
            "a; b=\"x\"y",
            "a; b=\"\x01\"",
        ] {
            assert_eq!(parse(junk), Err(InvalidExtensionList), "{junk:?}");
        }
    }

    #[test]
    fn writes_what_it_parses() {
        let exts = vec![
            Extension::new("permessage-deflate")
                .with_param("client_max_window_bits")
                .with_param_value("server_max_window_bits", "12"),
            Extension::new("x-other"),
        ];
        let mut out = Vec::new();
        write_extension_list(&exts, &mut out);
        assert_eq!(
            out,
            b"permessage-deflate; client_max_window_bits; server_max_window_bits=12, x-other"
        );
        let mut back = Vec::new();
        parse_extension_list(&out, &mut back).unwrap();
        assert_eq!(back, exts);
    }
}
