//! Sending: data messages whole or streamed, control frames, and the Close
//! that ends them (RFC 6455 sections 5.4 to 5.5 and 7).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::deflate::DeflateTx;
use super::event::MessageKind;
use super::prepared::{PreparedFrame, PreparedMessage};
use super::state::{Core, State};
use super::utf8::Carry;
use crate::close::CloseCode;
use crate::error::SendError;
use crate::frame::{EncodedHeader, FrameHeader, MAX_HEADER_LEN, Opcode, append_masked, apply_mask};

/// Where a client's masking keys come from (RFC 6455 section 5.3).
///
/// Keys must be unpredictable to the server and to anything between: take
/// each one from a cryptographically strong random source. A closure
/// `FnMut() -> [u8; 4]` is a `MaskSource`. Tests may use a counter.
pub trait MaskSource: Send {
    /// The key for the next frame.
    fn mask_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskSource for F {
    fn mask_key(&mut self) -> [u8; 4] {
        self()
    }
}

/// How many bytes of automatic Pongs may wait unsent before each new one
/// replaces the last instead of queueing behind it (section 5.5.3 lets an
/// endpoint answer only the most recent Ping), so a Ping flood never
/// drained holds at most this plus one Pong (`tests/memory.rs`:
/// `a_ping_flood_never_drained_keeps_the_transmit_queue_bounded`). Ten
/// Pings of the sizes Autobahn 2.10 and 2.11 send still get ten Pongs
/// (`tests/autobahn/`).
pub const AUTO_PONG_BUDGET: usize = 1024;

/// `pong_at` when the last frame queued is not an automatic Pong (or sits
/// past 4 GiB into the queue, where it is not tracked for replacement).
const NO_PONG: u32 = u32::MAX;

/// Send-side state.
pub(super) struct Tx {
    /// Encoded frames not yet handed to `poll_transmit`.
    pub(super) out: Vec<u8>,
    /// A client's key source; `None` for a server, which never masks.
    mask: Option<Box<dyn MaskSource>>,
    /// Where the last automatic Pong starts in `out`, while it is the last
    /// frame queued; `NO_PONG` otherwise.
    /// (u32s: these two fit the connection in its 256-byte budget.)
    pong_at: u32,
    /// Bytes of automatic Pongs in `out`.
    pong_bytes: u32,
    /// A streamed message in progress, and whether its first frame went out.
    streaming: Option<(MessageKind, bool)>,
    /// Streamed text: a character cut between two fragments.
    carry: Carry,
    /// A Close frame was queued; nothing may follow it.
    pub(super) sent_close: bool,
}

impl Tx {
    pub(super) fn new(mask: Option<Box<dyn MaskSource>>) -> Tx {
        Tx {
            out: Vec::new(),
            mask,
            pong_at: NO_PONG,
            pong_bytes: 0,
            streaming: None,
            carry: Carry::default(),
            sent_close: false,
        }
    }

    /// Encode one frame into `out`, masked if we are a client: the one
    /// place a frame is written. RSV1 marks the first frame of a
    /// compressed message (RFC 7692 section 6).
    #[inline]
    fn write_frame(&mut self, opcode: Opcode, fin: bool, rsv1: bool, payload: &[u8]) {
        self.pong_at = NO_PONG;
        let header = FrameHeader {
            fin,
            rsv1,
            ..FrameHeader::new(opcode, payload.len() as u64)
        };
        match header.encode_short() {
            // A server's small frame, the common case: a copy of known
            // length and one capacity check keep it to a few instructions
            // inlined in the caller.
            Some(head) if self.mask.is_none() => {
                self.out.reserve(2 + payload.len());
                self.out.extend_from_slice(&head);
                self.out.extend_from_slice(payload);
            }
            _ => self.write_frame_long(header, payload),
        }
    }

    /// [`write_frame`](Self::write_frame) for a masked or longer frame,
    /// out of line so the small frame's path stays small.
    #[inline(never)]
    fn write_frame_long(&mut self, mut header: FrameHeader, payload: &[u8]) {
        header.mask = self.mask.as_mut().map(|m| m.mask_key());
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        // Exactly what the frame needs, so a large message never makes
        // `out` grow by doubling (and copying) on the way.
        self.out.reserve(n + payload.len());
        self.out.extend_from_slice(&head[..n]);
        match header.mask {
            Some(key) => append_masked(&mut self.out, payload, key, 0),
            None => self.out.extend_from_slice(payload),
        }
    }

