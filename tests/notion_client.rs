//! The Notion client against the simulator over real HTTP, on both API versions.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{QUERY, client, settings, setup, simulator};
use tasksync::model::automation::TextFormat;
use tasksync::model::{PropertyValue, PropertyWrite};
use tasksync::notion::ids::NotionId;
use tasksync::notion::query::{Direction, Query, Sort, TimestampField};
use tasksync::notion::{ApiVersion, NotionClient, NotionError};
use tasksync::simulator::{Fault, ScriptedFault, SimulatorOptions};
use tokio::time::Instant;

fn id(text: &str) -> NotionId {
    NotionId::parse(text).unwrap()
}

#[tokio::test]
async fn discovers_the_data_source_from_a_url_an_id_or_a_data_source_id() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(5, version).await;
        let database = id(&simulator.database_id());
        let (source_id, source_name) = simulator.data_sources()[0].clone();
        let url = format!(
            "https://www.notion.so/acme/Tasks-{}?v=0123456789abcdef0123456789abcdef",
            database.compact()
        );
        for reference in [
            url.as_str(),
            database.as_str(),
            &database.compact(),
            &source_id,
        ] {
            let source = client
                .resolve_data_source(&id(reference), None)
                .await
                .unwrap();
            assert_eq!(source.id.as_str(), source_id, "{version} {reference}");
            assert_eq!(source.name, source_name);
            assert_eq!(source.properties["Status"].kind, "status");
            let statuses: Vec<&str> = source.properties["Status"]
                .options
                .iter()
                .map(|o| o.name.as_str())
                .collect();
            assert_eq!(statuses, ["To do", "In progress", "Done"]);
        }
    }
}

#[tokio::test]
async fn two_data_sources_need_a_choice_and_the_error_lists_them() {
    for version in ApiVersion::ALL {
        let simulator = simulator(SimulatorOptions {
            tasks: 5,
            data_sources: 2,
            ..SimulatorOptions::default()
        })
        .await;
        let client = client(&simulator, version);
        let database = id(&simulator.database_id());
        let sources = simulator.data_sources();
        let error = client
            .resolve_data_source(&database, None)
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, NotionError::DataSourceChoice { .. }),
            "{message}"
        );
        assert!(
            message.contains("has 2 data sources: set `notion.data_source`"),
            "{message}"
        );
        for (source_id, name) in &sources {
            assert!(
                message.contains(&format!("\"{name}\" (id {source_id})")),
                "{message}"
            );
        }
        let by_name = client
            .resolve_data_source(&database, Some("archive"))
            .await
            .unwrap();
        assert_eq!(by_name.id.as_str(), sources[1].0);
        let by_id = client
            .resolve_data_source(&database, Some(&sources[1].0))
            .await
            .unwrap();
        assert_eq!(by_id.id.as_str(), sources[1].0);
        let wrong = client
            .resolve_data_source(&database, Some("Backlog"))
            .await
            .unwrap_err();
        assert!(
            wrong
                .to_string()
                .contains("has no data source named or with id `Backlog`"),
            "{wrong}"
        );
    }
}

#[tokio::test]
async fn an_unknown_database_is_explained_as_not_shared() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(1, version).await;
        let error = client
            .resolve_data_source(&id("0123456789abcdef0123456789abcdef"), None)
            .await
            .unwrap_err();
        assert!(error.is_not_found());
        let message = error.to_string();
        assert!(
            message.contains("not shared with the integration"),
            "{message}"
        );
        assert!(message.contains("Connections"), "{message}");
        assert!(message.contains("404 object_not_found"), "{message}");
        // Tried as a database, then as a data source; never retried.
        assert_eq!(simulator.stats().requests, 2);
    }
}

