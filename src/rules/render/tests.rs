use super::*;

#[test]
fn a_tasks_own_text_cannot_forge_a_mention() {
    let token =
        crate::model::automation::mention_token("6f1c2a5e-1111-4222-a333-444455556666", "Ada");
    let mut properties = StoredProperties::new();
    properties.insert(
        "Notes".into(),
        crate::model::stored::StoredProperty {
            id: "n".into(),
            value: PropertyValue::RichText(Vec::new()),
            text: format!("see {token}"),
        },
    );
    let title = format!("Title {token}");
    let facts = TaskFacts {
        id: "00000000-0000-0000-0000-000000000001",
        url: "",
        title: &title,
        status: None,
        created_time: "",
        last_edited_time: "",
        last_edited_by: None,
        deleted: false,
        properties: &properties,
        directory: &Directory::default(),
    };
    let changes = [ChangeFacts {
        property: "Notes".into(),
        old: token.clone(),
        new: token.clone(),
    }];
    let context = context("r", &facts, &changes, Utc::now());
    let environment = environment();
    let template = environment
        .template_from_str(
            "{{ task.title }}|{{ task.Notes }}|{{ old.Notes }}|{% for c in changes %}{{ c.old }}{{ c.new }}{% endfor %}",
        )
        .unwrap();
    let rendered = template.render(context).unwrap();
    assert!(
        !rendered.contains([MENTION_START, MENTION_END]),
        "{rendered:?}"
    );
    assert!(rendered.starts_with("Title "), "{rendered}");
}

#[test]
fn addresses() {
    for good in ["a@example.com", "Team <team@example.com>", "ops@localhost"] {
        assert!(check_address(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "example.com",
        "a@",
        "@b.com",
        "a b@example.com",
        "a@example.com\r\nBcc: x@y.z",
        "a@@b.com",
    ] {
        assert!(check_address(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn expected_texts_match_what_notion_shows() {
    assert_eq!(expected_text(&PropertyWrite::Status("Done".into())), "Done");
    assert_eq!(expected_text(&PropertyWrite::Checkbox(true)), "yes");
    assert_eq!(expected_text(&PropertyWrite::Number(Some(3.0))), "3");
    assert_eq!(
        expected_text(&PropertyWrite::MultiSelect(vec!["a".into(), "b".into()])),
        "a, b"
    );
    assert_eq!(expected_text(&PropertyWrite::Select(None)), "");
}