    /// A whole message's payload (compressed or not) as one frame, or as
    /// frames of `size` bytes when `size` is not 0 and the payload is
    /// longer; RSV1 (`compressed`) goes on the first frame only (RFC 7692
    /// section 6). The cut falls on byte boundaries: section 5.4 lets a
    /// text message's frames cut characters, only the whole must be UTF-8.
    #[inline]
    fn write_message(&mut self, opcode: Opcode, compressed: bool, payload: &[u8], size: usize) {
        if size == 0 || payload.len() <= size {
            self.write_frame(opcode, true, compressed, payload);
        } else {
            self.write_fragments(opcode, compressed, payload, size);
        }
    }

    /// The loop of [`write_message`](Self::write_message), out of line so
    /// that the single frame's path, inlined, stays as short as it was.
    #[inline(never)]
    fn write_fragments(&mut self, opcode: Opcode, compressed: bool, payload: &[u8], size: usize) {
        let mut chunks = payload.chunks(size).peekable();
        let (mut op, mut rsv1) = (opcode, compressed);
        while let Some(chunk) = chunks.next() {
            self.write_frame(op, chunks.peek().is_none(), rsv1, chunk);
            (op, rsv1) = (Opcode::Continuation, false);
        }
    }

    /// A prepared message's frame: copied as it is when it may go as one
    /// unmasked frame (a server's, within `size`); otherwise its payload
    /// framed here, masked for a client and cut into `size`-byte frames,
    /// exactly as [`write_message`](Self::write_message) frames our own.
    #[inline]
    fn write_prepared(&mut self, frame: &PreparedFrame, size: usize) {
        let payload = frame.payload();
        if self.mask.is_none() && (size == 0 || payload.len() <= size) {
            self.pong_at = NO_PONG;
            self.out.extend_from_slice(frame.bytes());
        } else {
            self.write_message(frame.opcode, frame.rsv1, payload, size);
        }
    }

    /// The release timer found a busy connection: free an empty queue
    /// whose allocation one large message left far larger than small
    /// frames need (see `Receiver::shrink_oversized`).
    pub(super) fn shrink_oversized(&mut self) {
        if self.out.is_empty() && self.out.capacity() > 64 << 10 {
            self.out = Vec::new();
        }
    }

    /// Free the queue's allocation if nothing is queued.
    pub(super) fn release(&mut self) {
        if self.out.is_empty() {
            self.out = Vec::new();
        }
    }

    /// A control frame whose payload the caller checked (at most 125 bytes).
    pub(super) fn write_control(&mut self, opcode: Opcode, payload: &[u8]) {
        self.write_frame(opcode, true, false, payload);
    }

    /// The automatic answer to a Ping. Once more than [`AUTO_PONG_BUDGET`]
    /// bytes of them wait unsent, a new one replaces the last one queued
    /// (if nothing was queued after it), so a Ping flood into a connection
    /// whose output is not drained cannot grow the queue.
    pub(super) fn auto_pong(&mut self, payload: &[u8]) {
        let frame = payload.len() + if self.mask.is_some() { 6 } else { 2 };
        if self.pong_at != NO_PONG && self.pong_bytes as usize + frame > AUTO_PONG_BUDGET {
            let at = self.pong_at as usize;
            self.pong_bytes -= (self.out.len() - at) as u32;
            self.out.truncate(at);
        }
        let at = self.out.len();
        self.write_frame(Opcode::Pong, true, false, payload);
        self.pong_at = u32::try_from(at).unwrap_or(NO_PONG);
        // At most the budget plus one Pong while tracked; saturating for
        // a queue past 4 GiB, where replacement is off.
        self.pong_bytes = self.pong_bytes.saturating_add((self.out.len() - at) as u32);
    }

