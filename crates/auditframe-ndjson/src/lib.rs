//! # auditframe-ndjson
//!
//! Reads Kubernetes audit exports from files, stdin, `.gz` files and directories into an
//! [`auditframe::AuditFrame`], parsing large inputs in parallel.
//!
//! This crate knows bytes and files: it decompresses, walks directories, reads in bounded
//! blocks, splits blocks into chunks on line boundaries and hands them to the core parser on
//! all cores ([rayon]). Row order always equals input order.
//! [`ReaderBuilder::read_paths`] builds one frame of everything;
//! [`ReaderBuilder::for_each_frame`] streams a frame per block instead, for inputs bigger
//! than memory. Which record shapes are
//! understood, and how bad records are handled, is the core crate's business
//! ([`auditframe::ParseOptions`]).
//!
//! ```
//! use auditframe_ndjson::ReaderBuilder;
//! let dir = std::env::temp_dir().join("auditframe-ndjson-doc");
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.log");
//! std::fs::write(&path, concat!(
//!     r#"{"kind":"Event","verb":"get","stage":"ResponseComplete","userAgent":"kubectl","stageTimestamp":"2026-11-20T10:00:00Z"}"#, "\n",
//!     "{truncated\n",
//! ))?;
//! let (frame, report) = ReaderBuilder::new().read_path(&path)?;
//! assert_eq!(frame.height(), 1);
//! assert_eq!(report.parse.skipped_total(), 1);
//! let first = &report.parse.errors[0];
//! assert_eq!(first.position().map(|p| p.line), Some(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
// Input-driven code must not panic: errors are returned or counted instead.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod categories;
mod error;
mod input;
mod lines;
mod mmap;
mod source;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use auditframe::decoder::FrameBuilder;
use auditframe::{AuditFrame, ParseOptions, ParseReport, Projection, Shape};
use rayon::prelude::*;

pub use auditframe::source::{InputReport, Progress, ProgressFn, ReadReport};
pub use categories::may_hold_categories;
pub use error::{Error, Result};
pub use lines::split_on_lines;

/// Default block size: input is read and parsed this many bytes at a time (64 MiB), which
/// bounds the reader's memory beyond the frame itself.
pub const DEFAULT_BLOCK_BYTES: usize = 64 << 20;

/// Default chunk size for parallel parsing (1 MiB).
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;

/// Told each stretch of an in-memory input that a parse task is done with.
type Parsed<'a> = dyn Fn(&[u8]) + Sync + 'a;

/// Configures and runs a read. Cheap to clone.
#[derive(Clone)]
pub struct ReaderBuilder {
    opts: ParseOptions,
    block_bytes: usize,
    chunk_bytes: usize,
    mmap: bool,
    progress: Option<Arc<ProgressFn>>,
    cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for ReaderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderBuilder")
            .field("opts", &self.opts)
            .field("block_bytes", &self.block_bytes)
            .field("chunk_bytes", &self.chunk_bytes)
            .field("mmap", &self.mmap)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

impl Default for ReaderBuilder {
    fn default() -> Self {
        ReaderBuilder {
            opts: ParseOptions::new(),
            block_bytes: DEFAULT_BLOCK_BYTES,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            mmap: true,
            progress: None,
            cancel: None,
        }
    }
}

impl ReaderBuilder {
    /// Lenient, all columns, shape sniffed per input, 64 MiB blocks.
    pub fn new() -> ReaderBuilder {
        ReaderBuilder::default()
    }

    /// Uses these parse options (shape, projection, strictness, record size limit).
    #[must_use]
    pub fn options(mut self, opts: ParseOptions) -> ReaderBuilder {
        self.opts = opts;
        self
    }

    /// Forces a shape for every input (`None`: each input's first record that matches a
    /// shape decides its shape).
    #[must_use]
    pub fn shape(mut self, shape: Option<Shape>) -> ReaderBuilder {
        self.opts = self.opts.with_shape(shape);
        self
    }

    /// Materialises only these columns; unneeded JSON values are skipped while parsing.
    #[must_use]
    pub fn projection(mut self, projection: Projection) -> ReaderBuilder {
        self.opts = self.opts.with_projection(projection);
        self
    }

