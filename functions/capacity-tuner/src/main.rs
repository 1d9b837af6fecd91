//! Lambda entry point of the capacity tuner.
#![recursion_limit = "256"]

use std::sync::Arc;

use capacity_tuner::Tuner;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use shared::invocation::Invocation;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::observability::init_logging();
    let deps = shared::wiring::Deps::from_env().await?;
    let tuner = Arc::new(Tuner::new(&deps));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let tuner = tuner.clone();
        async move {
            let invocation =
                Invocation::from_lambda(&event.context.request_id, event.context.deadline);
            tuner
                .handle(&event.payload, &invocation)
                .await
                .map_err(|e| Diagnostic {
                    error_type: e.kind().to_owned(),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
