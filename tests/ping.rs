//! Ping, Pong and the keepalive deadlines (RFC 6455 section 5.5.2 and 5.5.3).

mod common;

use std::time::Duration;

use common::*;
use wscore::frame::Opcode;
use wscore::{ClosedReason, Config};

#[test]
fn ping_is_answered_and_reported() {
    let mut p = Pair::new();
    p.client.send_ping(b"are you there").unwrap();
    p.drive();
    assert_eq!(
        p.take_server_events(),
        vec![Ev::Ping(b"are you there".to_vec())]
    );
    assert_eq!(
        p.take_client_events(),
        vec![Ev::Pong(b"are you there".to_vec())]
    );
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut s = server(&cfg(|c| c.auto_pong = false));
    s.handle_input(t(0), &client_frame(0x89, b"x"));
    assert_eq!(events(&mut s), vec![Ev::Ping(b"x".to_vec())]);
    assert_eq!(s.pending_transmit(), 0);
    s.send_pong(b"x").unwrap();
    assert_eq!(parse_wire(&transmit(&mut s))[0].0.opcode, Opcode::Pong);
}

#[test]
fn max_size_ping_is_echoed_whole() {
    let mut s = server(&Config::default());
    s.handle_input(t(0), &client_frame(0x89, &[0xAB; 125]));
    assert_eq!(events(&mut s), vec![Ev::Ping(vec![0xAB; 125])]);
    let out = parse_wire(&transmit(&mut s));
    assert_eq!(out[0].1, vec![0xAB; 125]);
}

fn keepalive() -> Config {
    cfg(|c| {
        c.keepalive_interval = Some(Duration::from_secs(10));
        c.keepalive_timeout = Some(Duration::from_secs(5));
    })
}

#[test]
fn keepalive_pings_an_idle_peer_and_a_live_peer_keeps_the_connection() {
    let mut p = Pair::with_configs(&Config::default(), &keepalive());
    assert_eq!(p.server.poll_timeout(), Some(t(10_000)));
    p.advance(Duration::from_secs(10));
    // The server pinged; the client answered automatically.
    assert_eq!(p.take_client_events(), vec![Ev::Ping(vec![])]);
    assert_eq!(p.take_server_events(), vec![Ev::Pong(vec![])]);
    for _ in 0..5 {
        p.advance(Duration::from_secs(10));
    }
    assert!(!p.server.is_closed());
    // Traffic postpones the keepalive.
    p.advance(Duration::from_secs(9));
    p.client.send_text("hi").unwrap();
    p.drive();
    p.take_client_events();
    p.advance(Duration::from_secs(9));
    assert_eq!(p.take_client_events(), vec![], "no ping 9 s after traffic");
}

#[test]
fn silent_peer_is_declared_dead() {
    let mut s = server(&keepalive());
    s.handle_timeout(t(10_000));
    assert_eq!(parse_wire(&transmit(&mut s))[0].0.opcode, Opcode::Ping);
    // Alive until the timeout's very end (the release timer's deadline
    // comes between and changes nothing)...
    s.handle_timeout(t(14_999));
    assert!(events(&mut s).is_empty());
    assert_eq!(s.poll_timeout(), Some(t(15_000)));
    // ...and dead at it.
    s.handle_timeout(t(15_000));
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::KeepaliveTimeout)]
    );
    assert_eq!(
        ClosedReason::KeepaliveTimeout.code(),
        wscore::CloseCode::ABNORMAL
    );
}

#[test]
fn spurious_timeouts_are_harmless() {
    let mut s = server(&keepalive());
    for ms in [0, 1, 5000, 9999, 9999] {
        s.handle_timeout(t(ms));
    }
    assert_eq!(s.pending_transmit(), 0);
    assert_eq!(events(&mut s), vec![]);
    // Time going backwards is harmless too.
    s.handle_timeout(t(0));
    assert!(!s.is_closed());
}

#[test]
fn no_deadline_without_keepalive() {
    let s = server(&cfg(|c| c.keepalive_interval = None));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn keepalive_is_on_by_default_for_a_public_server() {
    // A Ping after 30 s of silence, dead 30 s later: a peer gone without a
    // FIN is noticed in a minute.
    let mut s = server(&Config::default());
    assert_eq!(s.poll_timeout(), Some(t(30_000)));
    s.handle_timeout(t(30_000));
    assert_eq!(parse_wire(&transmit(&mut s))[0].0.opcode, Opcode::Ping);
    s.handle_timeout(t(59_999));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(t(60_000));
    assert_eq!(
        events(&mut s),
        vec![Ev::Closed(ClosedReason::KeepaliveTimeout)]
    );
}