    /// Fails on the first bad record instead of skipping and counting it.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> ReaderBuilder {
        self.opts = self.opts.with_strict(strict);
        self
    }

    /// Events whose text was cut short are errors (skipped and counted, or fatal in strict
    /// mode) instead of rows salvaged from their complete members (see
    /// [`auditframe::ParseOptions::with_reject_truncated`]).
    #[must_use]
    pub fn reject_truncated(mut self, reject: bool) -> ReaderBuilder {
        self.opts = self.opts.with_reject_truncated(reject);
        self
    }

    /// Keeps each row's audit ID as a compact key beside the frames, for
    /// [`auditframe::copies::CategoryCopies`] without the `audit_id` column (see
    /// [`auditframe::ParseOptions::with_copy_keys`]).
    #[must_use]
    pub fn copy_keys(mut self, keep: bool) -> ReaderBuilder {
        self.opts = self.opts.with_copy_keys(keep);
        self
    }

    /// The `cluster` of events whose record names none, such as native kube-apiserver logs
    /// (see [`auditframe::ParseOptions::with_cluster_label`]).
    #[must_use]
    pub fn cluster_label(mut self, cluster: Option<&str>) -> ReaderBuilder {
        self.opts = self.opts.with_cluster_label(cluster);
        self
    }

    /// Records longer than this are errors (default 64 MiB).
    #[must_use]
    pub fn max_record_bytes(mut self, n: usize) -> ReaderBuilder {
        self.opts = self.opts.with_max_record_bytes(n);
        self
    }

    /// Bytes read and parsed at a time (at least 64 KiB). Peak memory is about the frame
    /// plus one block. A mapped file read whole is parsed in one pass (nothing to buffer);
    /// the block size is then how often progress is reported.
    #[must_use]
    pub fn block_bytes(mut self, n: usize) -> ReaderBuilder {
        self.block_bytes = n.max(64 << 10);
        self
    }

    /// Target size of the chunks parsed in parallel (at least 4 KiB).
    #[must_use]
    pub fn chunk_bytes(mut self, n: usize) -> ReaderBuilder {
        self.chunk_bytes = n.max(4 << 10);
        self
    }

    /// Whether regular files are memory-mapped and parsed in place (default `true`): no copy
    /// into user space, no reader thread. `false` reads them in blocks like stdin; use it for
    /// files another process may truncate while they are read (see the crate docs on
    /// mapped files). Compressed files are always streamed.
    #[must_use]
    pub fn mmap(mut self, yes: bool) -> ReaderBuilder {
        self.mmap = yes;
        self
    }

    /// Reports progress after every block (for a progress line on a terminal). The callback
    /// may be called from any of the pool's threads, never from two at once.
    #[must_use]
    pub fn progress(mut self, f: Arc<ProgressFn>) -> ReaderBuilder {
        self.progress = Some(f);
        self
    }

    /// Stops the read with [`Error::Cancelled`] at the next block once `flag` is set (from
    /// another thread: a front end's Ctrl-C handler). A block already being parsed finishes
    /// (in a one-pass read of a mapped file, the chunks being parsed).
    #[must_use]
    pub fn cancel(mut self, flag: Arc<AtomicBool>) -> ReaderBuilder {
        self.cancel = Some(flag);
        self
    }

    /// After each block: reports progress, and stops a cancelled read.
    fn block_done(&self, name: &str, input: &InputReport) -> Result<()> {
        if let Some(f) = &self.progress {
            f(&Progress {
                input: name,
                bytes: Some(input.bytes),
                row_groups: None,
                rows: input.rows,
            });
        }
        self.check_cancelled()
    }

