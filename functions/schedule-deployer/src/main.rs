//! Lambda entry point of the schedule deployer.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request, RequestExt};
use schedule_deployer::Deployer;
use shared::deadline::Deadline;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::observability::init_logging();
    let deps = shared::wiring::Deps::from_env().await?;
    let deployer = Arc::new(Deployer::new(&deps));
    lambda_http::run(service_fn(move |request: Request| {
        let deployer = deployer.clone();
        async move {
            let deadline = request
                .lambda_context_ref()
                .map(|c| Deadline::from_epoch_ms(c.deadline))
                .unwrap_or_else(|| Deadline::after(std::time::Duration::from_secs(25)));
            Ok::<_, Error>(deployer.handle(request, deadline).await)
        }
    }))
    .await
}
