//! The close codes of RFC 6455 section 7.4.1 as `u16` constants, under
//! axum's names (the crate's own are on [`crate::CloseCode`]).

use crate::close::CloseCode;

/// 1000: the purpose of the connection was fulfilled.
pub const NORMAL: u16 = CloseCode::NORMAL.0;

/// 1001: the endpoint is going away (a server going down, a browser
/// leaving the page).
pub const AWAY: u16 = CloseCode::GOING_AWAY.0;

/// 1002: a protocol error.
pub const PROTOCOL: u16 = CloseCode::PROTOCOL_ERROR.0;

/// 1003: a type of data the endpoint cannot accept (e.g. binary where only
/// text is understood).
pub const UNSUPPORTED: u16 = CloseCode::UNSUPPORTED_DATA.0;

/// 1005: the Close had no code. Reported, never sent.
pub const STATUS: u16 = CloseCode::NO_STATUS_RECEIVED.0;

/// 1006: the connection ended without a Close. Reported, never sent.
pub const ABNORMAL: u16 = CloseCode::ABNORMAL.0;

/// 1007: data inconsistent with the message's type (e.g. text that is not
/// UTF-8).
pub const INVALID: u16 = CloseCode::INVALID_PAYLOAD.0;

/// 1008: a message that violates the endpoint's policy, when no more
/// specific code fits.
pub const POLICY: u16 = CloseCode::POLICY_VIOLATION.0;

/// 1009: a message too big to process (what a message over
/// [`max_message_size`](super::WebSocketUpgrade::max_message_size) gets).
pub const SIZE: u16 = CloseCode::MESSAGE_TOO_BIG.0;

/// 1010: the client expected an extension the server did not agree to.
/// Sent by clients only: a server fails the handshake instead.
pub const EXTENSION: u16 = CloseCode::MANDATORY_EXTENSION.0;

/// 1011: the server met an unexpected condition.
pub const ERROR: u16 = CloseCode::INTERNAL_ERROR.0;

/// 1012: the server is restarting.
pub const RESTART: u16 = CloseCode::SERVICE_RESTART.0;

/// 1013: the server is overloaded; try again later (another address, or
/// the same one after a while).
pub const AGAIN: u16 = CloseCode::TRY_AGAIN_LATER.0;
