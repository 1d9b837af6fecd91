//! Lambda entry point of the schedule deployer: [`Deps`] built once per
//! cold start, each request handed to [`Deployer::handle`] with the
//! invocation's deadline; every outcome is an HTTP answer (it never fails).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{run, service_fn, Error, Request};
use schedule_deployer::Deployer;
use shared::lambda_entry::request_deadline;
use shared::observability::init_logging;
use shared::wiring::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = Deps::from_env().await?;
    let deployer = Arc::new(Deployer::new(&deps));
    run(service_fn(move |request: Request| {
        let deployer = deployer.clone();
        async move {
            let deadline = request_deadline(&request);
            Ok::<_, Infallible>(deployer.handle(request, deadline).await)
        }
    }))
    .await
}
