//! A charger's large WebSocket frames, cut into fragments before tungstenite reads them.
//!
//! tungstenite reads each frame whole into its read buffer, which grows to the frame's size and
//! keeps that allocation for the life of the connection (`BytesMut` reclaims its allocation
//! rather than shrinking it): every charger that once sent a large message would hold a buffer
//! of that size while it idles, up to `max_message_bytes` each. Cut into fragments of one
//! message (RFC 6455 section 5.4) no larger than the read buffer, a frame never grows it:
//! tungstenite joins the fragments in a buffer of the message's own, which goes with the
//! message.
//!
//! Only the headers change. A fragment's payload is the frame's next bytes as the charger sent
//! them, masked with the same key: fragments are a multiple of 4 bytes long, so each begins at
//! the start of the key. Control frames, frames no larger than a fragment and frames beyond the
//! size limit (which tungstenite refuses at their header) pass unchanged.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A frame header: at most 2 bytes, an 8-byte length and a 4-byte mask key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    bytes: [u8; 14],
    len: u8,
}

impl Header {
    fn new(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: u64) -> Header {
        let mut h = Header::default();
        h.push(u8::from(fin) << 7 | opcode);
        let masked = u8::from(mask.is_some()) << 7;
        let length = payload.to_be_bytes();
        match payload {
            0..=125 => h.push(masked | length[7]),
            126..=0xFFFF => {
                h.push(masked | 126);
                length[6..].iter().for_each(|&b| h.push(b));
            }
            _ => {
                h.push(masked | 127);
                length.iter().for_each(|&b| h.push(b));
            }
        }
        mask.into_iter().flatten().for_each(|b| h.push(b));
        h
    }

