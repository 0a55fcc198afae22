//! Every error converts into a `std::io::Error` with the documented kind and
//! the original error inside.
#![cfg(feature = "std")]

use std::io::{self, ErrorKind};

use wscore::handshake::client::{ClientHandshake, ClientRequest};
use wscore::handshake::{BuildError, ClientHandshakeError, HandshakeError};
use wscore::{ProtocolError, SendError};

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
    let mut hs: ClientHandshake = ClientRequest::new("h", [0; 16]).write(&mut out).unwrap();
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
