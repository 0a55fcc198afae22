//! Every error converts into a `std::io::Error` with the documented kind and
//! the original error inside: one test per row of the README's "Errors"
//! table, the tokio driver's rows included. tests/tokio_driver.rs checks
//! the driver's other rows where it exercises them: a handshake timeout,
//! a bad request, a protocol violation, EOF and the keepalive timeout.
#![cfg(feature = "std")]

use std::io::{self, ErrorKind};

use wscore::handshake::client::{ClientHandshake, ClientRequest};
use wscore::handshake::{BuildError, ClientHandshakeError, HandshakeError};
use wscore::{CloseCode, ClosedReason, ProtocolError, SendError};

/// Convert `e`, check the kind, and check the original comes back intact.
fn check<E>(e: E, kind: ErrorKind)
where
    E: std::error::Error + PartialEq + Clone + Send + Sync + 'static,
    io::Error: From<E>,
{
    let io = io::Error::from(e.clone());
    assert_eq!(io.kind(), kind, "{e}");
    assert_eq!(io.to_string(), e.to_string());
    assert_eq!(io.get_ref().and_then(|i| i.downcast_ref::<E>()), Some(&e));
}

#[test]
fn a_peers_protocol_violation_is_invalid_data() {
    for e in [
        ProtocolError::ReservedBits,
        ProtocolError::InvalidUtf8,
        ProtocolError::MessageTooLarge,
        ProtocolError::InvalidCloseCode(999),
    ] {
        check(e, ErrorKind::InvalidData);
    }
}

#[test]
fn the_callers_send_misuse_is_invalid_input_and_a_send_after_close_a_broken_pipe() {
    check(SendError::Closed, ErrorKind::BrokenPipe);
    for e in [
        SendError::InvalidCloseCode(1005),
        SendError::CloseReasonTooLong,
        SendError::ControlTooLong,
        SendError::NoMessageStarted,
        SendError::MessageInProgress,
        SendError::InvalidUtf8,
        SendError::TransmitPending,
    ] {
        check(e, ErrorKind::InvalidInput);
    }
}

#[test]
fn a_refused_client_request_is_invalid_data() {
    for e in [
        HandshakeError::Malformed,
        HandshakeError::MethodNotAllowed,
        HandshakeError::UnsupportedVersion,
        HandshakeError::HeadTooLong,
    ] {
        check(e, ErrorKind::InvalidData);
    }
}

/// A client handshake fed `response`, which must fail.
fn client_error(response: &str) -> ClientHandshakeError {
    let mut out = Vec::new();
    let mut hs: ClientHandshake = ClientRequest::new("h", [0; 16])
        .write(&wscore::Config::default(), &mut out)
        .unwrap();
    hs.handle_input(response.as_bytes()).unwrap_err()
}

