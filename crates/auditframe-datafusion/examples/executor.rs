//! A Ballista executor that can run auditframe's scans and functions.
//!
//! ```text
//! cargo run --release -p auditframe-datafusion --example executor -- \
//!     [--scheduler-host 127.0.0.1] [--scheduler-port 50050] [--port 50051] [--grpc-port 50052] [--concurrent-tasks N]
//! ```
//!
//! The audit files a query names must be readable at the same paths here.

use std::process::ExitCode;
use std::sync::Arc;

use ballista_executor::executor_process::start_executor_process;
use clap::Parser;

mod common;

#[derive(Parser)]
#[command(about = "A Ballista executor with auditframe's codecs and functions")]
struct Args {
    /// The scheduler's host.
    #[arg(long, default_value = "127.0.0.1")]
    scheduler_host: String,
    /// The scheduler's port.
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Arrow Flight port (results and shuffles).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// gRPC port.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks run at once (default: the cores).
    #[arg(long)]
    concurrent_tasks: Option<usize>,
    /// Directory for shuffle files (default: a temporary one).
    #[arg(long)]
    work_dir: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(async move {
        let mut config = auditframe_datafusion::ballista::executor_config();
        config.scheduler_host = args.scheduler_host;
        config.scheduler_port = args.scheduler_port;
        config.bind_host = args.bind_host.clone();
        config.external_host = Some(args.bind_host);
        config.port = args.port;
        config.grpc_port = args.grpc_port;
        config.work_dir = args.work_dir;
        if let Some(n) = args.concurrent_tasks {
            config.concurrent_tasks = n;
        }
        start_executor_process(Arc::new(config)).await?;
        Ok(())
    })
}
