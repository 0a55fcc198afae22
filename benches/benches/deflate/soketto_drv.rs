//! soketto (feature `deflate`): its own handshake (`handshake::Client` /
//! `handshake::Server`, each with a `extension::deflate::Deflate` added)
//! over the in-memory duplex, run to completion with both ends polled
//! together; then `into_builder().finish()` gives each end its `Sender` and
//! `Receiver`. A round trip is `send_text` + `flush`, `receive_data` into a
//! reused `Vec`, and the same back. soketto hands out bytes, not text, so
//! the driver checks UTF-8 with `std::str::from_utf8` on each receipt (it
//! needs a `&str` to echo with `send_text` anyway), as wscore does inside
//! the connection. Its deflate always negotiates no context takeover both
//! ways (the client offers it and requires the server to confirm it) and
//! compresses at `Compression::fast()`; neither is configurable in 0.8.1.

use futures_util::future::join;
use soketto::connection::{Receiver, Sender};
use soketto::extension::deflate::Deflate;
use soketto::handshake::{Client, Server, ServerResponse, server::Response};
use soketto::{Data, Mode};
use tokio::runtime::Runtime;

use crate::Wire;
use crate::duplex::{self, End, Meter};

pub struct Pair {
    client: (Sender<End>, Receiver<End>),
    server: (Sender<End>, Receiver<End>),
    meter: Meter,
    buf: Vec<u8>,
}

pub fn connect(rt: &Runtime) -> Pair {
    let (c, s) = duplex::pair();
    let meter = c.meter();
    let client = async move {
        let mut client = Client::new(c, "localhost", "/");
        client.add_extension(Box::new(Deflate::new(Mode::Client)));
        match client.handshake().await.expect("soketto: client handshake") {
            ServerResponse::Accepted { .. } => {}
            other => panic!("soketto: {other:?}"),
        }
        client.into_builder().finish()
    };
    let server = async move {
        let mut server = Server::new(s);
        server.add_extension(Box::new(Deflate::new(Mode::Server)));
        let key = server
            .receive_request()
            .await
            .expect("soketto: request")
            .key();
        let accept = Response::Accept {
            key,
            protocol: None,
        };
        server
            .send_response(&accept)
            .await
            .expect("soketto: response");
        server.into_builder().finish()
    };
    let (client, server) = rt.block_on(join(client, server));
    assert_eq!(meter.unread(), 0, "soketto: handshake left bytes behind");
    meter.strict();
    Pair {
        client,
        server,
        meter,
        buf: Vec::with_capacity(8 << 10),
    }
}

/// One pass over `corpus` (see `wscore_drv::round_trips`).
pub fn round_trips(rt: &Runtime, p: &mut Pair, corpus: &[String]) -> Wire {
    let before = p.meter.written();
    rt.block_on(async {
        let Pair {
            client,
            server,
            buf,
            ..
        } = p;
        for msg in corpus {
            client.0.send_text(msg).await.expect("soketto: client send");
            client.0.flush().await.expect("soketto: client flush");
            buf.clear();
            let data = server
                .1
                .receive_data(buf)
                .await
                .expect("soketto: server recv");
            assert!(
                matches!(data, Data::Text(_)),
                "soketto: server got {data:?}"
            );
            let text = std::str::from_utf8(buf).expect("soketto: server got bad UTF-8");
            assert_eq!(text, msg, "soketto: server got a different message");
            server
                .0
                .send_text(text)
                .await
                .expect("soketto: server send");
            server.0.flush().await.expect("soketto: server flush");
            buf.clear();
            let data = client
                .1
                .receive_data(buf)
                .await
                .expect("soketto: client recv");
            assert!(
                matches!(data, Data::Text(_)),
                "soketto: client got {data:?}"
            );
            let text = std::str::from_utf8(buf).expect("soketto: client got bad UTF-8");
            assert_eq!(text, msg, "soketto: client got a different echo");
        }
    });
    assert_eq!(p.meter.unread(), 0, "soketto: bytes left unread");
    let after = p.meter.written();
    Wire {
        c2s: after.0 - before.0,
        s2c: after.1 - before.1,
    }
}
