//! `cxone-sim --scenario FILE [--port N] [--port-file PATH]`: runs the CXone
//! simulator until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cxone_sim::Scenario;

/// Runs the CXone simulator until SIGTERM or Ctrl-C.
#[derive(Debug, Parser)]
#[command(
    name = "cxone-sim",
    override_usage = "cxone-sim --scenario FILE [--port N (0 = free)] [--port-file PATH]",
    args_override_self = true
)]
struct Args {
    /// The scenario file (JSON; see infra/cxone-sim/README.md).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// The port to listen on at 127.0.0.1 (0 = a free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    port: u16,
    /// A file to write the bound port to once listening.
    #[arg(long, value_name = "PATH")]
    port_file: Option<PathBuf>,
}

/// Waits for SIGTERM (on Unix) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // A bad or missing argument prints the reason and the usage and exits with status 2.
    let args = Args::parse();
    let scenario = match Scenario::from_file(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cxone-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let handle = match cxone_sim::spawn_on(scenario, args.port).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cxone-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(pf) = &args.port_file {
        if let Err(e) = std::fs::write(pf, handle.addr().port().to_string()) {
            eprintln!("cxone-sim: cannot write {}: {e}", pf.display());
            handle.shutdown().await;
            return ExitCode::FAILURE;
        }
    }
    println!("cxone-sim listening on {}", handle.base_url());
    shutdown_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    ExitCode::SUCCESS
}
