#![doc = include_str!("lib.md")]
// The guide links the drivers' items. docs.rs builds with every feature,
// and CI checks the links there with `-D warnings`; a build without a
// driver's feature cannot resolve them, and should not fail for it.
#![cfg_attr(
    not(all(feature = "tokio", feature = "axum", feature = "rustls")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![no_std]
// `deny`, not `forbid`: src/connection/recv.rs allows one block (the
// second UTF-8 pass it saves is measured in BENCHMARKS.md, W3a).
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "axum")]
pub mod axum;
pub mod close;
pub mod config;
pub mod connection;
pub mod error;
pub mod extension;
pub mod frame;
pub mod handshake;
#[cfg(feature = "std")]
mod io_error;
pub mod role;
pub mod time;
mod token;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use close::CloseCode;
pub use config::Config;
pub use connection::{
    ClosedReason, Connection, Event, MaskSource, MessageKind, PreparedMessage, Sender,
};
pub use error::{ProtocolError, SendError};
/// permessage-deflate, at its old path; it lives in [`extension::deflate`].
#[cfg(feature = "deflate")]
#[doc(no_inline)]
pub use extension::deflate;
/// The outcome of every incremental parser in the crate (defined in
/// [`frame`], re-exported for the handshakes and for short imports).
pub use frame::Status;
pub use role::Role;
pub use time::Instant;

/// The README's examples, compiled and run as doctests (the crate's own
/// docs are `src/lib.md`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
