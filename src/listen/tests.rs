//! The endpoint over real HTTP on loopback, with a real mirror.

use super::*;

const DS_A: &str = "25e5c4d0-2b12-4c64-8d3e-8a2d1c6c8f10";
const DS_B: &str = "9b0c2e4f-1a3d-4c5e-8f70-1b2c3d4e5f60";

struct Endpoint {
    _dir: tempfile::TempDir,
    url: String,
    hints: Arc<Hints>,
    token_file: PathBuf,
    http: reqwest::Client,
}

async fn endpoint() -> Endpoint {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror.db");
    let store = Store::open(&mirror).unwrap();
    let hints = Arc::new(Hints::default());
    let listener = Arc::new(Listener {
        store,
        token: TokenStore {
            file: token_file(&mirror),
            from_environment: None,
        },
        sources: vec![
            SourceIds {
                data_source_id: DS_A.into(),
                database_id: Some("13950b26-c203-4f3b-b97d-93ec06319565".into()),
            },
            SourceIds {
                data_source_id: DS_B.into(),
                database_id: Some("13950b26-c203-4f3b-b97d-93ec06319565".into()),
            },
        ],
        hints: hints.clone(),
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{PATH}", tcp.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(tcp, router(listener)).await });
    Endpoint {
        token_file: token_file(&mirror),
        _dir: dir,
        url,
        hints,
        http: reqwest::Client::new(),
    }
}

impl Endpoint {
    async fn post(&self, body: &str, signature: Option<String>) -> u16 {
        let mut request = self.http.post(&self.url).body(body.to_string());
        if let Some(signature) = signature {
            request = request.header("X-Notion-Signature", signature);
        }
        request.send().await.unwrap().status().as_u16()
    }
}

fn event(id: &str, kind: &str, data_source: &str) -> String {
    format!(
        r#"{{"id":"{id}","timestamp":"2026-12-03T10:00:00.000Z","workspace_id":"w","subscription_id":"s","integration_id":"i","type":"{kind}","authors":[{{"id":"u","type":"person"}}],"attempt_number":1,"entity":{{"id":"153104cd-477e-809d-8dc4-ff2d96ae3090","type":"page"}},"data":{{"parent":{{"id":"13950b26-c203-4f3b-b97d-93ec06319565","type":"database","data_source_id":"{data_source}"}}}}}}"#
    )
}

#[tokio::test]
async fn the_verification_token_is_kept_once_and_then_signs_every_event() {
    let endpoint = endpoint().await;
    // Before the verification, nothing can be verified: 401.
    let body = event("e0", "page.created", DS_A);
    assert_eq!(
        endpoint
            .post(&body, Some(events::signature("secret_t", body.as_bytes())))
            .await,
        401
    );
    assert_eq!(
        endpoint
            .post(r#"{"verification_token":"secret_t"}"#, None)
            .await,
        200
    );
    assert_eq!(
        std::fs::read_to_string(&endpoint.token_file)
            .unwrap()
            .trim(),
        "secret_t"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&endpoint.token_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second verification request cannot replace it.
    assert_eq!(
        endpoint
            .post(r#"{"verification_token":"secret_evil"}"#, None)
            .await,
        409
    );
    assert_eq!(
        std::fs::read_to_string(&endpoint.token_file)
            .unwrap()
            .trim(),
        "secret_t"
    );
    assert!(endpoint.hints.take().is_empty(), "nothing is due yet");

    // A signed event: its source is due; the same id again (a replay): nothing more.
    let body = event("e1", "page.properties_updated", DS_B);
    let signed = events::signature("secret_t", body.as_bytes());
    assert_eq!(endpoint.post(&body, Some(signed.clone())).await, 200);
    let wanted = endpoint.hints.take();
    assert_eq!(wanted.sync, BTreeSet::from([1]));
    assert!(wanted.schema.is_empty());
    assert_eq!(endpoint.post(&body, Some(signed)).await, 200);
    assert!(endpoint.hints.take().is_empty(), "a replay starts nothing");

    // A schema change asks for the schema to be read again.
    let body = event("e2", "data_source.schema_updated", DS_A);
    let signed = events::signature("secret_t", body.as_bytes());
    assert_eq!(endpoint.post(&body, Some(signed)).await, 200);
    assert_eq!(endpoint.hints.take().schema, BTreeSet::from([0]));
}

#[tokio::test]
async fn bad_signatures_big_bodies_and_other_methods_are_refused() {
    let endpoint = endpoint().await;
    std::fs::write(&endpoint.token_file, "secret_t\n").unwrap();
    let body = event("e1", "page.created", DS_A);
    let wrong = events::signature("secret_other", body.as_bytes());
    assert_eq!(endpoint.post(&body, Some(wrong)).await, 401);
    assert_eq!(endpoint.post(&body, None).await, 401);
    assert_eq!(
        endpoint.post(&body, Some("sha256=not-hex".into())).await,
        401
    );
    // A tampered body with the original's signature.
    let signed = events::signature("secret_t", body.as_bytes());
    let tampered = body.replace("page.created", "page.deleted");
    assert_eq!(endpoint.post(&tampered, Some(signed)).await, 401);
    assert!(
        endpoint.hints.take().is_empty(),
        "nothing refused starts a sync"
    );
    // An unsigned verification request while a token is kept does not replace it.
    assert_eq!(
        endpoint
            .post(r#"{"verification_token":"secret_evil"}"#, None)
            .await,
        409
    );
    let big = "x".repeat(MAX_BODY + 1);
    let signed = events::signature("secret_t", big.as_bytes());
    assert_eq!(endpoint.post(&big, Some(signed)).await, 413);
    let get = endpoint.http.get(&endpoint.url).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let elsewhere = endpoint
        .http
        .post(endpoint.url.replace(PATH, "/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404);
}
