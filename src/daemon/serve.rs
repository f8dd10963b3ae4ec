//! `[serve]`: one small HTTP/1 server for the live status page (`/`), the JSON
//! API (`/api/status`, `/api/outages?since=…`) and `/metrics`.
//!
//! Read-only: no endpoint changes state. Bounded: at most `MAX_CONNECTIONS`
//! at once, headers of at most 16 KiB read within 10 s, a connection closed
//! after 60 s, so a slow client cannot pin a task or the daemon's memory; it
//! runs beside detection and never in its way.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::live::Live;
use super::{Background, Part, PartFuture};
use crate::config::{Config, ServeConfig};

const MAX_CONNECTIONS: usize = 64;
const HEADER_LIMIT: usize = 16 * 1024;
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// The status page: one document, its style and script inline.
const PAGE: &str = include_str!("page.html");

/// What every request may read.
struct Shared {
    live: Arc<Live>,
    /// `Basic …` as the client must send it, if authentication is on.
    expected_auth: Option<String>,
    log_dir: PathBuf,
}

/// The running server.
pub struct Server {
    task: Background,
    listen: SocketAddr,
}

impl Server {
    /// Binds `cfg.listen` now, so a taken port is an error at start.
    pub async fn start(
        cfg: &ServeConfig,
        config: &Config,
        live: Arc<Live>,
    ) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("serve.listen {}: cannot listen: {e}", cfg.listen))?;
        let expected_auth = cfg
            .basic_auth_user
            .as_ref()
            .zip(cfg.basic_auth_password.as_ref())
            .map(|(u, p)| {
                format!(
                    "Basic {}",
                    crate::util::base64(format!("{u}:{}", p.expose()).as_bytes())
                )
            });
        let shared = Arc::new(Shared {
            live,
            expected_auth,
            log_dir: config.monitor.log_dir.clone(),
        });
        let task = Background::spawn(|token| accept(listener, shared, token));
        tracing::info!(
            "serving the status page, /api/status and /metrics on http://{}{}",
            cfg.listen,
            if cfg.basic_auth_user.is_some() {
                " (basic authentication)"
            } else {
                ""
            }
        );
        Ok(Server {
            task,
            listen: cfg.listen,
        })
    }
}

impl Part for Server {
    fn reload<'a>(
        &'a mut self,
        _old: &'a Config,
        new: &'a Config,
    ) -> PartFuture<'a, Option<String>> {
        let note = match &new.serve {
            Some(s) if s.listen == self.listen => None,
            _ => Some("serve changes take effect at the next restart".to_owned()),
        };
        Box::pin(async move { note })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, anyhow::Result<()>> {
        self.task.stop()
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, token: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _) = tokio::select! {
            _ = token.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!("accept: {e}");
                    continue;
                }
            },
        };
        // Over the limit the connection is closed at once: the others keep theirs.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let shared = Arc::clone(&shared);
        let token = token.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(respond(&shared, &req)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(HEADER_LIMIT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = token.cancelled() => {}
                _ = tokio::time::timeout(CONNECTION_LIFETIME, conn) => {}
            }
            drop(slot);
        });
    }
}

fn reply(status: StatusCode, kind: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn respond(s: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(expected) = &s.expected_auth {
        let given = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        if !given.is_some_and(|g| constant_time_eq(g, expected.as_bytes())) {
            let mut r = reply(
                StatusCode::UNAUTHORIZED,
                "text/plain",
                "authentication required\n",
            );
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"connectivity-monitor\", charset=\"UTF-8\""),
            );
            return r;
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "read-only: GET only\n",
        );
    }
    match req.uri().path() {
        "/" => reply(StatusCode::OK, "text/html; charset=utf-8", PAGE),
        "/api/status" => match serde_json::to_vec(&s.live.view()) {
            Ok(b) => reply(StatusCode::OK, "application/json", b),
            Err(e) => reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                e.to_string(),
            ),
        },
        "/api/outages" => outages(s, req.uri().query()),
        "/metrics" => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            s.live.metrics_text(),
        ),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `/api/outages?since=WHEN`: the rows of `outage_log.csv` that started at or after WHEN
/// (RFC 3339, or a span back from now such as `30d`), as JSON.
fn outages(s: &Shared, query: Option<&str>) -> Response<Full<Bytes>> {
    let since = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "since")
        .map(|(_, v)| v.into_owned());
    let since = match since
        .as_deref()
        .map(|v| crate::timefmt::parse_when(v, chrono::Local::now()))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("since: {e}\n"),
            )
        }
    };
    let mut rows = Vec::new();
    if let Ok(mut r) = csv::Reader::from_path(s.log_dir.join(crate::sink::recorder::FILE)) {
        for row in r.deserialize::<crate::sink::OutageRow>().flatten() {
            let keep = since.is_none_or(|since| {
                chrono::DateTime::parse_from_rfc3339(&row.started_at).is_ok_and(|t| t >= since)
            });
            if keep {
                rows.push(row);
            }
        }
    }
    match serde_json::to_vec(&serde_json::json!({ "schema_version": 1, "outages": rows })) {
        Ok(b) => reply(StatusCode::OK, "application/json", b),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            e.to_string(),
        ),
    }
}