    /// A Close with `code` and `reason` (checked by the caller).
    pub(super) fn write_close(&mut self, code: CloseCode, reason: &str) {
        let mut payload = [0u8; 125];
        payload[..2].copy_from_slice(&code.0.to_be_bytes());
        let n = 2 + reason.len().min(123);
        payload[2..n].copy_from_slice(&reason.as_bytes()[..n - 2]);
        self.write_frame(Opcode::Close, true, false, &payload[..n]);
        self.sent_close = true;
    }

    /// The answer to a peer's Close: its code echoed, or an empty Close.
    pub(super) fn write_close_echo(&mut self, code: Option<CloseCode>) {
        match code {
            Some(code) => self.write_close(code, ""),
            None => {
                self.write_frame(Opcode::Close, true, false, &[]);
                self.sent_close = true;
            }
        }
    }

    pub(super) fn drain_into(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        if n == 0 {
            return 0;
        }
        if buf.is_empty() {
            // Both allocations are kept, the caller's for the next frames:
            // a steady stream then allocates nothing on either side.
            core::mem::swap(buf, &mut self.out);
        } else {
            buf.extend_from_slice(&self.out);
            self.out.clear();
        }
        self.pong_at = NO_PONG;
        self.pong_bytes = 0;
        n
    }
}

/// The sending half of a [`Connection`](super::Connection), handed out with
/// an event by
/// [`poll_event_with_sender`](super::Connection::poll_event_with_sender)
/// so the application can answer straight from the event's borrowed
/// payload (an echo, a forward) without copying it first.
///
/// Its methods are the connection's commands, with the same rules: misuse
/// returns a [`SendError`] and changes nothing. Each method's docs say what
/// it copies and what it refuses; the [`Connection`](super::Connection)
/// methods of the same names link here.
pub struct Sender<'a> {
    pub(super) core: &'a mut Core,
    /// The compressor, when permessage-deflate was agreed.
    pub(super) deflate: Option<&'a mut DeflateTx>,
}

impl core::fmt::Debug for Sender<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("pending_transmit", &self.core.tx.out.len())
            .finish_non_exhaustive()
    }
}

