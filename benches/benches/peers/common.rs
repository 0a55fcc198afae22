//! What every driver shares: the in-memory transport, the tally a receiver
//! keeps, the inputs (built once, before any timing) and the check of what a
//! sender wrote.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;

/// One end of an in-memory connection, shared by the harness and a driver.
///
/// Reads serve the loaded input and return at most `max_read` bytes each,
/// as a socket returns what has arrived; an exhausted input reads as EOF, so
/// a driver that wants more than the input holds fails instead of hanging.
/// Writes always succeed in full and append to `out`, which the harness
/// checks and empties between runs. It is the same stream for the std and
/// the tokio peers: every poll is `Ready`.
#[derive(Clone)]
pub struct Pipe(Rc<RefCell<PipeState>>);

struct PipeState {
    input: Bytes,
    pos: usize,
    max_read: usize,
    out: Vec<u8>,
}

impl Pipe {
    pub fn new(max_read: usize) -> Pipe {
        Pipe(Rc::new(RefCell::new(PipeState {
            input: Bytes::new(),
            pos: 0,
            max_read,
            out: Vec::new(),
        })))
    }

    /// Serve `input` from its start.
    pub fn load(&self, input: &Bytes) {
        let mut s = self.0.borrow_mut();
        s.input = input.clone();
        s.pos = 0;
    }

    /// Input bytes the driver has not read.
    pub fn unread(&self) -> usize {
        let s = self.0.borrow();
        s.input.len() - s.pos
    }

    /// Copy up to `buf.len()` (and at most `max_read`) input bytes into `buf`.
    pub fn read_into(&self, buf: &mut [u8]) -> usize {
        let mut s = self.0.borrow_mut();
        let n = buf.len().min(s.max_read).min(s.input.len() - s.pos);
        buf[..n].copy_from_slice(&s.input[s.pos..s.pos + n]);
        s.pos += n;
        n
    }

    pub fn write_out(&self, data: &[u8]) {
        self.0.borrow_mut().out.extend_from_slice(data);
    }

    /// Grow the output sink to `cap` and touch its pages, so no run pays for
    /// the sink's own allocation.
    pub fn prepare_out(&self, cap: usize) {
        let mut s = self.0.borrow_mut();
        s.out.clear();
        s.out.resize(cap, 1);
        s.out.clear();
    }

    /// Look at what the driver wrote, then forget it (keeping the capacity).
    pub fn check_out<R>(&self, check: impl FnOnce(&[u8]) -> R) -> R {
        let mut s = self.0.borrow_mut();
        let r = check(&s.out);
        s.out.clear();
        r
    }
}

impl io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf))
    }
}

impl io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_out(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut s = self.0.borrow_mut();
        let n = buf.remaining().min(s.max_read).min(s.input.len() - s.pos);
        buf.put_slice(&s.input[s.pos..s.pos + n]);
        s.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_out(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.0.borrow_mut();
        let mut n = 0;
        for b in bufs {
            s.out.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What a receiver saw: whole messages, their summed length and a checksum
/// of every payload byte. Every driver folds each delivered message into one,
/// inside the timed region, and the harness compares it with the expected
/// value after every run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub msgs: u64,
    pub bytes: u64,
    pub sum: u64,
}

impl Tally {
    pub fn add(&mut self, payload: &[u8]) {
        self.msgs += 1;
        self.bytes += payload.len() as u64;
        self.sum = self.sum.wrapping_add(checksum(payload));
    }
}

/// The wrapping sum of all bytes. Blocks of 64 KiB keep the per-block total
/// in a `u32` (64 Ki x 255 fits), which the compiler vectorises.
pub fn checksum(data: &[u8]) -> u64 {
    data.chunks(64 << 10)
        .map(|c| u64::from(c.iter().map(|&b| u32::from(b)).sum::<u32>()))
        .fold(0, u64::wrapping_add)
}

/// A small deterministic generator for payloads and mask keys.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn key(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_le_bytes()
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            c.copy_from_slice(&r[..c.len()]);
        }
    }
}

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;

/// Append one frame (RFC 6455 section 5.2): masked with `key` if given.
pub fn put_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8], key: Option<[u8; 4]>) {
    out.push(u8::from(fin) << 7 | opcode);
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
}

/// A receive workload: the wire bytes a client sends and what a receiver
/// must report for them.
pub struct RxInput {
    pub wire: Bytes,
    pub expected: Tally,
}

