//! Lambda entry point of webhook-ingest: [`Deps`] built once per cold start
//! (no CXone client and no CXone secret: this function never calls CXone;
//! the webhook signing secret is read and checked first, and an unusable one
//! stops the start with the reason), each request handed
//! to [`WebhookIngest::handle`], which reads the invocation's deadline
//! itself; every outcome is an HTTP answer (it never fails).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{run, service_fn, Error, Request};
use shared::observability::init_logging;
use webhook_ingest::{Deps, WebhookIngest};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = match Deps::from_env().await {
        Ok(deps) => deps,
        Err(e) => {
            tracing::error!(error = %e, "webhook-ingest cannot start");
            return Err(e.into());
        }
    };
    let app = Arc::new(WebhookIngest::from_deps(&deps));
    run(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}
