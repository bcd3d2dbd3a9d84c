//! Memory-mapped input files: the crate's one `unsafe` call.
//!
//! Regular files are mapped read-only and parsed where they lie, with no copy into user
//! space and no reader thread.
//!
//! **Files that change while mapped.** A mapping shows the file as it is on disk, not as it
//! was when opened. Data appended after the file was opened is not read (the mapping has the
//! length the file had then). A file *truncated* while it is being read makes the pages past
//! the new end unreadable, and touching them raises `SIGBUS`, which ends the process — the
//! same policy as ripgrep and every other mmap-based reader. Read files that another process
//! may truncate (e.g. a log being rotated in place) with
//! [`ReaderBuilder::mmap(false)`](crate::ReaderBuilder::mmap) or through stdin, which use
//! ordinary buffered reads. Files that are rotated by rename (the usual way) are safe.

#![allow(unsafe_code)]

use std::fs::File;

use memmap2::{Mmap, MmapOptions};

/// Maps `file` read-only. `Ok(None)` for an empty file (which cannot be mapped, and needs
/// no mapping).
pub(crate) fn map(file: &File) -> std::io::Result<Option<Mmap>> {
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the mapping is read-only and private to this process; the bytes are only ever
    // read through the `&[u8]` it derefs to, and the `Mmap` outlives every slice of it (it is
    // dropped after the read that borrows it). The remaining hazard — another process
    // truncating the file while it is read — is documented above and cannot cause silent
    // misreads, only a `SIGBUS`.
    let map = unsafe { MmapOptions::new().map(file)? };
    #[cfg(unix)]
    {
        // A hint: the reader goes front to back. Failure changes nothing.
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Ok(Some(map))
}

/// Unmaps `map` off the caller's path: tearing down the page tables of a big mapping takes
/// ~60 ms per GiB, serial, which the caller's next step (building the frame, analysing it)
/// need not wait for. A pool thread does it (nothing else holds the bytes).
pub(crate) fn release(map: Mmap) {
    if map.len() >= RELEASE_IN_BACKGROUND_BYTES {
        rayon::spawn(move || drop(map));
    }
}

/// Mappings smaller than this are unmapped on the spot (cheap, and no task is queued).
const RELEASE_IN_BACKGROUND_BYTES: usize = 64 << 20;