#[test]
fn a_servers_refusal_is_connection_refused_and_a_bad_101_invalid_data() {
    let refused = client_error("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(refused, ClientHandshakeError::Status(_)));
    check(refused, ErrorKind::ConnectionRefused);
    let bad = client_error("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    assert_eq!(bad, ClientHandshakeError::MissingUpgrade);
    check(bad, ErrorKind::InvalidData);
    check(ClientHandshakeError::Malformed, ErrorKind::InvalidData);
}

#[test]
fn a_bad_request_or_response_built_locally_is_invalid_input() {
    for e in [
        BuildError::InvalidHost,
        BuildError::ReservedHeader,
        BuildError::ProtocolNotOffered,
    ] {
        check(e, ErrorKind::InvalidInput);
    }
}

#[test]
fn question_mark_converts_in_an_io_function() {
    fn send(conn: &mut wscore::Connection) -> io::Result<()> {
        conn.close(wscore::Instant::ZERO, wscore::CloseCode::NORMAL, "")?;
        conn.send_text("late")?;
        Ok(())
    }
    let mut conn = wscore::Connection::server(&wscore::Config::default(), wscore::Instant::ZERO);
    assert_eq!(send(&mut conn).unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[test]
fn each_end_but_a_clean_close_is_the_error_a_stream_reports() {
    assert!(
        ClosedReason::Clean {
            code: CloseCode::NORMAL
        }
        .to_io_error()
        .is_none()
    );
    let violation = ClosedReason::ProtocolError(ProtocolError::InvalidUtf8)
        .to_io_error()
        .unwrap();
    assert_eq!(violation.kind(), ErrorKind::InvalidData);
    assert_eq!(
        violation.get_ref().and_then(|e| e.downcast_ref()),
        Some(&ProtocolError::InvalidUtf8)
    );
    for (reason, kind) in [
        (ClosedReason::Eof, ErrorKind::UnexpectedEof),
        (ClosedReason::KeepaliveTimeout, ErrorKind::TimedOut),
        (ClosedReason::CloseTimeout, ErrorKind::TimedOut),
        (ClosedReason::MessageTimeout, ErrorKind::TimedOut),
    ] {
        let e = reason.to_io_error().unwrap();
        assert_eq!(e.kind(), kind, "{reason}");
        assert_eq!(e.to_string(), format!("websocket: {reason}"));
    }
}

#[cfg(feature = "tokio")]
#[path = "common/tokio_pipe.rs"]
#[allow(dead_code)] // this file uses only `run`
mod pipe;

/// The tokio driver converts with the same impls; these are its rows.
#[cfg(feature = "tokio")]
mod tokio_driver {
    use super::pipe::run;
    use std::io::{self, ErrorKind};

    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
    use wscore::handshake::ClientHandshakeError;
    use wscore::handshake::client::ClientRequest;
    use wscore::handshake::server::Reject;
    use wscore::tokio::{Options, WebSocket};
    use wscore::{CloseCode, Config, SendError};

    async fn connect(io: tokio::io::DuplexStream) -> io::Result<()> {
        let request = ClientRequest::new("localhost", [7; 16]);
        let mask = || [1, 2, 3, 4];
        WebSocket::connect(io, &request, mask, &Config::default(), Options::default())
            .await
            .map(|_| ())
    }

    /// The error of a `connect` whose server reads the request and
    /// answers with `response`.
    fn connect_answered_with(response: &'static [u8]) -> io::Error {
        run(async {
            let (a, mut b) = duplex(4096);
            let server = tokio::spawn(async move {
                let mut head = [0; 1024];
                let _ = b.read(&mut head).await.unwrap();
                b.write_all(response).await.unwrap();
                b
            });
            let error = connect(a).await.unwrap_err();
            drop(server.await.unwrap());
            error
        })
    }

    #[test]
    fn a_403_from_connect_is_connection_refused() {
        let error = connect_answered_with(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
        let inner = error.get_ref().and_then(|e| e.downcast_ref());
        assert!(
            matches!(inner, Some(ClientHandshakeError::Status(_))),
            "{error:?}"
        );
    }

    #[test]
    fn a_bad_101_from_connect_is_invalid_data() {
        let error = connect_answered_with(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
        assert_eq!(error.kind(), ErrorKind::InvalidData);
        let inner = error.get_ref().and_then(|e| e.downcast_ref());
        assert_eq!(inner, Some(&ClientHandshakeError::MissingUpgrade));
    }

    #[test]
    fn a_request_the_application_rejects_is_permission_denied() {
        run(async {
            let (mut a, b) = duplex(4096);
            let server = tokio::spawn(async move {
                WebSocket::accept_with(b, &Config::default(), Options::default(), |_| {
                    Err(Reject::new(403))
                })
                .await
                .map(|_| ())
            });
            let mut head = Vec::new();
            let _ = ClientRequest::new("localhost", [1; 16])
                .write(&Config::default(), &mut head)
                .unwrap();
            a.write_all(&head).await.unwrap();
            let error = server.await.unwrap().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::PermissionDenied);
            let mut got = Vec::new();
            a.read_to_end(&mut got).await.unwrap();
            assert!(got.starts_with(b"HTTP/1.1 403"), "{got:?}");
        });
    }

    #[test]
    fn a_transport_that_ends_during_the_handshake_is_unexpected_eof() {
        run(async {
            let (a, b) = duplex(4096);
            drop(a);
            let error = WebSocket::accept(b, &Config::default(), Options::default())
                .await
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
            let (a, b) = duplex(4096);
            drop(b);
            let error = connect(a).await.unwrap_err();
            // The request may not even be written: either way, not data.
            assert!(
                matches!(
                    error.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe
                ),
                "{error:?}"
            );
        });
    }

    /// A send after our Close is the same `BrokenPipe` as in the core, and
    /// a misused command the same `InvalidInput`.
    #[test]
    fn sends_after_close_are_broken_pipe_and_misuse_invalid_input() {
        run(async {
            let (a, b) = duplex(4096);
            let client = tokio::spawn(async move {
                let request = ClientRequest::new("localhost", [7; 16]);
                let (mut ws, _) = WebSocket::connect(
                    a,
                    &request,
                    || [1, 2, 3, 4],
                    &Config::default(),
                    Options::default(),
                )
                .await?;
                let too_long = ws.send_ping(&[0; 126]).await.unwrap_err();
                let _ = ws.close(CloseCode::NORMAL, "").await?;
                let late = ws.send_text("late").await.unwrap_err();
                io::Result::Ok((too_long, late))
            });
            let mut ws = WebSocket::accept(b, &Config::default(), Options::default())
                .await
                .unwrap();
            while ws.recv().await.is_some() {}
            let (too_long, late) = client.await.unwrap().unwrap();
            assert_eq!(too_long.kind(), ErrorKind::InvalidInput);
            assert_eq!(
                too_long.get_ref().and_then(|e| e.downcast_ref()),
                Some(&SendError::ControlTooLong)
            );
            assert_eq!(late.kind(), ErrorKind::BrokenPipe);
            assert_eq!(
                late.get_ref().and_then(|e| e.downcast_ref()),
                Some(&SendError::Closed)
            );
        });
    }
}
