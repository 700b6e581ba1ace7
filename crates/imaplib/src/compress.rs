//! COMPRESS=DEFLATE (RFC 4978): both directions of the connection go
//! through raw DEFLATE once the server accepts `COMPRESS DEFLATE`. The
//! protocol trace still shows the uncompressed protocol.

use std::io::{self, Read, Write};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use crate::transport::Transport;

/// Raw DEFLATE in both directions, independent of how bytes move (shared
/// by the blocking and the async client).
pub(crate) struct DeflateCodec {
    compress: Compress,
    decompress: Decompress,
    /// Compressed bytes received and not yet inflated.
    input: Vec<u8>,
    input_pos: usize,
    /// Deflated bytes waiting to be written.
    pub(crate) output: Vec<u8>,
    /// The last inflate filled the caller's buffer: more output may be
    /// waiting inside the inflater even with no new input.
    output_pending: bool,
}

impl DeflateCodec {
    /// A codec; `already_received` are bytes read past the server's OK
    /// (they are compressed already).
    pub(crate) fn new(already_received: &[u8]) -> Self {
        DeflateCodec {
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
            input: already_received.to_vec(),
            input_pos: 0,
            output: Vec::with_capacity(16 * 1024),
            output_pending: false,
        }
    }

    /// Deflates `data` into [`DeflateCodec::output`].
    pub(crate) fn deflate(&mut self, data: &[u8], flush: FlushCompress) -> io::Result<()> {
        let mut consumed = 0;
        loop {
            if self.output.capacity() - self.output.len() < 4096 {
                self.output.reserve(16 * 1024);
            }
            let before = self.compress.total_in();
            self.compress
                .compress_vec(&data[consumed..], &mut self.output, flush)
                .map_err(io::Error::other)?;
            consumed += (self.compress.total_in() - before) as usize;
            // Done when all input is taken and the output did not fill up
            // (so a requested flush completed).
            if consumed >= data.len() && self.output.len() < self.output.capacity() {
                return Ok(());
            }
        }
    }

    /// Adds received compressed bytes.
    pub(crate) fn push_input(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
    }

    /// Inflates into `buf`: `Some(n)` with `n > 0` bytes, or `None` when
    /// more compressed input is needed.
    pub(crate) fn inflate(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            if self.input_pos >= self.input.len() && !self.output_pending {
                return Ok(None);
            }
            let before_in = self.decompress.total_in();
            let before_out = self.decompress.total_out();
            self.decompress
                .decompress(&self.input[self.input_pos..], buf, FlushDecompress::Sync)
                .map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("bad DEFLATE data: {e}"))
                })?;
            let taken = (self.decompress.total_in() - before_in) as usize;
            let produced = (self.decompress.total_out() - before_out) as usize;
            self.output_pending = produced == buf.len();
            self.input_pos += taken;
            if self.input_pos >= self.input.len() {
                self.input.clear();
                self.input_pos = 0;
            }
            if produced > 0 {
                return Ok(Some(produced));
            }
            if taken == 0 && self.input_pos < self.input.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "DEFLATE stream makes no progress",
                ));
            }
        }
    }
}

/// A blocking transport wrapped in raw DEFLATE.
pub(crate) struct Deflate {
    pub(crate) inner: Transport,
    codec: DeflateCodec,
    eof: bool,
}

impl Deflate {
    /// Wraps `inner`; `already_received` are bytes read past the server's
    /// OK.
    pub(crate) fn new(inner: Transport, already_received: &[u8]) -> Self {
        Deflate {
            inner,
            codec: DeflateCodec::new(already_received),
            eof: false,
        }
    }
}

impl Write for Deflate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.codec.deflate(buf, FlushCompress::None)?;
        if self.codec.output.len() >= 64 * 1024 {
            self.inner.write_all(&self.codec.output)?;
            self.codec.output.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // A sync flush puts everything written so far on the wire.
        self.codec.deflate(&[], FlushCompress::Sync)?;
        self.inner.write_all(&self.codec.output)?;
        self.codec.output.clear();
        self.inner.flush()
    }
}

impl Read for Deflate {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.codec.inflate(buf)? {
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                self.eof = true;
                return Ok(0);
            }
            self.codec.push_input(&chunk[..n]);
        }
    }
}

impl crate::client::Imap4 {
    /// True once COMPRESS=DEFLATE is active.
    pub fn is_compressed(&self) -> bool {
        matches!(self.transport, Transport::Deflate(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Plain;

    /// An in-memory byte pipe standing for the network.
    struct Pipe(std::io::Cursor<Vec<u8>>, Vec<u8>);

    impl Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn round_trip_with_small_reads() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("* {i} EXISTS\r\n").into_bytes())
            .collect();
        // Deflate `text` the way a server would (raw, sync flush).
        let wire = {
            let mut d = Compress::new(Compression::default(), false);
            let mut out = Vec::with_capacity(text.len() + 1024);
            d.compress_vec(&text, &mut out, FlushCompress::Sync)
                .unwrap();
            out
        };
        assert!(wire.len() < text.len() / 5, "compressible");
        // Split what arrives across the "already received" bytes and the pipe.
        let (early, late) = wire.split_at(10);
        let pipe = Pipe(std::io::Cursor::new(late.to_vec()), Vec::new());
        let mut receiver = Deflate::new(Transport::Custom(Box::new(Plain(pipe))), early);
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = receiver.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, text);
    }
}
