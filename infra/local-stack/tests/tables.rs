//! Tables created in moto from template.yaml match the template.

mod common;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{KeySchemaElement, ProjectionType, TableStatus, TimeToLiveStatus};
use local_stack::tables::{create_table, ensure_tables, load_table_specs, TableNames};
use local_stack::{create_tables, StackError};

fn keys(ks: &[KeySchemaElement]) -> Vec<(String, String)> {
    ks.iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tables_match_the_template() {
    let client = common::dynamodb();
    let names = TableNames::with_prefix(&common::unique_prefix("match"));
    create_tables(&client, common::template_path(), &names)
        .await
        .unwrap();

    let specs = load_table_specs(&common::template_path()).unwrap();
    for (logical_id, name) in names.pairs() {
        let spec = &specs[logical_id];
        let t = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        assert_eq!(t.table_status(), Some(&TableStatus::Active), "{name}");
        assert_eq!(
            keys(t.key_schema()),
            spec.key_schema
                .iter()
                .map(|k| (k.name.clone(), k.key_type.clone()))
                .collect::<Vec<_>>(),
            "{logical_id} key schema"
        );
        let attrs: BTreeMap<String, String> = t
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    a.attribute_type().as_str().to_owned(),
                )
            })
            .collect();
        let want: BTreeMap<String, String> = spec
            .attribute_definitions
            .iter()
            .map(|a| (a.name.clone(), a.attribute_type.clone()))
            .collect();
        assert_eq!(attrs, want, "{logical_id} attribute definitions");
        assert_eq!(
            t.billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str()),
            Some("PAY_PER_REQUEST"),
            "{logical_id} billing mode"
        );
        assert_eq!(
            t.global_secondary_indexes().len(),
            spec.global_secondary_indexes.len()
        );

        let ttl = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .unwrap();
        match &spec.ttl_attribute {
            Some(attr) => {
                assert_eq!(
                    ttl.time_to_live_status(),
                    Some(&TimeToLiveStatus::Enabled),
                    "{logical_id} TTL"
                );
                assert_eq!(
                    ttl.attribute_name(),
                    Some(attr.as_str()),
                    "{logical_id} TTL attribute"
                );
            }
            None => assert_ne!(
                ttl.time_to_live_status(),
                Some(&TimeToLiveStatus::Enabled),
                "{logical_id} TTL"
            ),
        }
    }

    // The layout docs/architecture.md ("State") describes, independently of the parser.
    let state = client
        .describe_table()
        .table_name(&names.state)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let gsi = &state.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("kind-index"));
    assert_eq!(
        keys(gsi.key_schema()),
        vec![
            ("kind".to_owned(), "HASH".to_owned()),
            ("pk".to_owned(), "RANGE".to_owned())
        ]
    );
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    let idem = client
        .describe_table()
        .table_name(&names.idempotency)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        keys(idem.key_schema()),
        vec![("id".to_owned(), "HASH".to_owned())]
    );
    let audit = client
        .describe_table()
        .table_name(&names.audit)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        keys(audit.key_schema()),
        vec![
            ("pk".to_owned(), "HASH".to_owned()),
            ("sk".to_owned(), "RANGE".to_owned())
        ]
    );
}

#[tokio::test]
async fn creation_is_idempotent() {
    let client = common::dynamodb();
    let names = TableNames::with_prefix(&common::unique_prefix("idem"));
    let first = ensure_tables(&client, &common::template_path(), &names)
        .await
        .unwrap();
    assert!(first.iter().all(|o| o.created), "{first:?}");
    let second = ensure_tables(&client, &common::template_path(), &names)
        .await
        .unwrap();
    assert!(second.iter().all(|o| !o.created), "{second:?}");
    assert_eq!(
        second
            .iter()
            .map(|o| o.logical_id.as_str())
            .collect::<Vec<_>>(),
        ["AuditTable", "StateTable", "IdempotencyTable"]
    );
    create_tables(&client, common::template_path(), &names)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_existing_table_with_other_keys_is_refused() {
    let client = common::dynamodb();
    let names = TableNames::with_prefix(&common::unique_prefix("clash"));
    let specs = load_table_specs(&common::template_path()).unwrap();
    // Make the "state" table with the idempotency table's keys.
    create_table(&client, &specs["IdempotencyTable"], &names.state)
        .await
        .unwrap();
    let err = create_tables(&client, common::template_path(), &names)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StackError::DynamoDb { message, .. } if message.contains("different key schema")),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_template_is_a_clear_error() {
    let client = common::dynamodb();
    let names = TableNames::with_prefix(&common::unique_prefix("missing"));
    let err = create_tables(&client, "/nonexistent/template.yaml", &names)
        .await
        .unwrap_err();
    assert!(matches!(err, StackError::Io { .. }), "{err}");
}
