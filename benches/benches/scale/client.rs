//! The load: thousands of client connections that each echo one message
//! and then stay open and idle.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use wscore::Config;
use wscore::extension::deflate::DeflateConfig;
use wscore::handshake::client::ClientRequest;
use wscore::tokio::{Message, Options, WebSocket};

/// Handshakes in progress at once: far below the servers' listen backlog,
/// so no SYN is dropped and retried a second later.
const IN_FLIGHT: usize = 200;

/// The size of the one message each connection sends.
pub const MESSAGE_LEN: usize = 512;

/// What each connection sends once its handshake is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// One [`MESSAGE_LEN`]-byte chat message, whose echo it checks.
    Echo,
    /// The hostile peer of issue 15: a frame header announcing
    /// [`ANNOUNCED`] bytes, then [`SENT`] of them, then nothing.
    Announce,
}

/// The payload length the hostile frame header announces: the default
/// frame and message cap.
pub const ANNOUNCED: u64 = 16 << 20;

/// The payload bytes the hostile peer actually sends.
pub const SENT: usize = 10;

/// The client side of a row: its connections, kept open (and answering
/// the server's Pings) by their tasks until this is dropped.
pub struct Load {
    /// The `Sec-WebSocket-Extensions` the server answered, the same on
    /// every connection (`None`: no extension), or why the load failed.
    pub agreed: Result<Option<String>, String>,
    /// Connections that echoed and have not ended since.
    open: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Load {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Load {
    /// Open `n` connections to `addr`, [`IN_FLIGHT`] at a time, each
    /// echoing one message; returns once every echo is in, one failed, or
    /// `deadline` passed. `deflate`: offer permessage-deflate as a browser
    /// does (`permessage-deflate; client_max_window_bits`).
    pub async fn open(
        addr: SocketAddr,
        deflate: bool,
        traffic: Traffic,
        n: usize,
        deadline: Instant,
    ) -> Load {
        let config = if deflate {
            Config::default()
        } else {
            Config::default().with_deflate(DeflateConfig::DISABLED)
        };
        let gate = Arc::new(Semaphore::new(IN_FLIGHT));
        let open = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            let (gate, tx, config) = (gate.clone(), tx.clone(), config.clone());
            let open = open.clone();
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await.expect("the gate stays open");
                match echo_once(addr, i, &config, traffic).await {
                    Ok((ws, agreed)) => {
                        open.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send(Ok(agreed));
                        drop(permit);
                        stay_idle(ws).await;
                        open.fetch_sub(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("connection {i}: {e}")));
                    }
                }
            }));
        }
        let collect = async {
            let mut agreed = None;
            for done in 1..=n {
                let this = rx.recv().await.expect("every task reports")?;
                match &agreed {
                    None => agreed = Some(this),
                    Some(first) if *first != this => {
                        return Err(format!("agreed {first:?} and, later, {this:?}"));
                    }
                    Some(_) => {}
                }
                if done % 1000 == 0 {
                    eprintln!("scale:   {done} echoed");
                }
            }
            Ok(agreed.flatten())
        };
        let agreed = tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), collect)
            .await
            .unwrap_or_else(|_| Err(format!("not all {n} echoes in time")));
        Load {
            agreed,
            open,
            tasks,
        }
    }

    /// How many connections are still open: a server that drops idle
    /// connections would otherwise look cheap.
    pub fn still_open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// Connect, handshake, send connection `i`'s message and check its echo
/// (or, for [`Traffic::Announce`], send the start of a huge frame).
/// Returns the connection and the server's `Sec-WebSocket-Extensions`.
async fn echo_once(
    addr: SocketAddr,
    i: usize,
    config: &Config,
    traffic: Traffic,
) -> io::Result<(WebSocket<TcpStream>, Option<String>)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    // Keys and nonces need not be unpredictable against our own servers:
    // a xorshift per connection.
    let mut key = (i as u32).wrapping_mul(0x9e37_79b9) | 1;
    let mask = move || {
        key ^= key << 13;
        key ^= key >> 17;
        key ^= key << 5;
        key.to_le_bytes()
    };
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
    let request = ClientRequest::new(addr.to_string(), nonce);
    // The client's memory is not measured, but a 64 KiB read buffer on
    // each of thousands of connections is needless for a 512-byte echo.
    let mut options = Options::default();
    options.read_size = 4 << 10;
    let (mut ws, response) = WebSocket::connect(stream, &request, mask, config, options).await?;
    let agreed = response
        .headers()
        .get("sec-websocket-extensions")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    if traffic == Traffic::Announce {
        // Written under the driver, on the transport: no WebSocket API
        // sends half a frame. Masked, as a client must.
        use tokio::io::AsyncWriteExt;
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend_from_slice(&ANNOUNCED.to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.extend_from_slice(&[0; SENT]);
        ws.get_mut().write_all(&frame).await?;
        return Ok((ws, agreed));
    }
    let message = chat_message(i);
    ws.send_text(&message).await?;
    loop {
        match ws.recv().await {
            Some(Ok(Message::Text(echo))) if echo == message => return Ok((ws, agreed)),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => return Err(io::Error::other(format!("echo: {other:?}"))),
            Some(Err(e)) => return Err(e),
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

/// Keep reading, so the server's Pings are answered (Python websockets
/// sends one every 20 s by default) and the connection stays up until its
/// task is aborted or the server goes away.
async fn stay_idle(mut ws: WebSocket<TcpStream>) {
    while let Some(Ok(_)) = ws.recv().await {}
}

/// Connection `i`'s message: a chat message as JSON, exactly
/// [`MESSAGE_LEN`] bytes of ASCII, a little different per connection.
fn chat_message(i: usize) -> String {
    const WORDS: [&str; 24] = [
        "hey", "did", "you", "see", "the", "new", "build", "it", "is", "out", "on", "staging",
        "and", "looks", "good", "to", "me", "let", "us", "ship", "after", "lunch", "then", "ok",
    ];
    let mut m = format!(
        r#"{{"type":"message","id":{},"room":"general","user":"user{}","ts":{},"text":""#,
        100_000 + i,
        i % 97,
        1_700_000_000_000u64 + 37 * i as u64,
    );
    let end = MESSAGE_LEN - r#""}"#.len();
    for w in WORDS.iter().cycle().skip(i % WORDS.len()) {
        if m.len() + 1 + w.len() > end {
            break;
        }
        m.push(' ');
        m.push_str(w);
    }
    m.extend(std::iter::repeat_n('!', end - m.len()));
    m.push_str(r#""}"#);
    assert_eq!(m.len(), MESSAGE_LEN, "the message is cut to size");
    m
}
