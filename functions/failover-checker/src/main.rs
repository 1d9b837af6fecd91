//! Lambda entry point of the failover checker: clients built once per cold
//! start, the handler is [`failover_checker::FailoverChecker::handle`].

use std::sync::Arc;

use failover_checker::FailoverChecker;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use shared::invocation::Invocation;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::observability::init_logging();
    let deps = shared::wiring::Deps::from_env().await?;
    let checker = Arc::new(FailoverChecker::new(&deps));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let checker = checker.clone();
        async move {
            let invocation =
                Invocation::from_lambda(&event.context.request_id, event.context.deadline);
            checker
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