#[tokio::test]
async fn paginates_through_every_task_in_order() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(260, version).await;
        let source = id(&simulator.data_sources()[0].0);
        let query = Query {
            sorts: vec![Sort::Timestamp(
                TimestampField::CreatedTime,
                Direction::Ascending,
            )],
            ..Query::default()
        };
        let (tasks, incomplete) = client.query_all(&source, &query).await.unwrap();
        assert!(!incomplete);
        let ids: Vec<String> = tasks.iter().map(|t| t.id.to_string()).collect();
        assert_eq!(
            ids,
            simulator.page_ids(),
            "{version}: every task once, in creation order"
        );
        assert_eq!(simulator.stats().count(QUERY), 3);
        assert!(
            tasks
                .windows(2)
                .all(|w| w[0].created_time <= w[1].created_time)
        );
    }
}

#[tokio::test]
async fn the_ten_thousand_row_cap_is_detected() {
    let (simulator, client) = setup(10_050, ApiVersion::V2026_03_11).await;
    let source = id(&simulator.data_sources()[0].0);
    let (tasks, incomplete) = client.query_all(&source, &Query::default()).await.unwrap();
    assert!(incomplete, "the cap is surfaced");
    assert_eq!(tasks.len(), 10_000);
    assert_eq!(simulator.stats().count(QUERY), 100);
    let first = client
        .query_page(&source, &Query::default(), None)
        .await
        .unwrap();
    assert!(first.incomplete, "every page of a capped query says so");
}

#[tokio::test]
async fn filter_properties_limits_what_comes_back() {
    let (simulator, client) = setup(3, ApiVersion::V2026_03_11).await;
    let source = id(&simulator.data_sources()[0].0);
    let query = Query {
        filter_properties: vec!["title".into(), "St%3Au".into()],
        ..Query::default()
    };
    let (tasks, _) = client.query_all(&source, &query).await.unwrap();
    let names: Vec<&String> = tasks[0].properties.keys().collect();
    assert_eq!(names, ["Name", "Status"]);
}

#[tokio::test]
async fn every_property_type_is_parsed_and_an_unknown_one_kept() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(10, version).await;
        // Task 6 (index 5) has 30 assignees; task 4 (index 3) links 30 tasks only when there are
        // enough: use task 6 for people, and check the relation shape on any task.
        let page = id(&simulator.page_ids()[5]);
        let task = client.retrieve_page(&page).await.unwrap();
        let kinds: Vec<(&str, &str)> = task
            .properties
            .iter()
            .map(|(name, p)| (name.as_str(), p.value.type_name()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Assignee", "people"),
                ("Attachments", "files"),
                ("Contact", "email"),
                ("Created", "created_time"),
                ("Created by", "created_by"),
                ("Done", "checkbox"),
                ("Due", "date"),
                ("Edited", "last_edited_time"),
                ("Edited by", "last_edited_by"),
                ("Estimate", "number"),
                ("ID", "unique_id"),
                ("Link", "url"),
                ("Name", "title"),
                ("Notes", "rich_text"),
                ("Phone", "phone_number"),
                ("Priority", "select"),
                ("Related", "relation"),
                ("Related count", "rollup"),
                ("Repeat", "select"),
                ("Score", "formula"),
                ("Start timer", "button"),
                ("Status", "status"),
                ("Tags", "multi_select"),
            ],
            "{version}"
        );
        let unknown = &task.properties["Start timer"];
        assert!(
            matches!(&unknown.value, PropertyValue::Unknown { type_name, raw } if type_name == "button" && raw["id"] == "bt%3An")
        );
        assert!(matches!(
            task.properties["ID"].value,
            PropertyValue::UniqueId {
                number: Some(6),
                ..
            }
        ));

        let assignees = &task.properties["Assignee"];
        assert!(assignees.truncated, "30 people are cut at 25");
        assert!(matches!(&assignees.value, PropertyValue::People(people) if people.len() == 25));
        let full = client.property_value(&page, &assignees.id).await.unwrap();
        assert!(
            matches!(&full, PropertyValue::People(people) if people.len() == 30),
            "{full:?}"
        );
        let status = client
            .property_value(&page, &task.properties["Status"].id)
            .await
            .unwrap();
        assert_eq!(status, task.properties["Status"].value);
    }
}

