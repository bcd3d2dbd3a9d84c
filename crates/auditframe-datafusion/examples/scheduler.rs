//! A Ballista scheduler that knows auditframe's tables, scans and functions.
//!
//! ```text
//! cargo run --release -p auditframe-datafusion --example scheduler -- [--bind-host 0.0.0.0] [--port 50050]
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;

mod common;

#[derive(Parser)]
#[command(about = "A Ballista scheduler with auditframe's codecs and functions")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 50050)]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::run(async move {
        let mut config = auditframe_datafusion::ballista::scheduler_config();
        config.bind_host = args.bind_host;
        config.bind_port = args.port;
        let addr: SocketAddr = format!("{}:{}", config.bind_host, config.bind_port).parse()?;
        let cluster = BallistaCluster::new_from_config(&config).await?;
        eprintln!("auditframe scheduler listening on {addr}");
        start_server(cluster, addr, Arc::new(config)).await?;
        Ok(())
    })
}