    fn check_cancelled(&self) -> Result<()> {
        match &self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// The parse options in use.
    pub fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    /// Reads a file, or every supported file under a directory (recursively, in path
    /// order). `-` reads stdin.
    pub fn read_path(&self, path: impl AsRef<Path>) -> Result<(AuditFrame, ReadReport)> {
        self.read_paths(&[path.as_ref().to_path_buf()])
    }

    /// Reads several paths (files, directories, or `-` for stdin) in order into one frame.
    pub fn read_paths(&self, paths: &[PathBuf]) -> Result<(AuditFrame, ReadReport)> {
        let mut all = FrameBuilder::new(&self.opts, None);
        let mut report = ReadReport::default();
        for f in expand(paths)? {
            let (b, input) = self.read_source(self.open(&f)?, Rows::Collect)?;
            report.inputs.push(input);
            all.append(b);
        }
        let (frame, parse) = all.finish().map_err(Error::Parse)?;
        report.parse = parse;
        Ok((frame, report))
    }

    /// Reads one input from any `Read` (decompressing gzip when it starts with the gzip
    /// magic bytes). `name` labels error positions.
    pub fn read_reader(
        &self,
        reader: impl Read + Send,
        name: &str,
    ) -> Result<(AuditFrame, ReadReport)> {
        let (b, input) = self.read_input(reader, name, Rows::Collect)?;
        finish_one(b, input)
    }

    /// Parses an in-memory input in parallel, in place (gzip data is decompressed first).
    pub fn read_slice(&self, bytes: &[u8], name: &str) -> Result<(AuditFrame, ReadReport)> {
        let (b, input) = self.read_source(Source::Slice(bytes, name.to_owned()), Rows::Collect)?;
        finish_one(b, input)
    }

    /// Opens one of the inputs `expand` lists: a regular file is mapped (unless turned off
    /// or compressed); stdin and everything else is read.
    fn open(&self, path: &Path) -> Result<Source<'static>> {
        if path.as_os_str() == "-" {
            return Ok(Source::Reader(
                Box::new(std::io::stdin()),
                "<stdin>".to_owned(),
            ));
        }
        let name = path.display().to_string();
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if self.mmap && regular && !is_gzip(&mut file).map_err(|e| Error::io(path, e))? {
            return match mmap::map(&file).map_err(|e| Error::io(path, e))? {
                Some(map) => Ok(Source::Mapped(map, name)),
                None => Ok(Source::Slice(&[], name)),
            };
        }
        Ok(Source::Reader(Box::new(file), name))
    }

    /// Reads one input, in place when its bytes are in memory.
    fn read_source(
        &self,
        source: Source<'_>,
        rows: Rows<'_>,
    ) -> Result<(FrameBuilder, InputReport)> {
        self.check_cancelled()?;
        match source {
            Source::Reader(r, name) => self.read_input(r, &name, rows),
            Source::Mapped(map, name) => {
                let read = self.read_in_place(&map, &name, rows, &|part| mmap::forget(&map, part));
                mmap::release(map);
                read
            }
            Source::Slice(bytes, name) if bytes.starts_with(&[0x1f, 0x8b]) => {
                self.read_input(bytes, &name, rows)
            }
            Source::Slice(bytes, name) => self.read_in_place(bytes, &name, rows, &|_| {}),
        }
    }

    /// Parses an input that is wholly in memory where it lies, in parallel chunks cut at
    /// newlines: in one pass when its rows are collected, else a window of about a block at
    /// a time (JSON arrays and pretty-printed documents are delimited by the structural scan
    /// instead).
    ///
    /// `parsed` is told each stretch of `bytes` a task is done with (a mapped file drops its
    /// page-table entries then, see [`mmap::forget`]).
    fn read_in_place(
        &self,
        bytes: &[u8],
        name: &str,
        mut rows: Rows<'_>,
        parsed: &Parsed<'_>,
    ) -> Result<(FrameBuilder, InputReport)> {
        let bytes = auditframe::decoder::strip_bom(bytes);
        let first = bytes
            .get(..bytes.len().min(self.block_bytes))
            .unwrap_or(bytes);
        let Start {
            source,
            mut builder,
            mut input,
            framing,
            shape,
        } = self.start(name, first);
        if framing == auditframe::decoder::Framing::Lines && matches!(rows, Rows::Collect) {
            // One pass over the whole input: nothing needs the rows a block at a time.
            let watch = lines::Watch::new(name, self.block_bytes);
            let parts = self.parse_lines_parallel(bytes, shape, &source, parsed, Some(&watch));
            self.check_cancelled()?;
            input.bytes = bytes.len() as u64;
            self.emit(parts, &mut builder, &mut rows, &mut input, shape, &source)?;
            self.block_done(name, &input)?;
        } else if framing == auditframe::decoder::Framing::Lines {
            // A frame per block, handed on in order while the next blocks are parsed.
            self.stream_lines(bytes, shape, &source, parsed, &mut |parts, block| {
                input.bytes += block.len() as u64;
                self.emit(parts, &mut builder, &mut rows, &mut input, shape, &source)?;
                self.block_done(name, &input)?;
                Ok(!builder.has_failed())
            })?;
        } else {
            input.bytes = bytes.len() as u64;
            let parts = self.parse_values_parallel(bytes, framing, shape, &source);
            self.emit(parts, &mut builder, &mut rows, &mut input, shape, &source)?;
        }
        input.shape = input.shape.or(builder.shape());
        Ok((builder, input))
    }