#[tokio::test]
async fn set_status_valid_and_invalid() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(5, version).await;
        let page = id(&simulator.page_ids()[0]);
        let updated = client
            .update_page(
                &page,
                &[("Status".into(), PropertyWrite::Status("Done".into()))],
            )
            .await
            .unwrap();
        assert_eq!(updated.status().as_deref(), Some("Done"));
        assert_eq!(
            client
                .retrieve_page(&page)
                .await
                .unwrap()
                .status()
                .as_deref(),
            Some("Done")
        );
        assert_eq!(updated.last_edited_by, Some(simulator.bot_user_id()));

        let before = simulator.stats().requests;
        let error = client
            .update_page(
                &page,
                &[("Status".into(), PropertyWrite::Status("Blocked".into()))],
            )
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(400));
        assert!(error.to_string().contains("validation_error"), "{error}");
        assert!(error.to_string().contains("Blocked"), "{error}");
        assert_eq!(
            simulator.stats().requests,
            before + 1,
            "a 400 is not retried"
        );
    }
}

#[tokio::test]
async fn a_long_append_lands_as_correctly_split_blocks() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(3, version).await;
        let page = id(&simulator.page_ids()[1]);
        let text: String = (0..1000)
            .map(|i| format!("w{:03} ", i % 1000))
            .collect::<String>()
            .chars()
            .take(5000)
            .collect();
        assert_eq!(text.chars().count(), 5000);
        let blocks = client
            .append_text(&page, &text, TextFormat::Plain)
            .await
            .unwrap();
        assert_eq!(blocks.len(), 1);
        let children = client.list_children(&page).await.unwrap();
        assert_eq!(
            children.last().unwrap().text,
            text,
            "{version}: the text lands whole"
        );

        // The pieces as Notion stored them: at most 2000 characters each.
        let raw: serde_json::Value = reqwest::Client::new()
            .get(format!(
                "{}/v1/blocks/{page}/children",
                simulator.base_url()
            ))
            .bearer_auth(simulator.token())
            .header("Notion-Version", version.as_str())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let last = raw["results"].as_array().unwrap().last().unwrap().clone();
        let sizes: Vec<usize> = last["paragraph"]["rich_text"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["text"]["content"].as_str().unwrap().chars().count())
            .collect();
        assert_eq!(sizes.len(), 3, "{sizes:?}");
        assert!(sizes.iter().all(|s| *s <= 2000), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 5000);

        let many: String = (0..150).map(|i| format!("Paragraph {i}\n\n")).collect();
        let blocks = client
            .append_text(&page, &many, TextFormat::Plain)
            .await
            .unwrap();
        assert_eq!(blocks.len(), 150);
        assert_eq!(
            simulator
                .stats()
                .count("PATCH /v1/blocks/{block_id}/children"),
            3,
            "100 blocks per request at most"
        );
    }
}

#[tokio::test]
async fn an_append_whose_answer_was_lost_is_not_repeated() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(3, version).await;
        let page = id(&simulator.page_ids()[2]);
        let before = client.list_children(&page).await.unwrap().len();
        simulator.push_fault(ScriptedFault {
            matching: "PATCH /v1/blocks".into(),
            fault: Fault::Lost,
            retry_after: None,
        });
        let blocks = client
            .append_text(&page, "Exactly once, please.", TextFormat::Plain)
            .await
            .unwrap();
        assert_eq!(blocks.len(), 1);
        let after = client.list_children(&page).await.unwrap();
        assert_eq!(after.len(), before + 1, "{version}: one paragraph, not two");
        assert_eq!(after.last().unwrap().text, "Exactly once, please.");
    }
}