/// `count` masked binary frames carved from `payloads` in pieces of `size`.
pub fn small_frames(payloads: &[u8], size: usize, rng: &mut Rng) -> RxInput {
    let mut wire = Vec::with_capacity(payloads.len() / size * (size + 14));
    let mut expected = Tally::default();
    for p in payloads.chunks_exact(size) {
        put_frame(&mut wire, true, OP_BINARY, p, Some(rng.key()));
        expected.add(p);
    }
    RxInput {
        wire: wire.into(),
        expected,
    }
}

/// One message of type `opcode`, masked, as one frame (`fragment == None`)
/// or as frames of `fragment` payload bytes.
pub fn one_message(msg: &[u8], opcode: u8, fragment: Option<usize>, rng: &mut Rng) -> RxInput {
    let mut wire = Vec::with_capacity(msg.len() + msg.len() / 1024 + 16);
    let size = fragment.unwrap_or(msg.len()).max(1);
    let pieces = msg.len().div_ceil(size).max(1);
    for (i, piece) in msg.chunks(size).enumerate() {
        let op = if i == 0 { opcode } else { OP_CONT };
        put_frame(&mut wire, i + 1 == pieces, op, piece, Some(rng.key()));
    }
    let mut expected = Tally::default();
    expected.add(msg);
    RxInput {
        wire: wire.into(),
        expected,
    }
}

/// `len` bytes of valid UTF-8 that keep a validator busy: ASCII words,
/// Hangul (3-byte), emoji (4-byte) and some 2-byte Latin, in random order.
pub fn mixed_text(len: usize, rng: &mut Rng) -> Vec<u8> {
    const PIECES: &[&str] = &[
        "hello ",
        "world ",
        "websocket ",
        "frame ",
        "안녕하세요 ",
        "세계 ",
        "웹소켓 ",
        "메시지 ",
        "😀",
        "🚀 ",
        "👍🏽",
        "café ",
        "naïve ",
        "über ",
        "12345 ",
        "\n",
    ];
    let mut out = String::with_capacity(len);
    while out.len() + 40 < len {
        out.push_str(PIECES[(rng.next_u64() % PIECES.len() as u64) as usize]);
    }
    while out.len() < len {
        out.push(' ');
    }
    out.into_bytes()
}

/// Parse what a sender wrote (frames of one role, RFC 6455 section 5.2):
/// every frame must be masked iff `masked`, data frames must form whole
/// messages, and each message is unmasked and tallied.
pub fn tally_wire(wire: &[u8], masked: bool) -> Tally {
    let mut t = Tally::default();
    let mut msg: Vec<u8> = Vec::new();
    let mut in_message = false;
    let mut at = 0;
    while at < wire.len() {
        let (b0, b1) = (wire[at], wire[at + 1]);
        let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0F);
        assert_eq!(b0 & 0x70, 0, "sender set RSV bits");
        assert_eq!(b1 & 0x80 != 0, masked, "sender's mask bit is wrong");
        let mut p = at + 2;
        let len = match b1 & 0x7F {
            126 => {
                p += 2;
                u16::from_be_bytes([wire[at + 2], wire[at + 3]]) as usize
            }
            127 => {
                p += 8;
                u64::from_be_bytes(wire[at + 2..at + 10].try_into().unwrap()) as usize
            }
            n => n as usize,
        };
        let key = masked.then(|| {
            p += 4;
            <[u8; 4]>::try_from(&wire[p - 4..p]).unwrap()
        });
        let payload = &wire[p..p + len];
        match (opcode, in_message) {
            (OP_BINARY | OP_TEXT, false) | (OP_CONT, true) => {}
            _ => panic!("sender wrote opcode {opcode} in_message={in_message}"),
        }
        match key {
            Some(k) => msg.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4])),
            None => msg.extend_from_slice(payload),
        }
        in_message = !fin;
        if fin {
            t.add(&msg);
            msg.clear();
        }
        at = p + len;
    }
    assert!(!in_message, "sender left a message unfinished");
    t
}

/// XOR `buf` with `key` (RFC 6455 section 5.3), a word at a time.
pub fn xor_in_place(buf: &mut [u8], key: [u8; 4]) {
    let k = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        let v = u64::from_ne_bytes((&*w).try_into().unwrap()) ^ k;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (b, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// `dst = src XOR key`, fused into one pass; `dst.len() == src.len()`.
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    assert_eq!(dst.len(), src.len());
    let k = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (d, s) in (&mut d).zip(&mut s) {
        let v = u64::from_ne_bytes(s.try_into().unwrap()) ^ k;
        d.copy_from_slice(&v.to_ne_bytes());
    }
    let tail = d.into_remainder().iter_mut().zip(s.remainder());
    for ((d, s), k) in tail.zip(key.iter().cycle()) {
        *d = s ^ k;
    }
}