    fn push(&mut self, byte: u8) {
        self.bytes[usize::from(self.len)] = byte;
        self.len += 1;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What a frame's header says, and how long it is.
struct Parsed {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: u64,
    len: usize,
}

/// The header at the start of `raw`, if it is whole there.
fn parse(raw: &[u8]) -> Option<Parsed> {
    let (&first, &second) = (raw.first()?, raw.get(1)?);
    let (short, masked) = (second & 0x7F, second & 0x80 != 0);
    let extended = match short {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let len = 2 + extended + if masked { 4 } else { 0 };
    let header = raw.get(..len)?;
    let payload = match extended {
        0 => u64::from(short),
        _ => header[2..2 + extended].iter().fold(0, |n, &b| n << 8 | u64::from(b)),
    };
    let mask = masked.then(|| [header[len - 4], header[len - 3], header[len - 2], header[len - 1]]);
    Some(Parsed { fin: first & 0x80 != 0, opcode: first & 0x0F, mask, payload, len })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At a frame's header.
    Header,
    /// Within a frame passed unchanged: its bytes left.
    Payload(u64),
    /// Within a frame being cut: the bytes left of the fragment, of the frame after it, and the
    /// frame's own FIN bit and key, which its last fragment and every fragment carry.
    Cut { fragment: u64, after: u64, fin: bool, mask: Option<[u8; 4]> },
}

/// What to do with the bytes at hand.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The first bytes, this many, go on unchanged.
    Pass(usize),
    /// Nothing can go on before more bytes arrive.
    NeedMore,
    /// The first bytes, this many (a frame's header, or none), give way to a fragment's header.
    Replace(usize, Header),
}

/// Where the charger's byte stream stands, frame by frame.
#[derive(Debug)]
pub struct Cutter {
    state: State,
    /// A fragment's length at most: a multiple of 4.
    fragment: u64,
    /// A frame above this passes unchanged, for tungstenite to refuse.
    limit: u64,
}

impl Cutter {
    pub fn new(fragment: usize, limit: usize) -> Cutter {
        Cutter { state: State::Header, fragment: (wide(fragment) & !3).max(4), limit: wide(limit) }
    }

    /// Decides on `raw`, the stream's next bytes, letting `room` of them go on at most, and
    /// moves past what it lets go on.
    pub fn step(&mut self, raw: &[u8], room: usize) -> Step {
        let mut passed = 0;
        loop {
            let rest = &raw[passed..];
            let can = wide(rest.len().min(room - passed));
            match self.state {
                State::Payload(0) | State::Cut { fragment: 0, after: 0, .. } => self.state = State::Header,
                State::Cut { fragment: 0, after, fin, mask } if passed == 0 => {
                    let fragment = after.min(self.fragment);
                    self.state = State::Cut { fragment, after: after - fragment, fin, mask };
                    return Step::Replace(0, Header::new(fin && after == fragment, 0, mask, fragment));
                }
                _ if can == 0 => return if passed > 0 { Step::Pass(passed) } else { Step::NeedMore },
                State::Cut { fragment: 0, .. } => return Step::Pass(passed),
                State::Payload(left) => {
                    let n = left.min(can);
                    self.state = State::Payload(left - n);
                    passed += narrow(n);
                }
                State::Cut { fragment, after, fin, mask } => {
                    let n = fragment.min(can);
                    self.state = State::Cut { fragment: fragment - n, after, fin, mask };
                    passed += narrow(n);
                }
                State::Header => {
                    let Some(h) = parse(rest) else { return if passed > 0 { Step::Pass(passed) } else { Step::NeedMore } };
                    let data = h.opcode & 0x08 == 0;
                    if !data || h.payload <= self.fragment || h.payload > self.limit {
                        // The header goes on with its payload, unchanged.
                        self.state = State::Payload(wide(h.len) + h.payload);
                    } else if passed > 0 {
                        return Step::Pass(passed);
                    } else {
                        let first = Header::new(false, h.opcode, h.mask, self.fragment);
                        self.state = State::Cut { fragment: self.fragment, after: h.payload - self.fragment, fin: h.fin, mask: h.mask };
                        return Step::Replace(h.len, first);
                    }
                }
            }
        }
    }
}

fn wide(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A count no larger than a slice's length.
fn narrow(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A charger's connection as tungstenite reads it: its large frames cut (`Cutter`); writes go
/// through unchanged.
pub struct Cutting<S> {
    inner: S,
    cutter: Cutter,
    /// Bytes read and not yet decided on: usually none, and then no allocation.
    held: Vec<u8>,
    /// A fragment's header not yet read, and how much of it was.
    header: Header,
    header_read: usize,
}

impl<S> Cutting<S> {
    pub fn new(inner: S, cutter: Cutter) -> Cutting<S> {
        Cutting { inner, cutter, held: Vec::new(), header: Header::default(), header_read: 0 }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Cutting<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.held.is_empty() && this.held.capacity() > 0 {
                this.held = Vec::new();
            }
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let header = &this.header.as_bytes()[this.header_read..];
            if !header.is_empty() {
                let n = header.len().min(buf.remaining());
                buf.put_slice(&header[..n]);
                this.header_read += n;
                return Poll::Ready(Ok(()));
            }
            match this.cutter.step(&this.held, buf.remaining()) {
                Step::Pass(n) => {
                    buf.put_slice(&this.held[..n]);
                    this.held.drain(..n);
                    return Poll::Ready(Ok(()));
                }
                Step::Replace(consumed, header) => {
                    this.held.drain(..consumed);
                    (this.header, this.header_read) = (header, 0);
                }
                Step::NeedMore if this.held.is_empty() => {
                    // Most of the time: read straight into tungstenite's buffer and let through
                    // what may go, keeping the rest.
                    let before = buf.filled().len();
                    ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                    let read = &buf.filled()[before..];
                    if read.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    let kept = match this.cutter.step(read, read.len()) {
                        Step::Pass(n) => n,
                        Step::NeedMore => 0,
                        Step::Replace(consumed, header) => {
                            (this.header, this.header_read) = (header, 0);
                            this.held.extend_from_slice(&read[consumed..]);
                            buf.set_filled(before);
                            continue;
                        }
                    };
                    this.held.extend_from_slice(&read[kept..]);
                    buf.set_filled(before + kept);
                    if kept > 0 {
                        return Poll::Ready(Ok(()));
                    }
                }
                Step::NeedMore => {
                    // A header split between reads: read the rest behind it.
                    let mut more = [0; 64];
                    let mut more = ReadBuf::new(&mut more);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut more))?;
                    if more.filled().is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    this.held.extend_from_slice(more.filled());
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Cutting<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;
    use tokio::io::AsyncReadExt;

    use super::*;

    const FRAGMENT: usize = 16;
    const LIMIT: usize = 100;

    #[derive(Clone, Debug)]
    struct Frame {
        fin: bool,
        opcode: u8,
        mask: Option<[u8; 4]>,
        payload: Vec<u8>,
    }

    impl Frame {
        fn bytes(&self) -> Vec<u8> {
            let mut bytes = Header::new(self.fin, self.opcode, self.mask, wide(self.payload.len())).as_bytes().to_vec();
            bytes.extend(&self.payload);
            bytes
        }
    }

    /// What the charger meant to send: the payload with its mask taken off.
    fn unmasked(payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        payload.iter().enumerate().map(|(i, b)| b ^ mask.map_or(0, |m| m[i % 4])).collect()
    }

    /// The stream as it must come out: the frames to cut, cut, each fragment of the bytes as
    /// sent.
    fn cut(frames: &[Frame]) -> Vec<Frame> {
        let mut out = Vec::new();
        for f in frames {
            if f.opcode & 0x08 != 0 || f.payload.len() <= FRAGMENT || f.payload.len() > LIMIT {
                out.push(f.clone());
                continue;
            }
            let pieces: Vec<_> = f.payload.chunks(FRAGMENT).collect();
            for (i, piece) in pieces.iter().enumerate() {
                let opcode = if i == 0 { f.opcode } else { 0 };
                out.push(Frame { fin: f.fin && i == pieces.len() - 1, opcode, mask: f.mask, payload: piece.to_vec() });
            }
        }
        out
    }

    /// Reads that end wherever `chunks` end.
    struct Reads(VecDeque<Vec<u8>>);

    impl AsyncRead for Reads {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            if let Some(mut chunk) = self.0.pop_front() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.0.push_front(chunk.split_off(n));
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    fn frame() -> impl Strategy<Value = Frame> {
        let opcode = prop_oneof![Just(0u8), Just(1), Just(2), Just(8), Just(9), Just(10)];
        (any::<bool>(), opcode, any::<Option<[u8; 4]>>(), proptest::collection::vec(any::<u8>(), 0..130)).prop_map(|(fin, opcode, mask, payload)| {
            // Control frames are short; the cutter passes them whatever they are.
            let payload = if opcode & 0x08 != 0 { payload[..payload.len().min(125)].to_vec() } else { payload };
            Frame { fin, opcode, mask, payload }
        })
    }

    proptest! {
        /// However the charger's bytes arrive and however little room each read has, what comes
        /// out is the frames with every data frame above a fragment (and within the limit) cut
        /// into fragments, and each fragment unmasks to its part of what was sent.
        #[test]
        fn large_frames_come_out_cut_and_everything_else_unchanged(
            frames in proptest::collection::vec(frame(), 0..12),
            splits in proptest::collection::vec(1..40usize, 1..20),
            rooms in proptest::collection::vec(1..40usize, 1..20),
        ) {
            let stream: Vec<u8> = frames.iter().flat_map(Frame::bytes).collect();
            let mut chunks = VecDeque::new();
            let mut rest = &stream[..];
            for size in splits.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                chunks.push_back(chunk.to_vec());
                rest = tail;
            }
            let mut cutting = Cutting::new(Reads(chunks), Cutter::new(FRAGMENT, LIMIT));
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let out = runtime.block_on(async {
                let mut out: Vec<u8> = Vec::new();
                for room in rooms.iter().cycle() {
                    let mut buf = vec![0; *room];
                    match cutting.read(&mut buf).await.unwrap() {
                        0 => break,
                        n => out.extend(&buf[..n]),
                    }
                }
                out
            });
            let expected = cut(&frames);
            prop_assert_eq!(&out, &expected.iter().flat_map(Frame::bytes).collect::<Vec<u8>>());
            prop_assert_eq!((cutting.held.capacity(), cutting.cutter.state), (0, State::Header));
            // Fragments start at the key's first byte: unmasked they are what was meant.
            let sent: Vec<u8> = frames.iter().flat_map(|f| unmasked(&f.payload, f.mask)).collect();
            let received: Vec<u8> = expected.iter().flat_map(|f| unmasked(&f.payload, f.mask)).collect();
            prop_assert_eq!(sent, received);
        }
    }

    #[test]
    fn headers_are_written_as_rfc_6455_has_them() {
        assert_eq!(Header::new(true, 1, None, 5).as_bytes(), [0x81, 5]);
        assert_eq!(Header::new(false, 0, Some([1, 2, 3, 4]), 300).as_bytes(), [0x00, 0xFE, 1, 44, 1, 2, 3, 4]);
        assert_eq!(Header::new(true, 2, None, 70_000).as_bytes(), [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        let parsed = parse(Header::new(true, 2, Some([9; 4]), 70_000).as_bytes()).unwrap();
        assert_eq!((parsed.fin, parsed.opcode, parsed.mask, parsed.payload, parsed.len), (true, 2, Some([9; 4]), 70_000, 14));
        assert!(parse(&[0x81, 0xFE, 1]).is_none(), "a header cut short is not parsed");
    }
}