    fn read_input(
        &self,
        reader: impl Read + Send,
        name: &str,
        mut rows: Rows<'_>,
    ) -> Result<(FrameBuilder, InputReport)> {
        let mut blocks =
            input::Blocks::new(reader, name, self.block_bytes, self.opts.max_record_bytes())?;
        let Start {
            source,
            mut builder,
            mut input,
            framing,
            mut shape,
        } = self.start(name, blocks.first_block());
        if framing == auditframe::decoder::Framing::Lines {
            // A reader thread fetches (and decompresses) the next block while this one is
            // parsed on the pool: reading costs as much CPU as a tenth of the parse.
            let strict = self.opts.strict();
            let blocks_ref = &mut blocks;
            std::thread::scope(|scope| -> Result<()> {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<u8>>>(1);
                let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<u8>>();
                scope.spawn(move || loop {
                    match blocks_ref.next_block(strict, recycle_rx.try_recv().ok()) {
                        Ok(Some(b)) => {
                            if tx.send(Ok(b)).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                });
                for (k, block) in rx.into_iter().enumerate() {
                    let block = block?;
                    input.bytes += block.len() as u64;
                    // No record of the blocks so far matched a shape (the first block was
                    // sniffed whole by `start`): the first of this block that does decides.
                    if shape.is_none() && k > 0 {
                        shape =
                            auditframe::decoder::sniff_framed_shape(&block, framing, usize::MAX);
                    }
                    let parts = self.parse_lines_parallel(&block, shape, &source, &|_| {}, None);
                    self.emit(parts, &mut builder, &mut rows, &mut input, shape, &source)?;
                    self.block_done(name, &input)?;
                    if builder.has_failed() {
                        break;
                    }
                    let _ = recycle_tx.send(block);
                }
                Ok(())
            })?;
        } else {
            // Arrays and pretty-printed documents cannot be split on lines: read the whole
            // input, delimit records with the structural scan, parse groups in parallel.
            let all = blocks.read_all(self.opts.strict())?;
            input.bytes = all.len() as u64;
            // The first block was sniffed whole by `start`; the records after it, if none
            // of its matched a shape.
            if shape.is_none() {
                shape = auditframe::decoder::sniff_framed_shape(&all, framing, usize::MAX);
            }
            let parts = self.parse_values_parallel(&all, framing, shape, &source);
            self.emit(parts, &mut builder, &mut rows, &mut input, shape, &source)?;
        }
        input.truncated = blocks.truncated().map(str::to_owned);
        input.shape = input.shape.or(builder.shape());
        Ok((builder, input))
    }

    /// What every read of an input starts from: its framing and shape, detected on its first
    /// block (the shape forced by the options wins), and an empty builder and report.
    fn start(&self, name: &str, first: &[u8]) -> Start {
        let source: Arc<str> = Arc::from(name);
        let framing = auditframe::decoder::Framing::detect(first);
        // Until a record decides: the chunks of a block are parsed with the shape found
        // here, so that none of them guesses its own from its first records.
        let shape = self
            .opts
            .shape()
            .or_else(|| auditframe::decoder::sniff_framed_shape(first, framing, usize::MAX));
        let builder = self.new_builder(shape, &source);
        let input = InputReport {
            name: name.to_owned(),
            shape: None,
            bytes: 0,
            rows: 0,
            truncated: None,
            table: None,
        };
        Start {
            source,
            builder,
            input,
            framing,
            shape,
        }
    }

    /// Puts one block's chunk builders where the read wants its rows: appended to the
    /// input's builder, or built into a frame of its own and handed on.
    fn emit(
        &self,
        parts: Vec<FrameBuilder>,
        builder: &mut FrameBuilder,
        rows: &mut Rows<'_>,
        input: &mut InputReport,
        shape: Option<Shape>,
        source: &Arc<str>,
    ) -> Result<()> {
        match rows {
            Rows::Collect => {
                for p in parts {
                    builder.append(p);
                }
                input.rows = builder.rows() as u64;
            }
            Rows::Stream(f) => {
                // The block's builder starts where the input's previous blocks ended, so
                // positions stay relative to the input; `builder` only tracks that offset.
                let mut block = self.new_builder(shape, source);
                let (lines, bytes) = builder.consumed();
                block.advance(lines, bytes);
                for p in parts {
                    block.append(p);
                }
                let (after_lines, after_bytes) = block.consumed();
                builder.advance(after_lines - lines, after_bytes - bytes);
                input.shape = input.shape.or(block.shape());
                let (frame, report) = block.finish().map_err(Error::Parse)?;
                input.rows += frame.height() as u64;
                f(frame, report)?;
            }
        }
        Ok(())
    }

    /// [`for_each_frame`](ReaderBuilder::for_each_frame) over one input from any `Read`
    /// (gzip detected by content); `name` labels error positions.
    pub fn for_each_frame_in(
        &self,
        reader: impl Read + Send,
        name: &str,
        mut f: impl FnMut(AuditFrame, &ParseReport) -> Result<()>,
    ) -> Result<ReadReport> {
        let mut parse = ParseReport::default();
        let mut each = |frame: AuditFrame, rep: ParseReport| -> Result<()> {
            f(frame, &rep)?;
            parse.merge(rep);
            Ok(())
        };
        let (_, input) = self.read_input(reader, name, Rows::Stream(&mut each))?;
        Ok(ReadReport {
            parse,
            inputs: vec![input],
        })
    }

    /// Streams the inputs: each block of each input (64 MiB by default; a JSON-array input
    /// is one block) becomes a frame of its own, handed to `f` in input order and dropped
    /// after it. Memory stays bounded by the block size whatever the input size, which is
    /// what analysing a bigger-than-memory export needs (merge each frame's
    /// [`auditframe::analysis::partial`]). Error positions are relative to each input, as in
    /// [`read_paths`](ReaderBuilder::read_paths).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join("auditframe-ndjson-stream-doc");
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("audit.log");
    /// # let mut data = Vec::new();
    /// # auditframe::generate::Generator::new(auditframe::generate::GeneratorOptions::default().with_events(3000))
    /// #     .write(auditframe::Shape::Native, &mut data);
    /// # std::fs::write(&path, &data)?;
    /// use auditframe::{AnalysisOptions, Partial};
    /// use auditframe::analysis::partial;
    /// let opts = AnalysisOptions::default();
    /// let mut acc = Partial::default();
    /// let report = auditframe_ndjson::ReaderBuilder::new()
    ///     .block_bytes(1 << 20)
    ///     .for_each_frame(&[path], |frame, _| {
    ///         acc.merge(partial(&frame, &opts)?);
    ///         Ok(())
    ///     })?;
    /// let result = acc.finish(&opts)?;
    /// assert_eq!(result.rows, report.parse.rows);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_each_frame(
        &self,
        paths: &[PathBuf],
        mut f: impl FnMut(AuditFrame, &ParseReport) -> Result<()>,
    ) -> Result<ReadReport> {
        let mut report = ReadReport::default();
        for file in expand(paths)? {
            let mut parse = ParseReport::default();
            let mut each = |frame: AuditFrame, rep: ParseReport| -> Result<()> {
                f(frame, &rep)?;
                parse.merge(rep);
                Ok(())
            };
            let (_, input) = self.read_source(self.open(&file)?, Rows::Stream(&mut each))?;
            report.parse.merge(parse);
            report.inputs.push(input);
        }
        Ok(report)
    }

    fn new_builder(&self, shape: Option<Shape>, source: &Arc<str>) -> FrameBuilder {
        let mut b = FrameBuilder::new(&self.opts, Some(source.clone()));
        if let Some(s) = shape {
            b.set_shape(s);
        }
        b
    }

    fn parse_values_parallel(
        &self,
        all: &[u8],
        framing: auditframe::decoder::Framing,
        shape: Option<Shape>,
        source: &Arc<str>,
    ) -> Vec<FrameBuilder> {
        let items: Vec<_> = auditframe::decoder::values(all, framing).collect();
        let per = (items.len() / (rayon::current_num_threads() * 4)).max(64);
        let mut parts: Vec<FrameBuilder> = items
            .par_chunks(per)
            .map(|group| {
                let mut b = self.new_builder(shape, source);
                b.reserve(group.len());
                for item in group {
                    // Errors stay in the builder (strict mode stops it); `append` surfaces them.
                    let _ = b.push_value(item, all);
                }
                b
            })
            .collect();
        // Positions are absolute here; tell the last builder how much input there was so that
        // builders appended after this input shift correctly.
        match parts.last_mut() {
            Some(last) => last.advance_over(all),
            None => {
                let mut b = self.new_builder(shape, source);
                b.advance_over(all);
                parts.push(b);
            }
        }
        parts
    }
}

/// The frame and report of a read of one input.
fn finish_one(b: FrameBuilder, input: InputReport) -> Result<(AuditFrame, ReadReport)> {
    let (frame, parse) = b.finish().map_err(Error::Parse)?;
    Ok((
        frame,
        ReadReport {
            parse,
            inputs: vec![input],
        },
    ))
}

/// The start of one input's read (see [`ReaderBuilder::start`]).
struct Start {
    source: Arc<str>,
    builder: FrameBuilder,
    input: InputReport,
    framing: auditframe::decoder::Framing,
    shape: Option<Shape>,
}

/// Where a read puts each block's rows.
enum Rows<'f> {
    /// Into the input's builder (one frame at the end).
    Collect,
    /// Into a frame per block, handed to the callback.
    Stream(&'f mut dyn FnMut(AuditFrame, ParseReport) -> Result<()>),
}

/// The files a path stands for, by the rules of [`auditframe::source`] with the extensions
/// of JSON exports ([`auditframe::source::JSON_EXTENSIONS`]).
pub fn walk(path: &Path) -> Result<Vec<PathBuf>> {
    auditframe::source::walk(path, auditframe::source::JSON_EXTENSIONS)
        .map_err(|e| Error::io(e.path, e.source))
}

/// The files that `paths` stand for, in order (`-` stays as is: stdin).
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    expand_paths(paths).map_err(|e| Error::io(e.path, e.source))
}

/// [`expand`] with the walk's own error (what [`FrameSource::files`] returns).
///
/// [`FrameSource::files`]: auditframe::source::FrameSource::files
pub(crate) fn expand_paths(
    paths: &[PathBuf],
) -> std::result::Result<Vec<PathBuf>, auditframe::source::WalkError> {
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(p.clone());
        } else {
            files.extend(auditframe::source::walk(
                p,
                auditframe::source::JSON_EXTENSIONS,
            )?);
        }
    }
    Ok(files)
}

/// An opened input.
enum Source<'s> {
    /// Read in blocks (stdin, pipes, gzip, or mapping turned off).
    Reader(Box<dyn Read + Send>, String),
    /// A mapped regular file, parsed in place.
    Mapped(memmap2::Mmap, String),
    /// Bytes in memory (an empty file, or `read_slice`).
    Slice(&'s [u8], String),
}

/// Whether a file starts with the gzip magic bytes (the position is restored).
fn is_gzip(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match file.read(magic.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(got == 2 && magic == [0x1f, 0x8b])
}
