//! A webhook endpoint on loopback for tests: a real HTTP server (axum) that records every
//! request and answers from a script (then 200).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// One request the sink received.
#[derive(Clone, Debug)]
pub struct Received {
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    /// `X-Notion-Signature`, for the simulator's webhook deliveries.
    pub signature: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Answers to give, in order: (status, Retry-After); then 200.
    script: Mutex<VecDeque<(u16, Option<String>)>>,
}

pub struct Sink {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    shared.received.lock().unwrap().push(Received {
        idempotency_key: header("idempotency-key"),
        content_type: header("content-type"),
        signature: header("x-notion-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let next = shared.script.lock().unwrap().pop_front();
    match next {
        Some((status, retry_after)) => {
            let status = StatusCode::from_u16(status).unwrap();
            let mut response = (status, format!("scripted {status}")).into_response();
            if let Some(after) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", after.parse().unwrap());
            }
            response
        }
        None => (StatusCode::OK, "ok").into_response(),
    }
}

impl Sink {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, shared, task }
    }

    /// Answers the next requests with these statuses (and Retry-After values), then 200.
    pub fn answer(&self, script: &[(u16, Option<&str>)]) {
        self.shared.script.lock().unwrap().extend(
            script
                .iter()
                .map(|(status, after)| (*status, after.map(str::to_string))),
        );
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}
