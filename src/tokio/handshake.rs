//! The opening handshake over a tokio transport, bounded in time.

use alloc::vec;
use alloc::vec::Vec;
use std::io;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::time::Instant as TokioInstant;

use super::{Options, WebSocket};
use crate::config::Config;
use crate::connection::{Connection, MaskSource};
use crate::frame::Status;
use crate::handshake::client::{ClientRequest, Response};
use crate::handshake::server::{Accept, Reject, Request, ServerHandshake};
use crate::handshake::{ClientHandshakeError, HandshakeLimits, RejectedResponse};
use crate::time::Instant;

/// Bytes per read during the handshake: a typical request head fits.
const HANDSHAKE_READ: usize = 4096;

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Answer a client's opening handshake on `io` with the defaults (no
    /// subprotocol; permessage-deflate as `Config::deflate` says), within
    /// [`Options::handshake_timeout`]. See [`accept_with`](Self::accept_with).
    pub async fn accept(io: S, config: &Config, options: Options) -> io::Result<WebSocket<S>> {
        WebSocket::accept_with(io, config, options, |_| Ok(Accept::new())).await
    }

    /// Read a client's opening handshake on `io`, let `decide` accept it
    /// (choosing a subprotocol, adding headers) or reject it with an HTTP
    /// response, and answer. The whole exchange must end within
    /// [`Options::handshake_timeout`] ([`TimedOut`](io::ErrorKind::TimedOut)
    /// otherwise). An invalid request gets the HTTP error response the
    /// handshake layer wrote, and [`InvalidData`](io::ErrorKind::InvalidData);
    /// a rejected one gets the rejection, and
    /// [`PermissionDenied`](io::ErrorKind::PermissionDenied). Frames the
    /// client sent behind its request are kept for the connection.
    ///
    /// Unless the [`Accept`] from `decide` has a permessage-deflate element
    /// already, permessage-deflate is accepted as `Config::deflate` says
    /// (turn it off there to never accept it), as
    /// [`Request::accept`] does.
    pub async fn accept_with(
        mut io: S,
        config: &Config,
        options: Options,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> io::Result<WebSocket<S>> {
        let epoch = TokioInstant::now();
        let limit = options.handshake_timeout;
        let conn = ::tokio::time::timeout(limit, server_handshake(&mut io, config, epoch, decide))
            .await
            .map_err(|_| timed_out())??;
        Ok(WebSocket::from_connection(io, conn, epoch, options))
    }

    /// Run a client's opening handshake on `io`, a transport already
    /// connected to the server: write `request`, read and check the
    /// server's answer, within [`Options::handshake_timeout`]. `mask`
    /// supplies the masking keys (see [`Connection::client`]). Returns the
    /// connection and the server's 101 response (its negotiated
    /// subprotocol). A failure has the [`ClientHandshakeError`] as its
    /// source: a server that answered with another status than 101 is
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused), with the
    /// [`RejectedResponse`] and its body (read until its end, the end of
    /// the transport, [`RejectedResponse::MAX_BODY`] or the handshake's
    /// deadline, whichever comes first), a 101 that
    /// breaks the rules [`InvalidData`](io::ErrorKind::InvalidData) (the
    /// crate's one mapping, in the crate docs' "Errors" table).
    ///
    /// Unless `request` offers permessage-deflate already, it is offered as
    /// `Config::deflate` says (turn it off there to never offer it), as
    /// [`ClientRequest::write`] does.
    pub async fn connect(
        io: S,
        request: &ClientRequest,
        mask: impl MaskSource + 'static,
        config: &Config,
        options: Options,
    ) -> io::Result<(WebSocket<S>, Response)> {
        let deadline = TokioInstant::now() + options.handshake_timeout;
        WebSocket::connect_by(io, request, mask, config, options, deadline).await
    }

    /// [`connect`](Self::connect), due by `deadline` rather than
    /// [`Options::handshake_timeout`] from now: `wscore::tokio::connect`
    /// counts the TCP connect and the TLS handshake in the same time.
    pub(super) async fn connect_by(
        mut io: S,
        request: &ClientRequest,
        mask: impl MaskSource + 'static,
        config: &Config,
        options: Options,
        deadline: TokioInstant,
    ) -> io::Result<(WebSocket<S>, Response)> {
        let epoch = TokioInstant::now();
        let handshake = client_handshake(&mut io, request, mask, config, epoch);
        match ::tokio::time::timeout_at(deadline, handshake).await {
            Err(_) => Err(timed_out()),
            Ok(Err(e)) => Err(e),
            Ok(Ok(Ok((conn, response)))) => Ok((
                WebSocket::from_connection(io, conn, epoch, options),
                response,
            )),
            Ok(Ok(Err(mut rejected))) => {
                // What the server said is worth more than a timeout: the
                // refusal comes back with the body read by the deadline.
                let _ =
                    ::tokio::time::timeout_at(deadline, read_body(&mut io, &mut rejected)).await;
                Err(ClientHandshakeError::Status(rejected).into())
            }
        }
    }
}

