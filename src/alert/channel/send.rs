//! What every channel shares: what it must be ([`ChannelKind`]), why a
//! message was not delivered ([`SendError`]), and one way of posting to a
//! web service that says plainly what went wrong without ever showing the
//! URL (it may hold the secret).

use std::future::Future;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::alert::message::Message;
use crate::config::{Severity, Table};
use crate::probe::SharedClient;
use crate::util::error_chain;

/// Bound on one delivery attempt.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A channel's section, as the delivery tasks use it.
pub trait ChannelKind: Table + Clone {
    /// Whether it is on: `enabled = false` keeps the settings and sends nothing.
    fn enabled(&self) -> bool;

    /// The lowest severity it gets.
    fn min_severity(&self) -> Severity;

    /// Sends `msg` once; the delivery task decides about retries.
    fn send(
        &self,
        http: &SharedClient,
        msg: &Message,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What went wrong, fit to show a person; never a secret.
    pub text: String,
    /// How long the far end asked us to wait (HTTP 429).
    pub retry_after: Option<Duration>,
}

impl SendError {
    /// A failure the far end gave no wait for.
    pub fn new(text: impl Into<String>) -> SendError {
        SendError {
            text: text.into(),
            retry_after: None,
        }
    }
}

/// POSTs `body` as `content_type` with `headers`; a 2xx is delivered, a 429
/// waits as long as the far end says (Telegram's `retry_after`), 30 s else.
pub async fn post(
    http: &SharedClient,
    url: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<(), SendError> {
    let mut request = http
        .get()
        .map_err(SendError::new)?
        .post(url)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .timeout(SEND_TIMEOUT);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let resp = request
        .send()
        .await
        .map_err(|e| SendError::new(describe(e)))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let bytes = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
    let told = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["parameters"]["retry_after"].as_u64())
        .map(Duration::from_secs);
    Err(SendError {
        text: format!("HTTP {}: {}", status.as_u16(), excerpt.trim()),
        retry_after: (status.as_u16() == 429).then(|| told.unwrap_or(Duration::from_secs(30))),
    })
}

/// POSTs `body` as JSON.
pub async fn post_json(http: &SharedClient, url: &str, body: &Value) -> Result<(), SendError> {
    post(http, url, "application/json", &[], body.to_string()).await
}

/// A request error with its cause, and without the URL (it holds the secret).
fn describe(e: reqwest::Error) -> String {
    crate::util::redact(&error_chain(&e.without_url()))
}
