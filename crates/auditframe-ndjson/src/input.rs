//! Inputs: gzip detection, and bounded block reading on line boundaries.

use std::io::{BufRead, BufReader, Read};

use crate::{Error, Result};

/// Reads an input in blocks that end on a newline, decompressing gzip transparently.
pub(crate) struct Blocks<'r> {
    reader: Box<dyn Read + Send + 'r>,
    max_record: usize,
    name: String,
    block_bytes: usize,
    /// Bytes read but not yet handed out.
    buf: Vec<u8>,
    eof: bool,
    truncated: Option<String>,
    io_error: Option<std::io::Error>,
    started: bool,
    /// Input read past an over-long line, handed out after it.
    rest_after_discard: Vec<u8>,
}

impl<'r> Blocks<'r> {
    pub fn new(
        reader: impl Read + Send + 'r,
        name: &str,
        block_bytes: usize,
        max_record: usize,
    ) -> Result<Blocks<'r>> {
        let mut br = BufReader::with_capacity(256 << 10, reader);
        let magic = br.fill_buf().map_err(|e| Error::io(name, e))?;
        let gz = magic.starts_with(&[0x1f, 0x8b]);
        // Box the reader so that gzip and plain inputs share one code path.
        let reader: Box<dyn Read + Send + 'r> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(br))
        } else {
            Box::new(br)
        };
        let mut b = Blocks {
            reader,
            max_record,
            name: name.to_owned(),
            block_bytes,
            buf: Vec::new(),
            eof: false,
            truncated: None,
            io_error: None,
            started: false,
            rest_after_discard: Vec::new(),
        };
        b.fill(block_bytes);
        Ok(b)
    }

    /// The start of the input (up to one block), BOM stripped, for sniffing.
    pub fn first_block(&self) -> &[u8] {
        auditframe::decoder::strip_bom(&self.buf)
    }

    /// A read problem that ended the input early, in lenient mode.
    pub fn truncated(&self) -> Option<&str> {
        self.truncated.as_deref()
    }

    /// Reads until `buf` holds at least `want` bytes or the input ends, straight into `buf`.
    fn fill(&mut self, want: usize) {
        while !self.eof && self.buf.len() < want {
            let need = want
                .saturating_sub(self.buf.len())
                .clamp(64 << 10, 16 << 20);
            self.buf.reserve(need);
            match self
                .reader
                .by_ref()
                .take(need as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(n) if n < need => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.truncated = Some(format!("input ended early: {e}"));
                    self.io_error = Some(e);
                }
            }
        }
    }

    fn take_error(&mut self, strict: bool) -> Result<()> {
        match self.io_error.take() {
            Some(e) if strict => Err(Error::io(&self.name, e)),
            _ => Ok(()),
        }
    }

    /// The next block: whole lines (the last block may end without a newline). Owned, so
    /// that the next block can be read while this one is parsed.
    /// `spare` is a used block to recycle as the next buffer (fresh 64 MiB buffers would
    /// cost a page fault per 4 KiB, more than the copy itself).
    pub fn next_block(&mut self, strict: bool, spare: Option<Vec<u8>>) -> Result<Option<Vec<u8>>> {
        if !self.rest_after_discard.is_empty() {
            let rest = std::mem::take(&mut self.rest_after_discard);
            self.buf.splice(0..0, rest);
        }
        let want = self.block_bytes;
        self.fill(want);
        self.take_error(strict)?;
        if !self.started {
            self.started = true;
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let mut end = match auditframe::decoder::last_newline_before(&self.buf, self.buf.len()) {
            Some(nl) if !self.eof => nl + 1,
            _ if self.eof => self.buf.len(),
            _ => 0,
        };
        // A line longer than a block: keep reading until it ends, but never hold more than
        // the record limit of it: past that, the rest of the line is discarded and the core
        // sees a record one byte over the limit, which it reports as too large.
        while end == 0 {
            let have = self.buf.len();
            if have > self.max_record.saturating_add(1) {
                self.buf.truncate(self.max_record.saturating_add(1));
                self.discard_rest_of_line();
                self.take_error(strict)?;
                self.buf.push(b'\n');
                end = self.buf.len();
                break;
            }
            self.fill(have + self.block_bytes);
            self.take_error(strict)?;
            end = match memchr::memchr(b'\n', self.buf.get(have..).unwrap_or_default()) {
                Some(n) => have + n + 1,
                None if self.eof => self.buf.len(),
                None => 0,
            };
        }
        // Keep the partial line after `end` for the next block, in a buffer sized for it.
        let mut rest = spare.unwrap_or_default();
        rest.clear();
        rest.reserve(self.block_bytes.saturating_add(1 << 20));
        rest.extend_from_slice(self.buf.get(end..).unwrap_or_default());
        self.buf.truncate(end);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }

    /// Reads and drops input up to and including the next newline; what follows it is kept.
    fn discard_rest_of_line(&mut self) {
        let mut chunk = vec![0u8; 1 << 20];
        while !self.eof {
            match self.reader.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    let got = chunk.get(..n).unwrap_or_default();
                    if let Some(nl) = memchr::memchr(b'\n', got) {
                        self.rest_after_discard = got.get(nl + 1..).unwrap_or_default().to_vec();
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.truncated = Some(format!("input ended early: {e}"));
                    self.io_error = Some(e);
                }
            }
        }
    }

    /// Everything that is left, BOM stripped.
    pub fn read_all(&mut self, strict: bool) -> Result<Vec<u8>> {
        self.fill(usize::MAX);
        self.take_error(strict)?;
        let mut all = std::mem::take(&mut self.buf);
        if all.starts_with(b"\xEF\xBB\xBF") {
            all.drain(..3);
        }
        Ok(all)
    }
}