/// Read the body of a refusal into it, until its framing says it is whole,
/// [`RejectedResponse::MAX_BODY`] is reached or the transport ends (or
/// fails: the refusal is the error worth reporting).
async fn read_body<S: AsyncRead + Unpin>(io: &mut S, rejected: &mut RejectedResponse) {
    if rejected.handle_body(&[]) == Status::Complete(()) {
        return;
    }
    let mut buf = vec![0u8; HANDSHAKE_READ];
    while let Ok(n @ 1..) = io.read(&mut buf).await {
        if rejected.handle_body(&buf[..n]) == Status::Complete(()) {
            return;
        }
    }
}

pub(super) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "websocket handshake timed out")
}

fn now(epoch: TokioInstant) -> Instant {
    Instant::from_elapsed(TokioInstant::now().saturating_duration_since(epoch))
}

async fn server_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    config: &Config,
    epoch: TokioInstant,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> io::Result<Connection> {
    let mut handshake = ServerHandshake::new(HandshakeLimits::default());
    let mut buf = vec![0u8; HANDSHAKE_READ];
    let mut response = Vec::new();
    loop {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection during the handshake",
            ));
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => continue,
            Ok(Status::Complete((request, used))) => {
                let (conn, _) = match decide(request) {
                    Ok(accept) => {
                        request.accept(&accept, config, now(epoch), &buf[used..n], &mut response)?
                    }
                    Err(reject) => {
                        reject.write(&mut response)?;
                        answer_and_close(io, &response).await;
                        return Err(io::Error::new(
                            io::ErrorKind::PermissionDenied,
                            "the application rejected the websocket handshake",
                        ));
                    }
                };
                io.write_all(&response).await?;
                io.flush().await?;
                return Ok(conn);
            }
            Err(error) => {
                answer_and_close(io, &error.response()).await;
                return Err(error.into());
            }
        }
    }
}

/// Send an HTTP error response and shut the transport down; errors are
/// dropped, the handshake failed already.
async fn answer_and_close<S: AsyncWrite + Unpin>(io: &mut S, response: &[u8]) {
    let _ = io.write_all(response).await;
    let _ = io.shutdown().await;
}

/// The client's exchange: `Ok(Err(_))` is a refusal whose body is still to
/// be read.
async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    request: &ClientRequest,
    mask: impl MaskSource + 'static,
    config: &Config,
    epoch: TokioInstant,
) -> io::Result<Result<(Connection, Response), RejectedResponse>> {
    let mut head = Vec::new();
    let mut handshake = request.write(config, &mut head)?;
    io.write_all(&head).await?;
    io.flush().await?;
    let mut buf = vec![0u8; HANDSHAKE_READ];
    loop {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the handshake",
            ));
        }
        match handshake.handle_input(&buf[..n]) {
            Ok(Status::Partial) => continue,
            Ok(Status::Complete((response, used))) => {
                let conn = response.open(now(epoch), &buf[used..n], mask);
                return Ok(Ok((conn, response.clone())));
            }
            Err(ClientHandshakeError::Status(rejected)) => return Ok(Err(rejected)),
            Err(error) => return Err(error.into()),
        }
    }
}
