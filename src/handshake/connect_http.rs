//! The extended CONNECT handshake (RFC 8441, RFC 9220) over the [`http`]
//! crate's types (feature `http`), for hyper, h2, h3 and the frameworks on
//! them.
//!
//! `:method`, `:scheme`, `:authority` and `:path` are the request's method
//! and URI. `:protocol` has no place in the `http` crate: each library
//! carries it as a request extension of its own type (`h2::ext::Protocol`,
//! `hyper::ext::Protocol`, `h3::ext::Protocol`), so the server entry takes
//! its value as a `&str` (each of those types has `as_str`) and the client
//! leaves attaching it to the caller, with
//! [`CONNECT_PROTOCOL`](super::CONNECT_PROTOCOL). The core
//! then depends on none of them, and works with any version of each.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};

use super::client::{ClientHandshake, ClientRequest};
use super::connect::{ConnectHead, ExtendedConnectError, validate_connect};
use super::error::BuildError;
use super::header::Headers;
use super::http::{MapSink, status_code};
use super::server::{Reject, Request};
use crate::config::Config;

impl Request {
    /// Validate an extended CONNECT request (RFC 8441 over HTTP/2, RFC
    /// 9220 over HTTP/3) that an HTTP library parsed, with `protocol` the
    /// value of its `:protocol` pseudo-header, which the `http` crate has
    /// no field for. With hyper:
    ///
    /// ```text
    /// let protocol = request.extensions().get::<hyper::ext::Protocol>().map(|p| p.as_str());
    /// let offer = Request::from_extended_connect(&request, protocol)?;
    /// ```
    ///
    /// The checks and their order are those of
    /// [`from_extended_connect_fields`](Self::from_extended_connect_fields),
    /// with the pseudo-headers read from the method and the URI's scheme,
    /// authority and path (with query), and an HTTP/1.x request refused
    /// first ([`ExtendedConnectError::HttpVersion`]): it cannot have come
    /// by extended CONNECT. The body (the stream's DATA) is not looked at.
    ///
    /// Accept with [`accept_http`](Self::accept_http), which answers 200;
    /// refuse with [`ExtendedConnectError::to_http_response`].
    ///
    /// Cost: the URI's parts and every header field are copied into the
    /// [`Request`]; capping the head is the HTTP library's business.
    ///
    /// ```
    /// use wscore::handshake::CONNECT_PROTOCOL;
    /// use wscore::handshake::client::ClientRequest;
    /// use wscore::handshake::server::{Accept, Request};
    /// use wscore::{Config, Event, Instant};
    ///
    /// let (config, now) = (Config::default(), Instant::ZERO);
    ///
    /// // The client's CONNECT; its HTTP/2 library sends `:protocol` from
    /// // a request extension the caller adds (h2::ext::Protocol).
    /// let (request, client) = ClientRequest::new("example.com", [0; 16])
    ///     .target("/chat")
    ///     .to_extended_connect(&config, "https")
    ///     .unwrap();
    /// assert_eq!(request.method(), "CONNECT");
    /// assert_eq!(request.uri(), "https://example.com/chat");
    ///
    /// // The server gets the request and the `:protocol` value.
    /// let offer = Request::from_extended_connect(&request, Some(CONNECT_PROTOCOL)).unwrap();
    /// let (mut server, negotiated, response) =
    ///     offer.accept_http(&Accept::new(), &config, now).unwrap();
    /// assert_eq!(response.status(), 200);
    ///
    /// // The client checks the 200; the stream now carries frames.
    /// let mut client = client.check_http_response(&response).unwrap().open(now, &[], || [1, 2, 3, 4]);
    /// client.send_text("hi").unwrap();
    /// let mut wire = Vec::new();
    /// client.poll_transmit(&mut wire);
    /// server.handle_input(now, &wire);
    /// assert_eq!(server.poll_event(), Some(Event::Text("hi")));
    /// # let _ = negotiated;
    /// ```
    pub fn from_extended_connect<B>(
        request: &http::Request<B>,
        protocol: Option<&str>,
    ) -> Result<Request, ExtendedConnectError> {
        from_connect_head(
            request.method(),
            request.version(),
            request.uri(),
            request.headers(),
            protocol,
        )
    }

    /// [`from_extended_connect`](Self::from_extended_connect) for the head
    /// alone, as `http::Request::into_parts` (or an axum extractor) gives
    /// it; read `protocol` from `parts.extensions`.
    pub fn from_extended_connect_parts(
        parts: &Parts,
        protocol: Option<&str>,
    ) -> Result<Request, ExtendedConnectError> {
        from_connect_head(
            &parts.method,
            parts.version,
            &parts.uri,
            &parts.headers,
            protocol,
        )
    }
}