/// A Markdown append whose answer was lost is recognised on the page by its blocks' types and
/// texts (a mention matching the name Notion shows), and not sent again.
#[tokio::test]
async fn a_markdown_append_whose_answer_was_lost_is_not_repeated() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(3, version).await;
        let page = id(&simulator.page_ids()[0]);
        let before = client.list_children(&page).await.unwrap().len();
        simulator.push_fault(ScriptedFault {
            matching: "PATCH /v1/blocks".into(),
            fault: Fault::Lost,
            retry_after: None,
        });
        let user = &simulator.user_ids()[1];
        // The mirror's name for the person may differ from Notion's: Notion's `@Name` counts.
        let mention = tasksync::notion::blocks::mention_token(user, "an old name");
        let text = format!("## Handover\n\n- ask {mention} **today**\n- [ ] reply\n");
        let blocks = client
            .append_text(&page, &text, TextFormat::Markdown)
            .await
            .unwrap();
        let kinds: Vec<&str> = blocks.iter().map(|b| b.kind.as_str()).collect();
        assert_eq!(kinds, ["heading_2", "bulleted_list_item", "to_do"]);
        let after = client.list_children(&page).await.unwrap();
        assert_eq!(after.len(), before + 3, "{version}: three blocks, not six");
        assert!(
            after[before + 1].text.starts_with("ask @"),
            "{:?}",
            after[before + 1]
        );
        assert!(!after[before + 1].text.contains("an old name"));
        assert_eq!(
            simulator
                .stats()
                .count("PATCH /v1/blocks/{block_id}/children"),
            1,
            "{version}: sent once"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_holds_back_every_request() {
    for version in ApiVersion::ALL {
        let simulator = simulator(SimulatorOptions {
            tasks: 5,
            ..SimulatorOptions::default()
        })
        .await;
        let mut settings = settings(&simulator, version);
        settings.requests_per_second = 3.0;
        let client = NotionClient::new(settings).unwrap();
        let pages: Vec<NotionId> = simulator.page_ids().iter().map(|p| id(p)).collect();
        simulator.push_fault(ScriptedFault {
            matching: "GET /v1/pages".into(),
            fault: Fault::Status(429),
            retry_after: Some(2),
        });

        let start = Instant::now();
        let first = tokio::spawn({
            let (client, page) = (client.clone(), pages[0].clone());
            async move { client.retrieve_page(&page).await.map(|_| Instant::now()) }
        });
        // Paused time only moves when every task waits on a timer: after this sleep the first
        // request has had its 429 and is waiting out Retry-After. Then send two more.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(simulator.stats().faulted, 1);
        let others: Vec<_> = pages[1..3]
            .iter()
            .map(|page| {
                let (client, page) = (client.clone(), page.clone());
                tokio::spawn(
                    async move { client.retrieve_page(&page).await.map(|_| Instant::now()) },
                )
            })
            .collect();
        let mut finished = vec![first.await.unwrap().unwrap()];
        for other in others {
            finished.push(other.await.unwrap().unwrap());
        }
        for done in &finished {
            assert!(
                *done - start >= Duration::from_secs(2),
                "{version}: a request went out during Retry-After: {:?}",
                *done - start
            );
        }
        let stats = simulator.stats();
        assert_eq!(
            stats.count("GET /v1/pages/{page_id}"),
            4,
            "three pages, one retry"
        );
        assert_eq!(stats.faulted, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn gateway_errors_are_retried_until_success() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(3, version).await;
        for status in [502, 503, 504] {
            simulator.push_fault(ScriptedFault {
                matching: "GET /v1/pages".into(),
                fault: Fault::Status(status),
                retry_after: None,
            });
        }
        simulator.push_fault(ScriptedFault {
            matching: "GET /v1/pages".into(),
            fault: Fault::Drop,
            retry_after: None,
        });
        simulator.push_fault(ScriptedFault {
            matching: "GET /v1/pages".into(),
            fault: Fault::Malformed,
            retry_after: None,
        });
        let task = client
            .retrieve_page(&id(&simulator.page_ids()[0]))
            .await
            .unwrap();
        assert_eq!(task.id.as_str(), simulator.page_ids()[0]);
        let stats = simulator.stats();
        assert_eq!(
            stats.count("GET /v1/pages/{page_id}"),
            6,
            "{version}: five failures, then success"
        );
        assert_eq!(stats.faulted, 5);
    }
}

#[tokio::test(start_paused = true)]
async fn a_500_is_retried_for_reads_only() {
    let (simulator, client) = setup(3, ApiVersion::V2026_03_11).await;
    let page = id(&simulator.page_ids()[0]);
    simulator.push_fault(ScriptedFault {
        matching: "GET /v1/pages".into(),
        fault: Fault::Status(500),
        retry_after: None,
    });
    client.retrieve_page(&page).await.unwrap();
    simulator.push_fault(ScriptedFault {
        matching: "PATCH /v1/pages".into(),
        fault: Fault::Status(500),
        retry_after: None,
    });
    let error = client
        .update_page(&page, &[("Done".into(), PropertyWrite::Checkbox(true))])
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert_eq!(simulator.stats().count("PATCH /v1/pages/{page_id}"), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_401_says_what_to_do() {
    for version in ApiVersion::ALL {
        let (simulator, _) = setup(3, version).await;
        let mut wrong = settings(&simulator, version);
        wrong.token = "ntn_wrong".to_string().into();
        let client = NotionClient::new(wrong).unwrap();
        let error = client.me().await.unwrap_err();
        assert_eq!(error.status(), Some(401));
        let message = error.to_string();
        assert!(
            message.starts_with("Notion rejected the token: check NOTION_TOKEN"),
            "{message}"
        );
        assert!(
            message.contains("401 unauthorized: API token is invalid."),
            "{message}"
        );
        assert!(message.contains("[request id "), "{message}");
        assert_eq!(simulator.stats().requests, 1, "401 is not retried");

        let client = common::client(&simulator, version);
        let error = client
            .retrieve_page(&id("0123456789abcdef0123456789abcdef"))
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(404));
        assert_eq!(simulator.stats().requests, 2, "404 is not retried");
    }
}

#[tokio::test]
async fn the_token_is_kept_out_of_debug_output() {
    let (simulator, client) = setup(1, ApiVersion::V2026_03_11).await;
    let settings = settings(&simulator, ApiVersion::V2026_03_11);
    for shown in [format!("{client:?}"), format!("{:?}", settings.token)] {
        assert!(!shown.contains(simulator.token()), "{shown}");
    }
    let me = client.me().await.unwrap();
    assert_eq!(me.id, simulator.bot_user_id());
    assert_eq!(me.kind.as_deref(), Some("bot"));
}

#[tokio::test]
async fn search_lists_the_data_sources() {
    for version in ApiVersion::ALL {
        let simulator = simulator(SimulatorOptions {
            tasks: 1,
            data_sources: 2,
            ..SimulatorOptions::default()
        })
        .await;
        let client = client(&simulator, version);
        let found = client.search_data_sources().await.unwrap();
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Tasks", "Archive"]);
        assert!(
            found
                .iter()
                .all(|s| s.database_id.as_ref().map(ToString::to_string)
                    == Some(simulator.database_id()))
        );
    }
}

/// reference/status-codes: only a body of Notion's shape is Notion's error; anything else (here a
/// proxy's HTML page) is reported with its status, content type and the start of the body.
#[tokio::test]
async fn an_error_body_that_is_not_notions_is_reported_as_it_came() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(2, version).await;
        simulator.push_fault(ScriptedFault {
            matching: "GET /v1/pages".into(),
            fault: Fault::Proxy(403),
            retry_after: None,
        });
        let error = client
            .retrieve_page(&id(&simulator.page_ids()[0]))
            .await
            .unwrap_err();
        assert!(
            matches!(error, NotionError::UnexpectedResponse { status: 403, .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("answered 403"), "{message}");
        assert!(
            message.contains("not from Notion's API (text/html)"),
            "{message}"
        );
        assert!(
            message.contains("<title>403 Forbidden</title>"),
            "{message}"
        );
        assert!(message.contains("notion.base_url"), "{message}");
        assert_eq!(simulator.stats().requests, 1, "a 403 is not retried");
    }
}

/// reference/status-codes: a 404 names the integration in `additional_data`; the message passes
/// it on, so the user knows which connection to add.
#[tokio::test]
async fn a_404_names_the_integration_to_share_with() {
    for version in ApiVersion::ALL {
        let (_simulator, client) = setup(1, version).await;
        let error = client
            .retrieve_page(&id("0123456789abcdef0123456789abcdef"))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "not found, or not shared with the integration (integration {}):",
                tasksync::simulator::INTEGRATION_ID
            )),
            "{message}"
        );
    }
}

