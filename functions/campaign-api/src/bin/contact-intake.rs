//! Lambda entry point of `contact-intake`: [`Deps`] and the intake queue
//! built once per cold start, each SQS batch of upload steps handed to
//! [`Api::handle_intake_event`] with the invocation's deadline; a failed step
//! is a batch item failure, never a function error (see
//! `campaign_api::contact_queue`).

use std::convert::Infallible;
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use campaign_api::contact_queue::IntakeQueue;
use campaign_api::Api;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::deadline::Deadline;
use shared::observability::init_logging;
use shared::wiring::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = Deps::from_env().await?;
    let queue = IntakeQueue::from_env()
        .await
        .ok_or("CONTACT_INTAKE_QUEUE_URL is not set")?;
    let api = Arc::new(Api::new(&deps).with_intake_queue(Some(queue)));
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let api = api.clone();
        async move {
            let deadline = Deadline::from_epoch_ms(event.context.deadline);
            Ok::<_, Infallible>(api.handle_intake_event(event.payload, &deadline).await)
        }
    }))
    .await
}
