//! A loopback simulator of the NICE CXone API subset the bundle uses.
//!
//! It serves discovery, the token endpoint and every operation of
//! `docs/cxone-api.md` with the shapes described there, runs a Personal
//! Connection dialler ([`shared::engine::dialer`]) per skill on a simulated
//! clock that only the admin API moves, records ground truth per skill per
//! simulated minute, and can inject faults. It can post signed
//! `contact.completed` webhooks for the contacts it completes ([`webhook`]).
//! See `README.md` for the scenario format and admin API.
//!
//! Modules: [`scenario`] (the day to simulate), [`state`] (the simulated
//! tenant behind one lock), [`server`] (the HTTP routes, one file per
//! resource), [`settings`] (CXone's parameter shapes and rules), [`model`]
//! (shared types: truth, contacts, faults, the request log), [`webhook`]
//! and [`client`] (a typed client of the admin API).

#![warn(missing_docs)]

pub mod client;
pub mod model;
pub mod scenario;
pub mod server;
pub mod settings;
pub mod state;
pub mod webhook;

use std::net::SocketAddr;

pub use client::{AdminClient, WebhookStatus};
pub use model::{ContactRecord, Fault, FaultKind, RequestLog, Truth, TruthCounters, TruthInterval};
pub use scenario::Scenario;
pub use webhook::{WebhookConfig, WebhookStats};

/// Errors starting or driving the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario is unreadable or invalid.
    #[error("scenario: {0}")]
    Scenario(String),
    /// Binding or serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// An admin call failed (transport or unexpected answer).
    #[error("admin API: {0}")]
    Admin(String),
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts a simulator for `scenario` on `127.0.0.1:0` (a free port).
pub async fn spawn(scenario: Scenario) -> Result<SimHandle, SimError> {
    spawn_on(scenario, 0).await
}

/// Starts a simulator for `scenario` on `127.0.0.1:port` (0 = a free port).
pub async fn spawn_on(scenario: Scenario, port: u16) -> Result<SimHandle, SimError> {
    let mut st = state::SimState::new(&scenario)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    st.base_url = format!("http://{addr}");
    let app = server::App::new(st);
    let router = server::router(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "cxone-sim server stopped with an error");
        }
    });
    tracing::info!(%addr, "cxone-sim listening");
    Ok(SimHandle {
        addr,
        shutdown: Some(tx),
        task,
    })
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A typed client of the admin API.
    pub fn admin(&self) -> AdminClient {
        AdminClient::new(self.base_url())
    }

    /// Stops serving and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