/// reference/status-codes: 409 `conflict_error` means "try again"; a status write is idempotent,
/// so it is retried (with the backoff of a 5xx) and succeeds. An append is not repeated blindly:
/// the page is checked first.
#[tokio::test(start_paused = true)]
async fn a_conflict_on_a_status_write_is_retried() {
    for version in ApiVersion::ALL {
        let (simulator, client) = setup(3, version).await;
        let page = id(&simulator.page_ids()[0]);
        for _ in 0..2 {
            simulator.push_fault(ScriptedFault {
                matching: "PATCH /v1/pages".into(),
                fault: Fault::Status(409),
                retry_after: None,
            });
        }
        let updated = client
            .update_page(
                &page,
                &[("Status".into(), PropertyWrite::Status("Done".into()))],
            )
            .await
            .unwrap();
        assert_eq!(updated.status().as_deref(), Some("Done"));
        assert_eq!(simulator.stats().count("PATCH /v1/pages/{page_id}"), 3);

        simulator.push_fault(ScriptedFault {
            matching: "PATCH /v1/blocks".into(),
            fault: Fault::Status(409),
            retry_after: None,
        });
        let appended = client
            .append_text(&page, "After a conflict", TextFormat::Plain)
            .await
            .unwrap();
        assert_eq!(appended.len(), 1);
        let stats = simulator.stats();
        assert_eq!(stats.count("PATCH /v1/blocks/{block_id}/children"), 2);
        assert_eq!(
            stats.count("GET /v1/blocks/{block_id}/children"),
            2,
            "the page's last block read as the anchor, then checked after it before sending again"
        );
    }
}

