//! `cxone-sim --scenario FILE [--port N] [--port-file PATH]`: runs the CXone
//! simulator until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use cxone_sim::Scenario;

struct Args {
    scenario: PathBuf,
    port: u16,
    port_file: Option<PathBuf>,
}

const USAGE: &str = "usage: cxone-sim --scenario FILE [--port N (0 = free)] [--port-file PATH]";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut scenario, mut port, mut port_file) = (None, 0u16, None);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--scenario" => {
                scenario = Some(PathBuf::from(it.next().ok_or("--scenario needs a value")?))
            }
            "--port" => {
                port = it
                    .next()
                    .ok_or("--port needs a value")?
                    .parse()
                    .map_err(|_| "--port must be 0..65535")?;
            }
            "--port-file" => {
                port_file = Some(PathBuf::from(it.next().ok_or("--port-file needs a value")?))
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args {
        scenario: scenario.ok_or_else(|| format!("--scenario is required\n{USAGE}"))?,
        port,
        port_file,
    })
}

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
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
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
