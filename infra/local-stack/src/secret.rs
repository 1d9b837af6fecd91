//! The CXone secret in (local) Secrets Manager.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::Client;

use crate::error::StackError;

/// What [`upsert_secret`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretOutcome {
    pub name: String,
    pub arn: String,
    /// False when the secret existed and a new version was stored.
    pub created: bool,
    pub version_id: Option<String>,
}

/// Creates the secret `name` with the JSON object `json`, or stores `json` as
/// its new current version when it exists. Returns the secret's ARN.
pub async fn put_secret(client: &Client, name: &str, json: &str) -> Result<String, StackError> {
    upsert_secret(client, name, json).await.map(|o| o.arn)
}

/// As [`put_secret`], saying whether the secret was created.
pub async fn upsert_secret(
    client: &Client,
    name: &str,
    json: &str,
) -> Result<SecretOutcome, StackError> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) if v.is_object() => {}
        Ok(_) => {
            return Err(StackError::InvalidSecret {
                secret: name.to_owned(),
                reason: "valid JSON, but not an object".into(),
            })
        }
        Err(e) => {
            // serde_json's message gives line and column, never the content.
            return Err(StackError::InvalidSecret {
                secret: name.to_owned(),
                reason: format!("not JSON: {e}"),
            });
        }
    }
    let err = |operation: &'static str, message: String| StackError::SecretsManager {
        operation,
        secret: name.to_owned(),
        message,
    };

    let created = client
        .create_secret()
        .name(name)
        .description("CXone credentials for the outbound autopilot (local stack)")
        .secret_string(json)
        .send()
        .await;
    match created {
        Ok(out) => Ok(SecretOutcome {
            name: name.to_owned(),
            arn: out.arn.unwrap_or_default(),
            created: true,
            version_id: out.version_id,
        }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            let out = client
                .put_secret_value()
                .secret_id(name)
                .secret_string(json)
                .send()
                .await
                .map_err(|e| err("PutSecretValue", DisplayErrorContext(e).to_string()))?;
            Ok(SecretOutcome {
                name: name.to_owned(),
                arn: out.arn.unwrap_or_default(),
                created: false,
                version_id: out.version_id,
            })
        }
        Err(e) => Err(err("CreateSecret", DisplayErrorContext(e).to_string())),
    }
}
