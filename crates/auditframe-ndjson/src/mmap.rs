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

/// Drops the page-table entries of `part` (a stretch of `map` that a parse task is done
/// with) while the rest of the file is parsed, so that unmapping the file afterwards has
/// little left to tear down. Unmapping a big mapping takes tens of milliseconds per GiB and
/// holds the process's memory-map lock the whole time (~35 ms for a 1.3 GB file here), which
/// stalls every other thread that faults in a fresh page (building the frame does, right
/// after the parse); dropping the entries of a stretch only takes that lock for reading, on
/// the thread that has just read it.
/// The pages stay in the page cache. A task may still read a line that runs into a stretch
/// another task dropped: it faults the page in again from the page cache and sees the same
/// bytes. Best effort: a failure changes nothing.
pub(crate) fn forget(map: &Mmap, part: &[u8]) {
    #[cfg(not(unix))]
    let _ = (map, part);
    #[cfg(unix)]
    {
        let offset = (part.as_ptr() as usize).wrapping_sub(map.as_ptr() as usize);
        if part.len() < FORGET_MIN_BYTES || offset.checked_add(part.len()) > Some(map.len()) {
            return;
        }
        // SAFETY: the mapping is read-only and private, and nothing ever writes to it, so
        // `MADV_DONTNEED` discards no data: the next read of these pages faults them in
        // again from the file, with the bytes they had (the one exception, the file being
        // changed on disk meanwhile, is the policy documented above for the whole mapping).
        // The range is within the mapping (checked above; memmap2 rounds it to pages).
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, part.len())
        };
    }
}

/// Stretches smaller than this are left mapped (the call would cost more than it saves).
#[cfg(unix)]
const FORGET_MIN_BYTES: usize = 1 << 20;

/// Unmaps `map` off the caller's path. After a whole parse [`forget`] has left little to
/// tear down, but a read that stopped early (an error, a cancel) leaves the rest of the
/// file's entries, tens of milliseconds per GiB that the caller's next step need not wait
/// for. A pool thread does it (nothing else holds the bytes).
pub(crate) fn release(map: Mmap) {
    if map.len() >= RELEASE_IN_BACKGROUND_BYTES {
        rayon::spawn(move || drop(map));
    }
}

/// Mappings smaller than this are unmapped on the spot (cheap, and no task is queued).
const RELEASE_IN_BACKGROUND_BYTES: usize = 64 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_pages_read_back_the_same_bytes() {
        let path = std::env::temp_dir().join(format!("auditframe-mmap-{}", std::process::id()));
        let data: Vec<u8> = (0..(3usize << 20) + 123)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let map = map(&File::open(&path).unwrap()).unwrap().unwrap();
        assert_eq!(&map[..], &data[..]);
        // Unaligned stretches, the last one running to the end; one too small to bother.
        forget(&map, &map[100..(1 << 20) + 5000]);
        forget(&map, &map[(2 << 20) - 7..]);
        forget(&map, &map[10..20]);
        assert_eq!(&map[..], &data[..]);
        // A slice that is not part of the mapping is ignored.
        forget(&map, &data[..]);
        assert_eq!(&map[..], &data[..]);
        drop(map);
        let _ = std::fs::remove_file(&path);
    }
}
