//! The endpoint over real HTTP on loopback, with a real mirror.

use super::*;
use std::time::Duration;

const DS_A: &str = "25e5c4d0-2b12-4c64-8d3e-8a2d1c6c8f10";
const DS_B: &str = "9b0c2e4f-1a3d-4c5e-8f70-1b2c3d4e5f60";

struct Endpoint {
    _dir: tempfile::TempDir,
    url: String,
    address: SocketAddr,
    hints: Arc<Hints>,
    token_file: PathBuf,
    mirror: PathBuf,
    store: Store,
    http: reqwest::Client,
}

async fn endpoint() -> Endpoint {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror.db");
    let store = Store::open(&mirror).unwrap();
    let hints = Arc::new(Hints::default());
    let listener = Arc::new(Listener {
        store: store.clone(),
        token: TokenStore {
            file: token_file(&mirror),
            window: window_file(&mirror),
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
        refusals: Refusals::default(),
    });
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = tcp.local_addr().unwrap();
    let url = format!("http://{address}{PATH}");
    tokio::spawn(serve(tcp, listener));
    Endpoint {
        token_file: token_file(&mirror),
        mirror,
        store,
        _dir: dir,
        url,
        address,
        hints,
        http: reqwest::Client::new(),
    }
}

impl Endpoint {
    /// `tasksync webhook verify`: the window open for a minute.
    fn open_window(&self) {
        TokenStore::new(&self.mirror)
            .open_window(Utc::now() + chrono::Duration::minutes(1))
            .unwrap();
    }

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
    // Outside a window the operator opened, a verification request is refused: nobody who
    // reaches the endpoint first can plant a token.
    assert_eq!(
        endpoint
            .post(r#"{"verification_token":"secret_planted"}"#, None)
            .await,
        403
    );
    assert!(!endpoint.token_file.exists());
    endpoint.open_window();
    // Inside it, a token not of Notion's form is refused too (escapes, spaces, length).
    for token in ["secret\u{1b}]0;x\u{7}", "two words", &"x".repeat(300)] {
        let body = serde_json::json!({ "verification_token": token }).to_string();
        let status = endpoint.post(&body, None).await;
        assert!(matches!(status, 400 | 401), "{token:?}: {status}");
    }
    assert!(!endpoint.token_file.exists());
    assert_eq!(
        endpoint
            .post(r#"{"verification_token":"secret_t"}"#, None)
            .await,
        200
    );
    assert!(
        !window_file(&endpoint.mirror).exists(),
        "the window closes with the token kept"
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

#[tokio::test]
async fn a_body_announced_too_large_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint = endpoint().await;
    let mut stream = tokio::net::TcpStream::connect(endpoint.address)
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n0123456789"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered at once, without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test(start_paused = true)]
async fn slow_clients_are_cut_off_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint = endpoint().await;
    let started = tokio::time::Instant::now();
    let mut clients = Vec::new();
    for _ in 0..20 {
        let address = endpoint.address;
        clients.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            // One byte of the header a second, for longer than the deadline.
            for byte in format!("POST {PATH} HTTP/1.1\r\nX-Slow: ")
                .bytes()
                .cycle()
                .take(60)
            {
                if stream.write_all(&[byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let mut rest = Vec::new();
            // Not cut off, it would wait here: the assertion below then fails.
            let _ =
                tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut rest)).await;
            tokio::time::Instant::now()
        }));
    }
    for client in clients {
        let closed = client.await.unwrap() - started;
        assert!(
            closed <= HEADER_TIMEOUT + Duration::from_secs(2),
            "cut off after {closed:?}"
        );
    }
}

#[tokio::test]
async fn a_flood_of_refused_requests_is_neither_logged_nor_written_one_by_one() {
    let endpoint = endpoint().await;
    let size = || {
        std::fs::metadata(&endpoint.mirror).unwrap().len()
            + std::fs::metadata(endpoint.mirror.with_extension("db-wal")).map_or(0, |m| m.len())
    };
    let body = event("e1", "page.created", DS_A);
    // The first is logged and noted; the flood after it costs no write.
    assert_eq!(endpoint.post(&body, None).await, 401);
    let before = size();
    for _ in 0..10_000 {
        assert_eq!(endpoint.post(&body, None).await, 401);
    }
    let notes = endpoint
        .store
        .summary(String::new())
        .await
        .unwrap()
        .notion_webhooks;
    let rejected: Vec<_> = notes
        .iter()
        .filter(|note| note.outcome == InboundOutcome::Rejected)
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].count, 1,
        "the first is noted, the rest wait for the summary"
    );
    assert_eq!(size(), before, "the mirror did not grow");
}
