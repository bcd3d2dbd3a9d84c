//! Newline-delimited input parsed in parallel, in input order.
//!
//! The input is cut into *chunks* of about `chunk_bytes` (the lines that start in each
//! stretch), and runs of consecutive chunks into *pieces*, one builder each, parsed on the
//! pool and returned in input order. A mapped file (or a slice) is one pass over the whole
//! input, with no barrier between blocks: waiting at the end of each 64 MiB block for its
//! slowest piece left a core idle for a fifth of the time on two cores.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auditframe::decoder::FrameBuilder;
use auditframe::source::Progress;
use auditframe::Shape;
use rayon::prelude::*;

use crate::{Parsed, ReaderBuilder};

/// Pieces per thread in a block's worth of chunks: enough that the last piece to finish
/// leaves the other threads idle for a fraction of a block (and a thread slowed by other
/// work delays the pass by a fraction of a piece), few enough that the pieces' dictionaries
/// are cheap to merge.
const PIECES_PER_THREAD: usize = 4;

/// Progress, cancellation and stop-after-failure of one pass over a whole input, shared by
/// its pieces: the pass reports as a block-by-block read would, once per `block_bytes`
/// parsed.
pub(crate) struct Watch<'w> {
    name: &'w str,
    block_bytes: u64,
    bytes: AtomicU64,
    rows: AtomicU64,
    /// Held while reporting, so that reports are in order and none follows a cancel.
    report: Mutex<()>,
}

