//! The tokio driver against a hostile peer and a careless application: a
//! peer that stops reading, vanishes mid-close, floods; an application that
//! sends after the end, cancels at random, polls halves from two tasks or
//! from one `select!`, panics in `recv_with`. Every test is bounded by a
//! timeout, so a hang fails instead of stalling the run.

#[path = "common/tokio_pipe.rs"]
mod pipe;

use std::io;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pipe::{pair, run};
use tokio::time::timeout;
use wscore::ClosedReason;
use wscore::Config;
use wscore::tokio::Options;

/// Longer than anything a test waits for on the paused clock: a timeout
/// past it is a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// A config without permessage-deflate, so sizes on the wire are the
/// payloads'.
fn plain() -> Config {
    Config::default().with_deflate(wscore::extension::deflate::DeflateConfig::DISABLED)
}

/// A connection that ends while the peer reads nothing (keepalive gives up
/// on it) must not leave a send waiting forever: once the end is reported
/// no more bytes will be written, so the send is refused, not parked on a
/// transport nobody drains. Before the fix, the drain gave up after its
/// timeout and the writing half, woken by the end, went back to waiting
/// for the peer to read.
#[test]
fn a_send_stuck_on_a_peer_that_never_reads_is_released_by_the_end() {
    run(async {
        let mut config = plain();
        config.keepalive_interval = Some(Duration::from_secs(1));
        config.keepalive_timeout = Some(Duration::from_secs(1));
        // The client is never polled again: it reads nothing.
        let (_client, server) = pair(1024, config, Options::default()).await;
        let (mut rx, mut tx) = server.split();
        let writer = tokio::spawn(async move { tx.send_binary(&[7; 100_000]).await });
        let reader = tokio::spawn(async move {
            let mut end = None;
            while let Some(message) = rx.next().await {
                if let Err(e) = message {
                    end = Some(e.kind());
                }
            }
            (end, rx.closed_reason())
        });
        let (end, reason) = timeout(LIMIT, reader)
            .await
            .expect("the reader ends")
            .unwrap();
        assert_eq!(end, Some(io::ErrorKind::TimedOut));
        assert_eq!(reason, Some(ClosedReason::KeepaliveTimeout));
        let sent = timeout(LIMIT, writer)
            .await
            .expect("the end releases the writer")
            .unwrap();
        assert_eq!(sent.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    });
}

/// The same on the whole socket: after the end, `flush` (and the `Sink`'s
/// `poll_close`, which flushes) with bytes the drain could not write
/// returns at once.
#[test]
fn flushing_after_the_end_never_waits_on_a_peer_that_never_reads() {
    run(async {
        let mut config = plain();
        config.keepalive_interval = Some(Duration::from_secs(1));
        config.keepalive_timeout = Some(Duration::from_secs(1));
        let (_client, mut server) = pair(1024, config, Options::default()).await;
        // Queued, partly written, then cut short.
        let cut = timeout(Duration::from_millis(1), server.send_binary(&[7; 100_000])).await;
        assert!(cut.is_err());
        let end = timeout(LIMIT, async {
            while let Some(message) = server.recv().await {
                if let Err(e) = message {
                    return Some(e.kind());
                }
            }
            None
        })
        .await
        .expect("keepalive ends it");
        assert_eq!(end, Some(io::ErrorKind::TimedOut));
        let flushed = timeout(LIMIT, server.flush()).await.expect("flush returns");
        assert_eq!(flushed.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        let closed = timeout(LIMIT, SinkExt::close(&mut server))
            .await
            .expect("the Sink's close returns");
        assert_eq!(closed.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    });
}
