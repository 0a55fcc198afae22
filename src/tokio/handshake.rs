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
use crate::handshake::HandshakeLimits;
use crate::handshake::client::{ClientRequest, Response};
use crate::handshake::server::{Accept, Reject, Request, ServerHandshake};
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
    /// subprotocol). A failure has the
    /// [`ClientHandshakeError`](crate::handshake::ClientHandshakeError) as
    /// its source: a server that answered with another status than 101 is
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused), a 101 that
    /// breaks the rules [`InvalidData`](io::ErrorKind::InvalidData) (the
    /// crate's one mapping, in the crate docs' "Errors" table).
    ///
    /// Unless `request` offers permessage-deflate already, it is offered as
    /// `Config::deflate` says (turn it off there to never offer it), as
    /// [`ClientRequest::write`] does.
    pub async fn connect(
        mut io: S,
        request: &ClientRequest,
        mask: impl MaskSource + 'static,
        config: &Config,
        options: Options,
    ) -> io::Result<(WebSocket<S>, Response)> {
        let epoch = TokioInstant::now();
        let limit = options.handshake_timeout;
        let handshake = client_handshake(&mut io, request, mask, config, epoch);
        let (conn, response) = ::tokio::time::timeout(limit, handshake)
            .await
            .map_err(|_| timed_out())??;
        Ok((
            WebSocket::from_connection(io, conn, epoch, options),
            response,
        ))
    }
}

fn timed_out() -> io::Error {
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

async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    request: &ClientRequest,
    mask: impl MaskSource + 'static,
    config: &Config,
    epoch: TokioInstant,
) -> io::Result<(Connection, Response)> {
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
                return Ok((conn, response.clone()));
            }
            Err(error) => return Err(error.into()),
        }
    }
}