impl Sender<'_> {
    /// Send a whole text message.
    ///
    /// With permessage-deflate agreed, a message of at least
    /// [`DeflateConfig::min_size`](crate::extension::deflate::DeflateConfig::min_size)
    /// bytes is compressed; [`send_uncompressed`](Self::send_uncompressed)
    /// sends one as it is.
    ///
    /// Cost: the payload is copied once into the transmit queue, behind a
    /// 2 to 14-byte header per frame (one frame, or one per
    /// [`Config::fragment_size`](crate::Config::fragment_size) bytes); a
    /// client masks it during that copy. Compressed, it goes first into a
    /// scratch buffer the connection keeps between messages, and the
    /// compressed bytes are what is copied; the compressor's working
    /// memory is allocated by the first message and kept while the
    /// connection is busy (see
    /// [`DeflateConfig::max_window_bits`](crate::extension::deflate::DeflateConfig::max_window_bits)).
    /// A steady stream allocates nothing (`tests/buffers.rs`:
    /// `zero_allocations_per_message_for_large_messages_by_default`;
    /// `tests/memory.rs`: `zero_allocations_per_message_with_deflate_in_steady_state`).
    ///
    /// Refuses: [`SendError::Closed`] once our Close is out or the
    /// connection ended, [`SendError::MessageInProgress`] while a message
    /// started with [`begin_message`](Self::begin_message) is open.
    #[inline]
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_whole(Opcode::Text, text.as_bytes(), true)
    }

    /// Send a whole binary message.
    ///
    /// Compressed, costed and refused as [`send_text`](Self::send_text)
    /// says.
    #[inline]
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_whole(Opcode::Binary, data, true)
    }

    /// Send a whole message without compressing it, even with
    /// permessage-deflate agreed: for data that does not compress
    /// (already compressed media, random bytes) or whose length must not
    /// leak through its compressed size. Text must be valid UTF-8
    /// ([`SendError::InvalidUtf8`] otherwise).
    ///
    /// Costs what [`send_text`](Self::send_text) costs without
    /// compression, plus one UTF-8 check of text; refuses what it refuses,
    /// and text that is not UTF-8.
    pub fn send_uncompressed(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), SendError> {
        if kind == MessageKind::Text && super::utf8::as_str(data).is_none() {
            return Err(SendError::InvalidUtf8);
        }
        self.send_whole(opcode(kind), data, false)
    }

    /// Send a message framed (and compressed) once for many connections:
    /// what [`send_text`](Self::send_text) or
    /// [`send_binary`](Self::send_binary) of its payload would send, as
    /// the peer decodes it, without framing or compressing it again.
    ///
    /// Which bytes go out:
    /// - without permessage-deflate, or for a message shorter than
    ///   [`DeflateConfig::min_size`](crate::extension::deflate::DeflateConfig::min_size):
    ///   the uncompressed frame;
    /// - with it: the frame compressed for this connection's window, or
    ///   the smallest window holding the whole message if that is smaller
    ///   (made now if no connection needed it before), RSV1 set and the
    ///   `00 00 ff ff` tail stripped as [`send_text`](Self::send_text) does.
    ///   That form was compressed from an empty history, so it decodes
    ///   whatever the peer kept; but the peer's window now holds its
    ///   plaintext and ours does not, so when our side keeps its context
    ///   this connection's compressor forgets its history (the next message
    ///   compresses as the first did; with our side's
    ///   `*_no_context_takeover` every message starts empty anyway).
    ///
    /// Falls back to framing the prepared payload here, still without
    /// compressing it again, where the shared frame cannot go as it is: a
    /// client masks it with a fresh key while copying, and with
    /// [`Config::fragment_size`](crate::Config::fragment_size) set below
    /// its length it is cut as `send_text` cuts its own. A connection never
    /// gets a form made with a wider window than its own, and a client never
    /// the shared bytes unmasked.
    ///
    /// Cost: one copy of the frame into the transmit queue, and no
    /// allocation once the queue is warm (`tests/prepared.rs`:
    /// `send_prepared_to_1000_connections_allocates_nothing_once_warm`);
    /// the first connection of each window size pays the compression.
    ///
    /// Refuses exactly as [`send_text`](Self::send_text) does, with
    /// nothing sent: [`SendError::Closed`] once our Close is out or the
    /// connection ended, [`SendError::MessageInProgress`] while a message
    /// started with [`begin_message`](Self::begin_message) is open.
    #[inline]
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_whole()?;
        let size = self.core.settings.fragment_size as usize;
        let tx = &mut self.core.tx;
        match self.deflate.as_deref_mut() {
            Some(d) if d.wants(message.payload().len()) => {
                tx.write_prepared(message.compressed(d), size);
                d.forget_history();
            }
            _ => tx.write_prepared(message.plain(), size),
        }
        Ok(())
    }

    /// Send a whole message whose payload stays where it is: a client masks
    /// `payload` in place, and only the frame header is returned. Nothing
    /// is copied, so this is the way to send a large buffer the caller owns.
    ///
    /// Write the returned header, then `payload`, to the transport, before
    /// anything `poll_transmit` gives afterwards. So that nothing can come
    /// between them, the call is refused with
    /// [`SendError::TransmitPending`] while `poll_transmit` holds bytes.
    /// The message goes as one frame; `fragment_size` does not apply, and
    /// it is never compressed (compression would have to copy it).
    /// After a client's call, `payload` holds the masked bytes.
    ///
    /// Cost: no copy and no allocation: a client XORs `payload` in place,
    /// a server leaves it alone; text is checked for UTF-8 once.
    ///
    /// Refuses, in this order: [`SendError::Closed`],
    /// [`SendError::MessageInProgress`], [`SendError::TransmitPending`],
    /// and [`SendError::InvalidUtf8`] for text.
    pub fn send_in_place(
        &mut self,
        kind: MessageKind,
        payload: &mut [u8],
    ) -> Result<EncodedHeader, SendError> {
        self.check_whole()?;
        if !self.core.tx.out.is_empty() {
            return Err(SendError::TransmitPending);
        }
        if kind == MessageKind::Text && super::utf8::as_str(payload).is_none() {
            return Err(SendError::InvalidUtf8);
        }
        let key = self.core.tx.mask.as_mut().map(|m| m.mask_key());
        let header = FrameHeader {
            mask: key,
            ..FrameHeader::new(opcode(kind), payload.len() as u64)
        };
        if let Some(key) = key {
            apply_mask(payload, key, 0);
        }
        Ok(header.to_bytes())
    }

    /// Start a message to be sent in pieces with
    /// [`send_fragment`](Self::send_fragment). Nothing goes out yet. With
    /// permessage-deflate agreed, each piece is compressed as it is sent
    /// (and flushed, so the peer can inflate it at once).
    ///
    /// Queues and allocates nothing. Refuses [`SendError::Closed`] and
    /// [`SendError::MessageInProgress`], as [`send_text`](Self::send_text)
    /// does.
    pub fn begin_message(&mut self, kind: MessageKind) -> Result<(), SendError> {
        self.check_whole()?;
        let tx = &mut self.core.tx;
        tx.streaming = Some((kind, false));
        tx.carry = Carry::default();
        if let Some(d) = self.deflate.as_deref_mut() {
            d.set_fragments(true);
        }
        Ok(())
    }

    /// Send the next piece of the message started with
    /// [`begin_message`](Self::begin_message) as one frame; `fin` ends the
    /// message. Text pieces may cut a character, but must join into valid
    /// UTF-8 ([`SendError::InvalidUtf8`] otherwise, and nothing is sent).
    ///
    /// Cost: one frame, as [`send_text`](Self::send_text) costs it
    /// (compressed and flushed when the message is); text is checked as
    /// it goes, each byte once. `fragment_size` does not apply.
    ///
    /// Refuses: [`SendError::Closed`], [`SendError::NoMessageStarted`]
    /// without [`begin_message`](Self::begin_message), and
    /// [`SendError::InvalidUtf8`].
    pub fn send_fragment(&mut self, data: &[u8], fin: bool) -> Result<(), SendError> {
        self.core.check_data_allowed()?;
        let tx = &mut self.core.tx;
        let Some((kind, started)) = tx.streaming else {
            return Err(SendError::NoMessageStarted);
        };
        if kind == MessageKind::Text {
            let next = tx.carry.check(data).map_err(|()| SendError::InvalidUtf8)?;
            if fin && !next.is_empty() {
                return Err(SendError::InvalidUtf8);
            }
            tx.carry = next;
        }
        let op = if started {
            Opcode::Continuation
        } else {
            opcode(kind)
        };
        match self.deflate.as_deref_mut() {
            Some(d) if d.fragments() => {
                let payload = d.compress(data, fin, usize::MAX);
                tx.write_frame(op, fin, !started, payload);
                d.set_fragments(!fin);
            }
            _ => tx.write_frame(op, fin, false, data),
        }
        tx.streaming = if fin { None } else { Some((kind, true)) };
        Ok(())
    }

    /// Send a Ping (at most 125 bytes of payload). It arms no timer: the
    /// Pong is reported as an event whenever it comes.
    ///
    /// Copies the payload into the transmit queue. Refuses
    /// [`SendError::ControlTooLong`] over 125 bytes and
    /// [`SendError::Closed`] once our Close is out or the connection ended.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(Opcode::Ping, payload)
    }

    /// Send an unsolicited Pong (at most 125 bytes), e.g. as a unidirectional
    /// heartbeat (section 5.5.3). Costs and refuses as
    /// [`send_ping`](Self::send_ping) does.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(Opcode::Pong, payload)
    }

    /// Start (or, after the peer's Close with `auto_close` off, finish) the
    /// close handshake with `code` and a `reason` of at most 123 bytes.
    ///
    /// `code` must be one that may be sent ([`CloseCode::is_allowed_on_wire`]).
    /// No frame may be sent after this. The connection then waits for the
    /// peer's Close, up to [`Config::close_timeout`](crate::Config::close_timeout)
    /// counted from the `now` of the input call that received the event
    /// this `Sender` came with: a `Sender` lives only while that event is
    /// handled, so that `now` is current. To close at any other time, use
    /// [`Connection::close`](super::Connection::close), which takes `now`.
    ///
    /// Queues one Close frame (its payload at most 125 bytes). Refuses, in
    /// this order: [`SendError::Closed`] (ours is out, or the connection
    /// ended), [`SendError::InvalidCloseCode`], and
    /// [`SendError::CloseReasonTooLong`] over 123 bytes.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let now = self.core.last_now;
        self.close_at(now, code, reason)
    }

    /// [`close`](Self::close), with the close deadline counted from `now`
    /// (nanoseconds on the connection's clock).
    pub(super) fn close_at(
        &mut self,
        now: u64,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        let core = &mut *self.core;
        if core.tx.sent_close || core.is_closed() {
            return Err(SendError::Closed);
        }
        if !code.is_allowed_on_wire() {
            return Err(SendError::InvalidCloseCode(code.0));
        }
        if reason.len() > 123 {
            return Err(SendError::CloseReasonTooLong);
        }
        core.tx.write_close(code, reason);
        core.tx.streaming = None;
        // A compressed message cut short by the Close is over.
        if let Some(d) = self.deflate.as_deref_mut() {
            d.set_fragments(false);
        }
        core.arm_close_timer_from(now);
        match core.state {
            State::CloseReceived(peer_code) => core.close_handshake_done(peer_code),
            _ => core.state = State::CloseSent,
        }
        Ok(())
    }

    /// The number of bytes queued for `poll_transmit`, for backpressure.
    #[must_use]
    pub fn pending_transmit(&self) -> usize {
        self.core.tx.out.len()
    }

    /// A whole message, through the compressor when `compress` and
    /// permessage-deflate wants it, then through the one fragmenting loop.
    #[inline]
    fn send_whole(&mut self, opcode: Opcode, data: &[u8], compress: bool) -> Result<(), SendError> {
        self.check_whole()?;
        let size = self.core.settings.fragment_size as usize;
        match self.deflate.as_deref_mut() {
            Some(d) if compress && d.wants(data.len()) => {
                Self::send_compressed(&mut self.core.tx, d, opcode, data, size);
            }
            _ => self.core.tx.write_message(opcode, false, data, size),
        }
        Ok(())
    }

    /// A whole message compressed (RFC 7692 section 7.2.1). Out of line:
    /// inlined, the compiler merges its frame writing with the plain
    /// message's, and a server's small message loses a fifth of its speed
    /// to the merged path's runtime opcode and RSV bit.
    #[inline(never)]
    fn send_compressed(tx: &mut Tx, d: &mut DeflateTx, opcode: Opcode, data: &[u8], size: usize) {
        let payload = d.compress(data, true, usize::MAX);
        tx.write_message(opcode, true, payload, size);
    }

    /// A message may start: data is allowed and no streamed one is open.
    #[inline]
    fn check_whole(&self) -> Result<(), SendError> {
        let core = &*self.core;
        // The open connection first, as one test: it is every message's
        // case, and worth a few percent of a small one's time.
        if core.state == State::Open && !core.tx.sent_close && core.tx.streaming.is_none() {
            return Ok(());
        }
        self.why_not_whole()
    }

    /// [`check_whole`](Self::check_whole) past its common case.
    #[cold]
    fn why_not_whole(&self) -> Result<(), SendError> {
        self.core.check_data_allowed()?;
        if self.core.tx.streaming.is_some() {
            return Err(SendError::MessageInProgress);
        }
        Ok(())
    }

    fn send_control(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), SendError> {
        // After a failure, the events before it may still be answered
        // (a Pong for their Pings) until the Close it owes goes out.
        if self.core.tx.sent_close || (self.core.is_closed() && !self.core.owe_close) {
            return Err(SendError::Closed);
        }
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong);
        }
        self.core.tx.write_control(opcode, payload);
        Ok(())
    }
}

/// The opcode of a message's first frame.
fn opcode(kind: MessageKind) -> Opcode {
    match kind {
        MessageKind::Text => Opcode::Text,
        MessageKind::Binary => Opcode::Binary,
    }
}

impl Core {
    /// Data frames may go out until our Close does: also after a failure,
    /// to answer the events received before it, until its Close is queued.
    #[inline]
    fn check_data_allowed(&self) -> Result<(), SendError> {
        match self.state {
            State::Open | State::CloseReceived(_) if !self.tx.sent_close => Ok(()),
            State::Closed { .. } if self.owe_close => Ok(()),
            _ => Err(SendError::Closed),
        }
    }
}