impl<'w> Watch<'w> {
    pub(crate) fn new(name: &'w str, block_bytes: usize) -> Watch<'w> {
        Watch {
            name,
            block_bytes: (block_bytes as u64).max(1),
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            report: Mutex::new(()),
        }
    }

    /// Counts a parsed chunk; reports progress when the bytes parsed so far cross a block.
    fn chunk_done(&self, reader: &ReaderBuilder, bytes: usize, rows: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        let before = self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let after = before + bytes as u64;
        let Some(progress) = &reader.progress else {
            return;
        };
        if before / self.block_bytes == after / self.block_bytes {
            return;
        }
        // A poisoned lock only means another report panicked; reporting goes on.
        let _held = self.report.lock().unwrap_or_else(|e| e.into_inner());
        if reader.check_cancelled().is_err() {
            return;
        }
        // Read under the lock: the counters only grow, so reports never go backwards.
        progress(&Progress {
            input: self.name,
            bytes: Some(self.bytes.load(Ordering::Relaxed)),
            row_groups: None,
            rows: self.rows.load(Ordering::Relaxed),
        });
    }
}

impl ReaderBuilder {
    /// Parses the lines of `bytes` in pieces on the pool; the pieces' builders, in input
    /// order. `parsed` is told each stretch of `bytes` a piece is done with (a mapped file
    /// drops its page-table entries then, see [`crate::mmap::forget`]). With a `watch` (a
    /// pass over a whole input), progress is reported from the pieces, a cancel stops them
    /// at their next chunk; in strict mode, chunks after one that failed are not parsed
    /// (the first error in input order is the one reported).
    pub(crate) fn parse_lines_parallel(
        &self,
        bytes: &[u8],
        shape: Option<Shape>,
        source: &Arc<str>,
        parsed: &Parsed<'_>,
        watch: Option<&Watch<'_>>,
    ) -> Vec<FrameBuilder> {
        // Each piece finds its own lines (those starting in its chunks), so that no thread
        // scans the input for newlines first — nor takes, alone, the page faults (and, for a
        // file not in the page cache, the reads) at every chunk's start. A piece's size is
        // fixed up front (not by rayon's splits), so the number of builders, whose chunk
        // dictionaries are merged at the end, does not depend on scheduling.
        let size = self.chunk_bytes.max(1);
        let chunks = bytes.len().div_ceil(size);
        let block_chunks = self.block_bytes.div_ceil(size);
        let per_piece = chunks
            .min(block_chunks)
            .div_ceil(rayon::current_num_threads() * PIECES_PER_THREAD)
            .max(1);
        let rows = rows_in(bytes, per_piece * size);
        let first_failed = AtomicUsize::new(usize::MAX);
        (0..chunks.div_ceil(per_piece))
            .into_par_iter()
            // A task per piece: rayon otherwise runs a run of pieces as one task that no idle
            // thread can take from (measured: one core alone for the last 80 ms of a 1.3 GB
            // read).
            .with_max_len(1)
            .map(|piece| {
                let mut b = self.new_builder(shape, source);
                b.reserve(rows);
                let first = piece * per_piece;
                let end = (first + per_piece).min(chunks);
                for i in first..end {
                    if i > first_failed.load(Ordering::Relaxed)
                        || (watch.is_some() && self.check_cancelled().is_err())
                    {
                        break;
                    }
                    let lines = lines_starting_in(bytes, i * size, (i + 1) * size);
                    let before = b.rows();
                    // Errors are kept inside the builder (strict mode stops it); `append`
                    // surfaces them.
                    let _ = b.push_lines(lines);
                    if b.has_failed() {
                        first_failed.fetch_min(i, Ordering::Relaxed);
                    }
                    if let Some(w) = watch {
                        w.chunk_done(self, lines.len(), b.rows() - before);
                    }
                }
                // The lines starting here are parsed (the line that runs into this stretch
                // from the one before may still be read: see `mmap::forget`).
                if let Some(done) = bytes.get(first * size..(end * size).min(bytes.len())) {
                    parsed(done);
                }
                b
            })
            .collect()
    }
}

/// The first piece of `buf` of about `target` bytes that ends at a newline (or all of `buf`).
pub(crate) fn split_on_lines_once(buf: &[u8], target: usize) -> &[u8] {
    // Through the first newline at or after byte `target`.
    let want = target.max(1).min(buf.len());
    buf.get(..line_start_at(buf, want + 1)).unwrap_or(buf)
}

/// The first line start at or after `at`: 0, or just after a newline.
fn line_start_at(buf: &[u8], at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    match buf
        .get(at - 1..)
        .and_then(|tail| memchr::memchr(b'\n', tail))
    {
        Some(n) => at + n,
        None => buf.len(),
    }
}

/// About how many lines `bytes` of `block` hold, from the length of the lines in its first
/// [`LINE_SAMPLE`] bytes, with a quarter added: builders reserve that many rows, so that
/// their columns do not grow by copying (reserved and unused memory is never touched, so
/// over-estimating costs little).
fn rows_in(block: &[u8], bytes: usize) -> usize {
    let sample = block.get(..block.len().min(LINE_SAMPLE)).unwrap_or(block);
    let lines = memchr::memchr_iter(b'\n', sample).count().max(1);
    let per_line = (sample.len() / lines).max(1);
    bytes.min(block.len()) / per_line * 5 / 4
}

/// Bytes [`rows_in`] counts lines in.
const LINE_SAMPLE: usize = 256 << 10;

/// The lines of `buf` that start in `from..to`, as one slice (ending at a newline, or where
/// `buf` ends). Consecutive ranges give consecutive, disjoint slices that cover `buf`.
fn lines_starting_in(buf: &[u8], from: usize, to: usize) -> &[u8] {
    let start = line_start_at(buf, from.min(buf.len()));
    let end = line_start_at(buf, to.min(buf.len())).max(start);
    buf.get(start..end).unwrap_or_default()
}

/// Splits `buf` into the pieces the reader parses in parallel: for each stretch of `target`
/// bytes, the lines that start in it (empty pieces left out). Every piece but the last ends
/// at a newline; together they are `buf`.
pub fn split_on_lines(buf: &[u8], target: usize) -> Vec<&[u8]> {
    let size = target.max(1);
    (0..buf.len().div_ceil(size))
        .map(|i| lines_starting_in(buf, i * size, (i + 1) * size))
        .filter(|piece| !piece.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_starting_in_ranges_cover_the_buffer_in_order() {
        let buf = b"aaaa\nbb\ncccccc\nd\n\neee";
        for size in 1..30 {
            let parts: Vec<&[u8]> = (0..buf.len().div_ceil(size))
                .map(|i| lines_starting_in(buf, i * size, (i + 1) * size))
                .collect();
            assert_eq!(parts.concat(), buf.to_vec(), "size {size}");
            // Every non-empty part but the last ends at a newline and starts a line.
            let mut at = 0;
            for p in parts.iter().filter(|p| !p.is_empty()) {
                assert!(at == 0 || buf[at - 1] == b'\n', "size {size}");
                at += p.len();
                if at < buf.len() {
                    assert_eq!(p.last(), Some(&b'\n'), "size {size}");
                }
            }
        }
        assert!(lines_starting_in(b"", 0, 10).is_empty());
        assert_eq!(lines_starting_in(b"ab\ncd\n", 1, 4), b"cd\n");
    }

    #[test]
    fn split_keeps_every_byte_and_ends_on_newlines() {
        let buf = b"aaaa\nbb\ncccccc\nd\n\neee";
        for target in 1..30 {
            let parts = split_on_lines(buf, target);
            assert_eq!(parts.concat(), buf.to_vec(), "target {target}");
            for p in &parts[..parts.len() - 1] {
                assert_eq!(p.last(), Some(&b'\n'));
            }
        }
        assert!(split_on_lines(b"", 10).is_empty());
    }
}