/// reference/request-limits: a text property holds at most 100 pieces of 2,000 UTF-16 units and
/// a URL 2,000 units; a longer write is refused before it is sent, naming the property.
#[tokio::test]
async fn writes_over_notions_limits_are_refused_before_sending() {
    let (simulator, client) = setup(2, ApiVersion::V2026_03_11).await;
    let page = id(&simulator.page_ids()[0]);
    let long_notes = "😀".repeat(100_001); // 200,002 units
    let error = client
        .update_page(
            &page,
            &[("Notes".into(), PropertyWrite::RichText(long_notes))],
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot write property `Notes`: the text is 200002 UTF-16 units long; a Notion text property holds at most 200000 (100 pieces of 2000)"
    );
    let url = format!("https://example.com/{}", "é".repeat(1981));
    let error = client
        .update_page(&page, &[("Link".into(), PropertyWrite::Url(Some(url)))])
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`Link`: the value is 2001 UTF-16 units"),
        "{error}"
    );
    assert_eq!(simulator.stats().count("PATCH /v1/pages/{page_id}"), 0);
    // Within the limits, a long text is split and lands whole, line breaks included.
    let notes = format!("{}\n\n{}", "😀".repeat(1500), "b".repeat(2500));
    let updated = client
        .update_page(
            &page,
            &[("Notes".into(), PropertyWrite::RichText(notes.clone()))],
        )
        .await
        .unwrap();
    assert_eq!(updated.properties["Notes"].value.display(), notes);
}
