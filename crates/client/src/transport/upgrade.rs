//! The stream below tungstenite while it upgrades a connection to a WebSocket: it hands
//! tungstenite the service's answer no further than the end of its headers.
//!
//! tungstenite reads the upgrade's answer through a 4 KiB buffer and keeps that buffer (with
//! anything read past the headers) as the socket's read buffer for as long as the socket
//! lives, whatever `read_buffer_size` says: 4 KiB for every open chat, 40 MB with 10,000
//! (issue 14). Fed this way, tungstenite's buffer holds nothing past the headers, so the socket
//! can be rebuilt around the same stream with a read buffer of the size asked for; bytes the
//! service sent after the headers (a first frame in the same packet) stay here and are handed
//! to the rebuilt socket.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much is read from the stream at a time during the upgrade.
const CHUNK: usize = 512;

/// A stream that, until the end of the upgrade answer's headers, hands out only what
/// belongs to them; a plain pass-through after.
pub(crate) struct UpgradeIo<S> {
    io: S,
    /// Read from `io`, not handed out yet.
    pending: Vec<u8>,
    /// Bytes of the current header line handed out so far, line ends not counted.
    line: usize,
    /// The empty line ending the headers has been handed out.
    headers_done: bool,
    /// Something was handed out after the headers' end during the upgrade (the reader did not
    /// take the answer as complete there): the reader's buffer may hold those bytes.
    overread: bool,
    /// [`take_rest`](Self::take_rest) was called: a plain pass-through from now on.
    upgraded: bool,
}

impl<S> UpgradeIo<S> {
    pub(crate) fn new(io: S) -> Self {
        UpgradeIo {
            io,
            pending: Vec::new(),
            // The status line is not empty: a leading line end does not end the headers.
            line: 1,
            headers_done: false,
            overread: false,
            upgraded: false,
        }
    }

    /// After the upgrade: what was read past the headers, or `None` when the reader may
    /// hold bytes past them (then the socket must be kept as the upgrade made it).
    pub(crate) fn take_rest(&mut self) -> Option<Vec<u8>> {
        self.upgraded = true;
        if self.overread || !self.headers_done {
            return None;
        }
        Some(std::mem::take(&mut self.pending))
    }

    /// How many of the pending bytes can be handed out (at most `room`) without going past
    /// the end of the headers; marks the end when it is reached.
    fn limit(&mut self, room: usize) -> usize {
        let available = self.pending.len().min(room);
        if self.headers_done {
            if available > 0 {
                self.overread = true;
            }
            return available;
        }
        for (i, &b) in self.pending[..available].iter().enumerate() {
            match b {
                b'\n' if self.line == 0 => {
                    self.headers_done = true;
                    return i + 1;
                }
                b'\n' => self.line = 0,
                b'\r' => {}
                _ => self.line += 1,
            }
        }
        available
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for UpgradeIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            if this.headers_done {
                // The upgrade is over (or the reader wants more than the headers).
                let before = buf.filled().len();
                ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
                if !this.upgraded && buf.filled().len() > before {
                    this.overread = true;
                }
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
            // End of stream: nothing handed out, which the reader sees as the end too.
            this.pending.extend_from_slice(read.filled());
        }
        let n = this.limit(buf.remaining());
        buf.put_slice(&this.pending[..n]);
        this.pending.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for UpgradeIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const ANSWER: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n";

    /// Reads through `io` with a large buffer, as tungstenite's handshake does, until the
    /// headers are handed out.
    async fn read_answer(io: &mut UpgradeIo<tokio::io::DuplexStream>) -> Vec<u8> {
        let mut got = Vec::new();
        while !io.headers_done {
            let mut buf = [0u8; 4096];
            let n = io.read(&mut buf).await.expect("read");
            assert!(n > 0, "the stream ended inside the headers");
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[tokio::test]
    async fn a_frame_sent_with_the_answer_is_kept_for_the_socket() {
        let (mut service, client) = tokio::io::duplex(8192);
        let frame = b"\x81\x05hello";
        service
            .write_all(&[ANSWER, frame].concat())
            .await
            .expect("write");
        let mut io = UpgradeIo::new(client);
        assert_eq!(read_answer(&mut io).await, ANSWER);
        assert_eq!(io.take_rest().as_deref(), Some(&frame[..]));
        // A pass-through from now on.
        service.write_all(b"more").await.expect("write");
        let mut buf = [0u8; 16];
        let n = io.read(&mut buf).await.expect("read");
        assert_eq!(&buf[..n], b"more");
    }

    #[tokio::test]
    async fn an_answer_in_pieces_and_with_bare_line_feeds_ends_at_its_empty_line() {
        let (mut service, client) = tokio::io::duplex(8192);
        let answer = b"HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n";
        let mut io = UpgradeIo::new(client);
        let reader = tokio::spawn(async move {
            let got = read_answer(&mut io).await;
            (got, io)
        });
        for piece in answer.chunks(7) {
            service.write_all(piece).await.expect("write");
        }
        service.write_all(b"\x81\x00").await.expect("write");
        let (got, mut io) = reader.await.expect("reader");
        assert_eq!(got, answer);
        // What came after the headers is either kept or still in the stream, never lost.
        let mut rest = io.take_rest().expect("nothing handed out past the headers");
        let mut buf = [0u8; 16];
        while rest.len() < 2 {
            let n = io.read(&mut buf).await.expect("read");
            rest.extend_from_slice(&buf[..n]);
        }
        assert_eq!(rest, b"\x81\x00");
    }

    #[tokio::test]
    async fn reading_past_the_headers_during_the_upgrade_keeps_the_socket_as_it_is() {
        let (mut service, client) = tokio::io::duplex(8192);
        service
            .write_all(&[ANSWER, b"tail"].concat())
            .await
            .expect("write");
        let mut io = UpgradeIo::new(client);
        read_answer(&mut io).await;
        let mut buf = [0u8; 16];
        let n = io.read(&mut buf).await.expect("read");
        assert_eq!(&buf[..n], b"tail");
        assert_eq!(io.take_rest(), None);
    }
}
