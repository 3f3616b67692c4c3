//! Unit tests of `wire`.

use super::*;

fn check(input: Value, expected: Value) {
    let (typed, by_value) = both_readers(&input);
    assert_eq!(typed, by_value, "the typed reader disagrees");
    let parsed = parse_property(input);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), expected);
}

/// The property as the sync's typed reader takes it from a body, and as the `Value` reader
/// takes the same text.
fn both_readers(input: &Value) -> (Property, Property) {
    let text = input.to_string();
    let raw = serde_json::value::RawValue::from_string(text.clone()).unwrap();
    let by_value = parse_property(serde_json::from_str(&text).unwrap());
    (page::read_property(&raw).unwrap(), by_value)
}

#[test]
fn parses_every_property_type() {
    let user = json!({"object": "user", "id": "u1", "name": "Ada", "type": "person", "person": {"email": "ada@example.com"}});
    let rich = json!([{"type": "text", "text": {"content": "Hi", "link": null}, "plain_text": "Hi", "href": null, "annotations": {}}]);
    let cases = [
        (
            json!({"id": "title", "type": "title", "title": rich}),
            json!({"id": "title", "type": "title", "value": [{"plain_text": "Hi", "kind": "text"}]}),
        ),
        (
            json!({"id": "a", "type": "rich_text", "rich_text": rich}),
            json!({"id": "a", "type": "rich_text", "value": [{"plain_text": "Hi", "kind": "text"}]}),
        ),
        (
            json!({"id": "b", "type": "number", "number": 3.5}),
            json!({"id": "b", "type": "number", "value": 3.5}),
        ),
        (
            json!({"id": "b", "type": "number", "number": null}),
            json!({"id": "b", "type": "number", "value": null}),
        ),
        (
            json!({"id": "c", "type": "select", "select": {"id": "o", "name": "High", "color": "red"}}),
            json!({"id": "c", "type": "select", "value": {"id": "o", "name": "High", "color": "red"}}),
        ),
        (
            json!({"id": "d", "type": "status", "status": {"name": "Done"}}),
            json!({"id": "d", "type": "status", "value": {"name": "Done"}}),
        ),
        (
            json!({"id": "e", "type": "multi_select", "multi_select": [{"name": "x"}, {"name": "y"}]}),
            json!({"id": "e", "type": "multi_select", "value": [{"name": "x"}, {"name": "y"}]}),
        ),
        (
            json!({"id": "f", "type": "date", "date": {"start": "2026-07-10", "end": null, "time_zone": null}}),
            json!({"id": "f", "type": "date", "value": {"start": "2026-07-10"}}),
        ),
        (
            json!({"id": "g", "type": "people", "people": [user]}),
            json!({"id": "g", "type": "people", "value": [{"id": "u1", "name": "Ada", "email": "ada@example.com", "kind": "person"}]}),
        ),
        (
            json!({"id": "h", "type": "files", "files": [{"name": "a.pdf", "type": "external", "external": {"url": "https://x/a.pdf"}}]}),
            json!({"id": "h", "type": "files", "value": [{"name": "a.pdf", "url": "https://x/a.pdf"}]}),
        ),
        (
            json!({"id": "i", "type": "checkbox", "checkbox": true}),
            json!({"id": "i", "type": "checkbox", "value": true}),
        ),
        (
            json!({"id": "j", "type": "url", "url": "https://x"}),
            json!({"id": "j", "type": "url", "value": "https://x"}),
        ),
        (
            json!({"id": "k", "type": "email", "email": null}),
            json!({"id": "k", "type": "email", "value": null}),
        ),
        (
            json!({"id": "l", "type": "phone_number", "phone_number": "+1"}),
            json!({"id": "l", "type": "phone_number", "value": "+1"}),
        ),
        (
            json!({"id": "m", "type": "formula", "formula": {"type": "number", "number": 2}}),
            json!({"id": "m", "type": "formula", "value": {"type": "number", "value": 2.0}}),
        ),
        (
            json!({"id": "n", "type": "relation", "relation": [{"id": "p1"}], "has_more": true}),
            json!({"id": "n", "type": "relation", "value": ["p1"], "truncated": true}),
        ),
        (
            json!({"id": "o", "type": "rollup", "rollup": {"type": "number", "number": 4, "function": "count"}}),
            json!({"id": "o", "type": "rollup", "value": {"function": "count", "result": {"type": "number", "value": 4.0}}}),
        ),
        (
            json!({"id": "o", "type": "rollup", "rollup": {"type": "array", "array": [{"type": "number", "number": 1}], "function": "show_original"}}),
            json!({"id": "o", "type": "rollup", "value": {"function": "show_original", "result": {"type": "array", "value": [{"type": "number", "value": 1.0}]}}}),
        ),
        (
            json!({"id": "q", "type": "unique_id", "unique_id": {"prefix": "TASK", "number": 7}}),
            json!({"id": "q", "type": "unique_id", "value": {"prefix": "TASK", "number": 7}}),
        ),
        (
            json!({"id": "r", "type": "created_time", "created_time": "2026-01-01T00:00:00.000Z"}),
            json!({"id": "r", "type": "created_time", "value": "2026-01-01T00:00:00.000Z"}),
        ),
        (
            json!({"id": "s", "type": "last_edited_by", "last_edited_by": {"object": "user", "id": "bot"}}),
            json!({"id": "s", "type": "last_edited_by", "value": {"id": "bot"}}),
        ),
        (
            json!({"id": "t", "type": "verification", "verification": {"state": "verified"}}),
            json!({"id": "t", "type": "verification", "value": {"state": "verified"}}),
        ),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn unknown_types_and_odd_shapes_are_kept_raw() {
    let place = json!({"id": "u", "type": "place", "place": {"lat": 1.0}});
    check(
        place.clone(),
        json!({"id": "u", "type": "unknown", "value": {"type_name": "place", "raw": place}}),
    );
    let odd = json!({"id": "v", "type": "number", "number": "three"});
    check(
        odd.clone(),
        json!({"id": "v", "type": "unknown", "value": {"type_name": "number", "raw": odd}}),
    );
}

#[test]
fn people_and_mentions_at_the_limit_are_possibly_truncated_relations_by_flag() {
    let people = |n: usize| {
        let list: Vec<Value> = (0..n)
            .map(|i| json!({"object": "user", "id": format!("u{i}")}))
            .collect();
        json!({"id": "p", "type": "people", "people": list})
    };
    assert!(!parse_property(people(24)).truncated);
    assert!(parse_property(people(25)).truncated, "25 may be 25 of more");
    let text = |mentions: usize| {
        let mut items =
            vec![json!({"type": "text", "text": {"content": "hi"}, "plain_text": "hi"})];
        items.extend((0..mentions).map(|_| json!({"type": "mention", "mention": {"type": "user", "user": {"id": "u"}}, "plain_text": "@Ada"})));
        json!({"id": "n", "type": "rich_text", "rich_text": items})
    };
    assert!(!parse_property(text(24)).truncated);
    assert!(parse_property(text(25)).truncated);
    let relation = |has_more: bool| json!({"id": "r", "type": "relation", "relation": [{"id": "a"}], "has_more": has_more});
    assert!(parse_property(relation(true)).truncated);
    assert!(!parse_property(relation(false)).truncated);
}

#[test]
fn rollups_and_formulas_know_the_relations_they_are_computed_from() {
    let source = json!({
        "id": "0123456789abcdef0123456789abcdef",
        "title": [],
        "properties": {
            "Related": {"id": "rl%3Ai", "name": "Related", "type": "relation", "relation": {}},
            "Blocks": {"id": "bk", "name": "Blocks", "type": "relation", "relation": {}},
            "Estimate": {"id": "es", "name": "Estimate", "type": "number", "number": {}},
            "Count": {"id": "c1", "name": "Count", "type": "rollup", "rollup": {"relation_property_id": "rl%3Ai", "function": "count"}},
            "Sum": {"id": "c2", "name": "Sum", "type": "rollup", "rollup": {"relation_property_name": "Blocks", "function": "sum"}},
            "Double": {"id": "f1", "name": "Double", "type": "formula", "formula": {"expression": "prop(\"Estimate\") * 2"}},
            "Linked": {"id": "f2", "name": "Linked", "type": "formula", "formula": {"expression": "length(prop(\"Related\"))"}},
            "Token": {"id": "f3", "name": "Token", "type": "formula", "formula": {"expression": "{{notion:block_property:bk:00000000-0000-0000-0000-000000000000:1a2b}}.length()"}},
            "Via rollup": {"id": "f4", "name": "Via rollup", "type": "formula", "formula": {"expression": "prop(\"Count\") + 1"}},
            "Decoded": {"id": "f5", "name": "Decoded", "type": "formula", "formula": {"expression": "{{notion:block_property:rl:i:00000000-0000-0000-0000-000000000000:1a2b}}"}},
        },
    });
    let source: WireDataSource = serde_json::from_value(source).unwrap();
    let schema = source.into_data_source().unwrap();
    let from = |name: &str| schema.properties[name].computed_from.clone();
    assert_eq!(from("Count"), ["rl%3Ai"]);
    assert_eq!(from("Sum"), ["bk"]);
    assert!(from("Double").is_empty());
    assert_eq!(from("Linked"), ["rl%3Ai"]);
    assert_eq!(from("Token"), ["bk"]);
    assert_eq!(from("Via rollup"), ["rl%3Ai"]);
    assert_eq!(from("Decoded"), ["rl%3Ai"]);
    assert!(from("Related").is_empty());
}

#[test]
fn a_rollup_property_item_list_gives_the_final_value() {
    let items = vec![
        json!({"object": "property_item", "type": "relation", "relation": {"id": "a"}}),
        json!({"object": "property_item", "type": "relation", "relation": {"id": "b"}}),
    ];
    let last = json!({"id": "c1", "type": "rollup", "rollup": {"type": "number", "number": 30, "function": "count"}});
    assert_eq!(
        join_property_items("rollup", &items, &last),
        PropertyValue::Rollup {
            function: Some("count".into()),
            result: RollupValue::Number(Some(30.0)),
        }
    );
    let original = json!({"type": "rollup", "rollup": {"type": "array", "array": [], "function": "show_original"}});
    let values = vec![json!({"object": "property_item", "type": "number", "number": 2})];
    assert_eq!(
        join_property_items("rollup", &values, &original),
        PropertyValue::Rollup {
            function: Some("show_original".into()),
            result: RollupValue::Array(vec![PropertyValue::Number(Some(2.0))]),
        }
    );
}

#[test]
fn only_bodies_of_notions_error_shape_are_errors() {
    let notion: Result<WireError, _> = serde_json::from_str(
        r#"{"object":"error","status":404,"code":"object_not_found","message":"gone","request_id":"r1","additional_data":{"integration_id":"i1"}}"#,
    );
    let notion = notion.unwrap();
    assert_eq!(
        additional_data_text(notion.additional_data),
        std::collections::BTreeMap::from([("integration_id".to_string(), "i1".to_string())])
    );
    for other in [
        r#"{"error":"bad gateway"}"#,
        r#"{"object":"list","status":502,"code":"x","message":"y"}"#,
        r#"{"object":"error","code":"x","message":"y"}"#,
        "<html>502</html>",
    ] {
        assert!(serde_json::from_str::<WireError>(other).is_err(), "{other}");
    }
}

#[test]
fn joins_paginated_items() {
    let items = vec![
        json!({"object": "property_item", "type": "relation", "relation": {"id": "a"}}),
        json!({"object": "property_item", "type": "relation", "relation": {"id": "b"}}),
    ];
    assert_eq!(
        join_property_items("relation", &items, &Value::Null),
        PropertyValue::Relation(vec!["a".into(), "b".into()])
    );
}

#[test]
fn the_typed_reader_leaves_duplicated_members_to_the_value_reader() {
    // A duplicated member: `Value` keeps the last; the typed reader refuses and defers.
    let text = r#"{"id": "a", "id": "b", "type": "number", "number": 1, "number": 2}"#;
    let raw = serde_json::value::RawValue::from_string(text.into()).unwrap();
    let expected = parse_property(serde_json::from_str(text).unwrap());
    assert_eq!(page::read_property(&raw).unwrap(), expected);
    assert_eq!(expected.id, "b");
    assert_eq!(expected.value, PropertyValue::Number(Some(2.0)));
}

#[test]
fn the_typed_reader_takes_no_array_for_an_object() {
    // Serde's derived structs accept `["r1"]` for `{"id": "r1"}`; the `Value` reader does not.
    for text in [
        r#"{"id": "r", "type": "relation", "relation": [["r1"]]}"#,
        r#"{"id": "s", "type": "select", "select": ["o", "High", "red"]}"#,
        r#"["x", "number", null]"#,
    ] {
        let raw = serde_json::value::RawValue::from_string(text.into()).unwrap();
        let expected = parse_property(serde_json::from_str(text).unwrap());
        assert!(
            matches!(expected.value, PropertyValue::Unknown { .. }),
            "{text}"
        );
        assert_eq!(page::read_property(&raw).unwrap(), expected, "{text}");
    }
}

mod agreement {
    //! The typed reader is a fast path of the `Value` reader: on any property object, the two
    //! give the same property.
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::both_readers;

    const KINDS: &[&str] = &[
        "title",
        "rich_text",
        "number",
        "select",
        "status",
        "multi_select",
        "date",
        "people",
        "files",
        "checkbox",
        "url",
        "email",
        "phone_number",
        "formula",
        "relation",
        "rollup",
        "unique_id",
        "created_time",
        "created_by",
        "last_edited_time",
        "last_edited_by",
        "verification",
        "button",
        "",
    ];
    const KEYS: &[&str] = &[
        "id",
        "name",
        "color",
        "type",
        "plain_text",
        "text",
        "content",
        "href",
        "start",
        "end",
        "time_zone",
        "url",
        "file",
        "external",
        "string",
        "number",
        "boolean",
        "date",
        "function",
        "prefix",
        "object",
        "person",
        "email",
        "array",
        "mention",
    ];

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|n| json!(n)),
            prop::sample::select(vec![
                "",
                "x",
                "Ada",
                "text",
                "mention",
                "file",
                "external",
                "number",
                "date",
                "string",
                "boolean",
                "array",
                "2026-01-01",
                "é\u{1F600}"
            ])
            .prop_map(|s| json!(s)),
        ]
    }

    fn any_json() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(
                    |members| Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect()
                    )
                ),
            ]
        })
    }

    /// A payload of the shape Notion sends for `kind`, with some leaves replaced at random.
    fn shaped(kind: &'static str) -> impl Strategy<Value = Value> {
        let user = json!({"object": "user", "id": "u1", "name": "Ada", "type": "person", "person": {"email": "a@b.c"}});
        let rich = json!([{"type": "text", "text": {"content": "Hi", "link": null}, "plain_text": "Hi", "href": null, "annotations": {"bold": false}},
            {"type": "mention", "mention": {"type": "user", "user": {"id": "u"}}, "plain_text": "@Ada", "href": null}]);
        let date = json!({"start": "2026-01-01", "end": null, "time_zone": null});
        let template = match kind {
            "title" | "rich_text" => rich,
            "number" => json!(3.5),
            "select" | "status" => json!({"id": "o", "name": "High", "color": "red"}),
            "multi_select" => json!([{"id": "o", "name": "High", "color": "red"}, {"name": "Low"}]),
            "date" => date.clone(),
            "people" => json!([user.clone(), {"object": "user", "id": "u2"}]),
            "files" => {
                json!([{"name": "a.pdf", "type": "file", "file": {"url": "https://f", "expiry_time": "x"}},
                {"name": "b", "type": "external", "external": {"url": "https://e"}}])
            }
            "checkbox" => json!(true),
            "url" | "email" | "phone_number" | "created_time" | "last_edited_time" => json!("x"),
            "formula" => json!({"type": "number", "number": 2}),
            "relation" => json!([{"id": "r1"}, {"id": "r2"}]),
            "rollup" => json!({"type": "date", "date": date, "function": "latest_date"}),
            "unique_id" => json!({"prefix": "TASK", "number": 7}),
            "created_by" | "last_edited_by" => user,
            _ => json!({"state": "verified"}),
        };
        (prop::collection::vec(prop::option::weighted(0.2, leaf()), 32)).prop_map(move |swaps| {
            let mut value = template.clone();
            let mut next = 0;
            replace_leaves(&mut value, &swaps, &mut next);
            value
        })
    }

    fn replace_leaves(value: &mut Value, swaps: &[Option<Value>], next: &mut usize) {
        match value {
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| replace_leaves(v, swaps, next)),
            Value::Object(members) => members
                .values_mut()
                .for_each(|v| replace_leaves(v, swaps, next)),
            leaf => {
                if let Some(Some(swap)) = swaps.get(*next) {
                    *leaf = swap.clone();
                }
                *next += 1;
            }
        }
    }

    fn property() -> impl Strategy<Value = Value> {
        (
            prop::sample::select(KINDS),
            any::<bool>(),
            leaf(),
            prop::option::of(leaf()),
        )
            .prop_flat_map(|(kind, wild, id, has_more)| {
                let payload = if wild {
                    any_json().boxed()
                } else {
                    shaped(kind).boxed()
                };
                (Just(kind), payload, Just(id), Just(has_more))
            })
            .prop_map(|(kind, payload, id, has_more)| {
                let mut property = json!({"id": id, "type": kind});
                if !kind.is_empty() {
                    property[kind] = payload;
                }
                if let Some(has_more) = has_more {
                    property["has_more"] = has_more;
                }
                property
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn typed_and_value_readers_agree(property in property()) {
            let (typed, by_value) = both_readers(&property);
            prop_assert_eq!(&typed, &by_value, "{}", property);
            // Its stored form: the row's JSON and hash are the canonical ones.
            let mut task = crate::model::Task {
                id: crate::model::ids::NotionId::parse("11111111-1111-1111-1111-111111111111").unwrap(),
                url: String::new(),
                created_time: String::new(),
                last_edited_time: String::new(),
                created_by: None,
                last_edited_by: None,
                in_trash: false,
                data_source_id: None,
                properties: [("P \"q\"".to_string(), typed), ("Name".to_string(), by_value)].into(),
            };
            let stored = crate::model::stored::stored_properties(&task);
            let taken = crate::model::stored::take_stored_properties(&mut task);
            prop_assert_eq!(&taken, &stored);
            let row = crate::model::stored::task_row(&task, "s", &taken);
            prop_assert_eq!(&row.properties_json, &serde_json::to_string(&stored).unwrap());
            prop_assert_eq!(&row.content_hash, &crate::model::stored::content_hash(&stored));
        }
    }
}
