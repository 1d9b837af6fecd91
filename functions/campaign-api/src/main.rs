//! Lambda entry point of the operator API: [`Deps`] built once per cold
//! start, each request handed to [`Api::handle`] with the invocation's
//! deadline; every outcome is an HTTP answer (it never fails). With
//! `CONTACT_INTAKE_QUEUE_URL` set, large contact uploads are queued there.

use std::convert::Infallible;
use std::sync::Arc;

use campaign_api::contact_queue::IntakeQueue;
use campaign_api::Api;
use lambda_http::{run, service_fn, Error, Request};
use shared::lambda_entry::request_deadline;
use shared::observability::init_logging;
use shared::wiring::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = Deps::from_env().await?;
    let api = Arc::new(Api::new(&deps).with_intake_queue(IntakeQueue::from_env().await));
    run(service_fn(move |request: Request| {
        let api = api.clone();
        async move {
            let deadline = request_deadline(&request);
            Ok::<_, Infallible>(api.handle(request, deadline).await)
        }
    }))
    .await
}
