//! `/api/outages?since=WHEN`: the rows of the outage log, rotated and
//! compressed files included, read by the one outage-log reader on a blocking
//! thread (one request at a time, within a deadline) and sent in chunks,
//! the newest `MAX_ROWS` rows and `MAX_BYTES` bytes at most.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame};
use hyper::{Response, StatusCode};
use tokio::sync::Semaphore;

use super::reply::{reply, with_body, Body};
use crate::sink::OutageRow;

/// At most this many rows in one reply, the newest.
pub const MAX_ROWS: usize = 2_000;
/// At most this many bytes of rows in one reply.
pub const MAX_BYTES: usize = 512 << 10;
/// At most this many of the reader's warnings in one reply.
const MAX_WARNINGS: usize = 20;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Only outages that started at or after this.
    pub since: Option<DateTime<FixedOffset>>,
}

impl Query {
    /// The query string, or why it is refused: `since` at most once, and nothing else.
    pub fn parse(query: Option<&str>) -> Result<Query, String> {
        let mut since = None;
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if k != "since" {
                let k: String = k.chars().take(40).collect();
                return Err(format!("unknown parameter {k:?}: /api/outages takes since"));
            }
            if since.is_some() {
                return Err("since: given more than once".into());
            }
            since = Some(
                crate::timefmt::parse_when(&v, chrono::Local::now())
                    .map_err(|e| format!("since: {e}"))?,
            );
        }
        Ok(Query { since })
    }
}

/// The rows read, as JSON texts, oldest first.
#[derive(Debug, Default)]
struct Rows {
    json: VecDeque<Bytes>,
    bytes: usize,
    /// Rows left out by the caps (the oldest).
    omitted: u64,
    warnings: Vec<String>,
}

impl Rows {
    fn push(&mut self, row: &OutageRow) {
        let Ok(json) = serde_json::to_vec(row) else {
            return;
        };
        self.bytes += json.len() + 1;
        self.json.push_back(Bytes::from(json));
        while self.json.len() > MAX_ROWS || self.bytes > MAX_BYTES {
            let Some(old) = self.json.pop_front() else {
                break;
            };
            self.bytes -= old.len() + 1;
            self.omitted += 1;
        }
    }
}

/// Reads every file of the outage log in `log_dir` through the one reader. Blocking.
fn read(log_dir: &Path, since: Option<DateTime<FixedOffset>>) -> Rows {
    let mut rows = Rows::default();
    let mut warnings = Vec::new();
    crate::sink::outages::each(log_dir, since, &mut warnings, |r| {
        if since.is_none_or(|s| r.start >= s) {
            rows.push(&r.row);
        }
        std::ops::ControlFlow::Continue(())
    });
    warnings.truncate(MAX_WARNINGS);
    rows.warnings = warnings;
    rows
}

/// The reply: the rows read off the runtime thread, or 503 when the log
/// could not be read within `deadline` (another request's read included).
pub async fn respond(
    q: Query,
    log_dir: &Path,
    readers: &Arc<Semaphore>,
    deadline: Duration,
) -> Response<Body> {
    let log_dir: PathBuf = log_dir.to_owned();
    let readers = Arc::clone(readers);
    let read = async move {
        let slot = readers.acquire_owned().await.ok()?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            read(&log_dir, q.since)
        })
        .await
        .ok()
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Some(rows)) => with_body(StatusCode::OK, "application/json", chunks(rows)),
        Ok(None) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "the outage log could not be read\n",
        ),
        Err(_) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!(
                "the outage log was not read within {}; try again\n",
                crate::timefmt::spelled(deadline)
            ),
        ),
    }
}

/// `{"schema_version":1,"outages":[…],"omitted":N,"warnings":[…]}`, a row a chunk.
fn chunks(rows: Rows) -> Body {
    let mut out = VecDeque::with_capacity(rows.json.len() * 2 + 2);
    out.push_back(Bytes::from_static(b"{\"schema_version\":1,\"outages\":["));
    for (i, row) in rows.json.into_iter().enumerate() {
        if i > 0 {
            out.push_back(Bytes::from_static(b","));
        }
        out.push_back(row);
    }
    let tail = serde_json::json!({ "omitted": rows.omitted, "warnings": rows.warnings });
    let tail = tail.to_string();
    out.push_back(Bytes::from(format!("],{}", &tail[1..])));
    Chunks(out).boxed()
}

/// A body sent one chunk at a time as the connection takes them.
struct Chunks(VecDeque<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        // Known in full: the reply carries a Content-Length, not chunks.
        hyper::body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_query_is_refused_with_the_reason() {
        assert_eq!(Query::parse(None).unwrap().since, None);
        assert!(Query::parse(Some("since=30d")).unwrap().since.is_some());
        assert!(
            Query::parse(Some("since=2026-01-01T00%3A00%3A00%2B01%3A00"))
                .unwrap()
                .since
                .is_some()
        );
        for (q, why) in [
            ("since=300000y", "since: "),
            ("since=yesterday", "since: "),
            ("since=1d&since=2d", "more than once"),
            ("until=1d", "unknown parameter \"until\""),
        ] {
            let e = Query::parse(Some(q)).unwrap_err();
            assert!(e.contains(why), "{q}: {e}");
        }
    }

    fn row(i: u64) -> OutageRow {
        OutageRow {
            date: "2026-01-01".into(),
            start_time: "00:00:00".into(),
            end_time: "00:00:01".into(),
            duration_seconds: i,
            cause: "WAN_DOWN".into(),
            started_at: "2026-01-01T00:00:00+00:00".into(),
            ended_at: "2026-01-01T00:00:01+00:00".into(),
            detail: "x".repeat(10),
            simulated: false,
        }
    }

    #[test]
    fn the_newest_rows_are_kept_within_both_caps() {
        let mut rows = Rows::default();
        for i in 0..(MAX_ROWS as u64 + 10) {
            rows.push(&row(i));
        }
        assert_eq!(rows.json.len(), MAX_ROWS);
        assert_eq!(rows.omitted, 10);
        assert!(rows.bytes <= MAX_BYTES);
        let first: serde_json::Value = serde_json::from_slice(&rows.json[0]).unwrap();
        assert_eq!(first["duration_seconds"], 10, "the oldest went first");
        let mut big = Rows::default();
        let mut r = row(0);
        r.detail = "y".repeat(MAX_BYTES / 3);
        for _ in 0..5 {
            big.push(&r);
        }
        assert!(
            big.bytes <= MAX_BYTES && big.json.len() == 2,
            "{}",
            big.json.len()
        );
    }
}
