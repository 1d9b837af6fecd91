//! Lambda entry point of the capacity tuner: [`Deps`] built once per cold
//! start, each scheduled event handed to [`Tuner::handle`]; a failed tick
//! reaches Lambda as the `Diagnostic` of its [`capacity_tuner::TickError`].
#![recursion_limit = "256"]

use std::sync::Arc;

use capacity_tuner::Tuner;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::lambda_entry::event_invocation;
use shared::observability::init_logging;
use shared::wiring::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = Deps::from_env().await?;
    let tuner = Arc::new(Tuner::new(&deps));
    run(service_fn(move |event: LambdaEvent<Value>| {
        let tuner = tuner.clone();
        async move {
            let invocation = event_invocation(&event.context);
            tuner.handle(&event.payload, &invocation).await
        }
    }))
    .await
}
