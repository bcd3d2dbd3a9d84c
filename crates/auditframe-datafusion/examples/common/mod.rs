//! What the examples share: a runtime, and errors as an exit status.

use std::future::Future;
use std::process::ExitCode;

/// An example's result.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Runs `main` on a multi-threaded runtime whose threads have room for Ballista's plan
/// (de)serialisation, which recurses deeply; an error is printed and is exit status 1 (a
/// closed stdout, `| head`, is not an error).
pub fn run(main: impl Future<Output = Res<()>>) -> ExitCode {
    let result = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .map_err(Into::into)
        .and_then(|rt| rt.block_on(main));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
