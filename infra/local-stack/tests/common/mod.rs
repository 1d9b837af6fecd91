//! Helpers for the tests that need moto's server.
#![allow(dead_code)]

use std::path::PathBuf;

/// The local endpoint, or a failure that says how to get one. These tests
/// never pass silently without the local stack.
pub fn endpoint() -> String {
    match local_stack::aws::endpoint_from_env() {
        Some(e) => e,
        None => panic!(
            "AWS_ENDPOINT_URL is not set: this test needs the local stack (moto). \
             Run `make test`, or `bash infra/setup.sh && eval \"$(bash infra/stack.sh up)\"` \
             and then cargo test."
        ),
    }
}

pub fn config() -> aws_config::SdkConfig {
    local_stack::aws::local_sdk_config(&endpoint())
}

pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    local_stack::aws::dynamodb(&config())
}

pub fn secretsmanager() -> aws_sdk_secretsmanager::Client {
    local_stack::aws::secretsmanager(&config())
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(tag: &str) -> String {
    format!(
        "ls-{tag}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}
