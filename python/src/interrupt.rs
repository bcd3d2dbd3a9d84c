//! Work without the GIL that Ctrl-C interrupts.
//!
//! The work runs on a worker thread while the calling thread, detached from the interpreter,
//! waits for it and every 100 ms briefly re-attaches to run Python's signal handlers. When
//! one raises (`KeyboardInterrupt` on Ctrl-C), the worker's cancel flag is set — the readers
//! stop at their next block or row group — and the handler's exception is raised as soon as
//! the worker has stopped, or after [`GRACE`] if it is blocked (reading a pipe that sends
//! nothing): it then ends on its own, and its result is dropped. Work that finishes sooner
//! returns at once: the wait is on a channel, not a sleep.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::Failure;

/// How often a waiting call lets Python handle signals.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// How long an interrupted call waits for its worker to stop.
const GRACE: Duration = Duration::from_secs(2);

/// Runs `work` without the GIL, interruptibly; `work` gets the flag it must pass to readers.
pub(crate) fn run<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce(Arc<AtomicBool>) -> Result<T, Failure> + Send + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let (tx, rx) = channel();
    let worker = std::thread::Builder::new()
        .name("auditframe".into())
        .spawn(move || {
            // The caller may have stopped waiting: then nobody receives, which is fine.
            let _ = tx.send(work(flag));
        })
        .map_err(|e| crate::errors::AuditframeError::new_err(format!("no worker thread: {e}")))?;
    let outcome = py.detach(move || loop {
        match rx.recv_timeout(SIGNAL_CHECK) {
            Ok(result) => return Outcome::Done(result),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(signal) = Python::attach(|py| py.check_signals()) {
                    cancel.store(true, Ordering::Relaxed);
                    let _ = rx.recv_timeout(GRACE);
                    return Outcome::Interrupted(signal);
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Outcome::Lost,
        }
    });
    match outcome {
        Outcome::Done(result) => {
            let _ = worker.join();
            result.map_err(Failure::into_py)
        }
        Outcome::Interrupted(signal) => Err(signal),
        // The worker panicked (a bug): say so rather than abort the interpreter.
        Outcome::Lost => Err(crate::errors::AuditframeError::new_err(
            "auditframe's worker thread panicked; please report it with the input",
        )),
    }
}

enum Outcome<T> {
    Done(Result<T, Failure>),
    Interrupted(PyErr),
    Lost,
}
