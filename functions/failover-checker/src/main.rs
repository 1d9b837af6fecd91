//! Lambda entry point of the failover checker: [`Deps`] built once per cold
//! start, each scheduled event handed to [`FailoverChecker::handle`]; a
//! failed tick reaches Lambda as the `Diagnostic` of its
//! [`failover_checker::CheckError`].
#![recursion_limit = "256"]

use std::sync::Arc;

use failover_checker::FailoverChecker;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use shared::lambda_entry::event_invocation;
use shared::observability::init_logging;
use shared::wiring::Deps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = Deps::from_env().await?;
    let checker = Arc::new(FailoverChecker::new(&deps));
    run(service_fn(move |event: LambdaEvent<Value>| {
        let checker = checker.clone();
        async move {
            let invocation = event_invocation(&event.context);
            checker.handle(&event.payload, &invocation).await
        }
    }))
    .await
}
