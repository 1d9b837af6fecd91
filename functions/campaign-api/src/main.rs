//! Lambda entry point of the operator API.

use std::sync::Arc;

use campaign_api::Api;
use lambda_http::{service_fn, Error, Request, RequestExt};
use shared::deadline::Deadline;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::observability::init_logging();
    let deps = shared::wiring::Deps::from_env().await?;
    let api = Arc::new(Api::new(&deps));
    lambda_http::run(service_fn(move |request: Request| {
        let api = api.clone();
        async move {
            let deadline = request
                .lambda_context_ref()
                .map(|c| Deadline::from_epoch_ms(c.deadline))
                .unwrap_or_else(|| Deadline::after(std::time::Duration::from_secs(25)));
            Ok::<_, Error>(api.handle(request, deadline).await)
        }
    }))
    .await
}