fn from_connect_head(
    method: &Method,
    version: Version,
    uri: &Uri,
    headers: &HeaderMap,
    protocol: Option<&str>,
) -> Result<Request, ExtendedConnectError> {
    if matches!(
        version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    ) {
        return Err(ExtendedConnectError::HttpVersion);
    }
    validate_connect(ConnectHead {
        method: method.as_str().as_bytes(),
        protocol: protocol.map(str::as_bytes),
        scheme: uri.scheme_str().map(str::as_bytes),
        path: uri.path_and_query().map(|p| p.as_str().as_bytes()),
        authority: uri.authority().map(|a| a.as_str().as_bytes()),
        headers: Headers::from_http(headers),
    })
}

impl ExtendedConnectError {
    /// The response for this error as an [`http::Response`]: the status
    /// and fields of the type's table (`allow: CONNECT` with the 405,
    /// `sec-websocket-version: 13` with a wrong version) and a one-line
    /// body, with no connection-specific field and no `content-length`
    /// (the library frames the body).
    #[must_use]
    pub fn to_http_response(self) -> http::Response<String> {
        let mut sink = MapSink::default();
        self.write_fields(&mut sink);
        let mut body = self.reason().to_string();
        body.push('\n');
        let mut response = http::Response::new(body);
        *response.status_mut() = status_code(self.status());
        // These fields are constants that pass the `http` crate's checks.
        *response.headers_mut() = sink.finish().unwrap_or_default();
        response
    }
}

impl ClientRequest {
    /// Check the request and, only if it is valid, return it as an
    /// extended CONNECT [`http::Request`] (RFC 8441 section 4 and 5):
    /// method CONNECT, version HTTP/2, the URI `scheme://host/target`
    /// (`:scheme`, `:authority`, `:path`), and the fields of
    /// [`to_extended_connect_fields`](Self::to_extended_connect_fields)
    /// (`sec-websocket-version: 13`, origin, the offers of this request
    /// and of `config`, the extras), with the handshake that checks the
    /// answer: pass the response to
    /// [`ClientHandshake::check_http_response`], which accepts 200 only.
    ///
    /// The request carries no `:protocol`: attach
    /// [`CONNECT_PROTOCOL`](super::CONNECT_PROTOCOL) as
    /// your library's extension, e.g.
    /// `request.extensions_mut().insert(h2::ext::Protocol::from_static(CONNECT_PROTOCOL))`,
    /// and send it only once the server's SETTINGS enabled extended
    /// CONNECT (RFC 8441 section 3). For HTTP/3 (RFC 9220), set the version
    /// to `HTTP_3`.
    ///
    /// Refuses with the [`BuildError`]s of
    /// [`to_extended_connect_fields`](Self::to_extended_connect_fields).
    ///
    /// Cost: allocates the URI, the header map and the handshake's copy
    /// of `config` and the offers; no key, no hash.
    pub fn to_extended_connect(
        &self,
        config: &Config,
        scheme: &str,
    ) -> Result<(http::Request<()>, ClientHandshake), BuildError> {
        self.check_connect(scheme)?;
        let uri = Uri::builder()
            .scheme(scheme)
            .authority(self.host_str())
            .path_and_query(self.target_str())
            .build()
            .map_err(|_| BuildError::InvalidTarget)?;
        let offers = self.offers(config);
        let mut sink = MapSink::default();
        self.write_offer_headers(&offers, &mut sink);
        let mut request = http::Request::new(());
        *request.method_mut() = Method::CONNECT;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = sink.finish()?;
        Ok((request, self.connect_handshake(config, offers)))
    }
}

impl Reject {
    /// This refusal as an [`http::Response`] for an HTTP/2 or HTTP/3
    /// library: the status, the extra headers and the body, without the
    /// `Connection: close` of [`to_http_response`](Self::to_http_response)
    /// (hyper would strip it with a warning; HTTP/2 and HTTP/3 forbid it)
    /// and without `Content-Length`, which the library sets.
    ///
    /// Refuses as [`response_fields`](Self::response_fields) does.
    pub fn to_extended_connect_response(&self) -> Result<http::Response<Vec<u8>>, BuildError> {
        self.check()?;
        let mut sink = MapSink::default();
        for (name, value) in &self.headers {
            super::write::HeaderSink::header(&mut sink, name, value);
        }
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() = status_code(self.status);
        *response.headers_mut() = sink.finish()?;
        Ok(response)
    }
}
