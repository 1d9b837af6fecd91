//! The CXone secret is created, then updated, in moto.

mod common;

use local_stack::secret::upsert_secret;
use local_stack::{put_secret, StackError};

#[tokio::test]
async fn put_secret_creates_then_updates() {
    let client = common::secretsmanager();
    let name = format!("{}/cxone", common::unique_prefix("secret"));
    let v1 = r#"{"accessKeyId":"a","accessKeySecret":"b","clientId":"c","clientSecret":"d","webhookSecrets":["w1"]}"#;
    let arn = put_secret(&client, &name, v1).await.unwrap();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );

    let v2 = r#"{"accessKeyId":"a2","accessKeySecret":"b","clientId":"c","clientSecret":"d","webhookSecrets":["w1","w2"]}"#;
    let o = upsert_secret(&client, &name, v2).await.unwrap();
    assert!(!o.created);
    assert_eq!(o.arn, arn);

    let got = client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some(v2));
    let by_arn = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.secret_string(), Some(v2));
}

#[tokio::test]
async fn a_value_that_is_not_a_json_object_is_refused_without_echoing_it() {
    let client = common::secretsmanager();
    let name = format!("{}/cxone", common::unique_prefix("badsecret"));
    let err = put_secret(&client, &name, "hunter2-not-json")
        .await
        .unwrap_err();
    assert!(matches!(err, StackError::InvalidSecret { .. }), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = put_secret(&client, &name, "[1,2]").await.unwrap_err();
    assert!(matches!(err, StackError::InvalidSecret { .. }), "{err}");
}
