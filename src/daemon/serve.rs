//! `[serve]`: one small HTTP/1 server for the live status page (`/`), the JSON
//! API (`/api/status`, `/api/outages?since=…`) and `/metrics`.
//!
//! Read-only: no endpoint changes state. Bounded, so that no client can take
//! it from the others or from the daemon: at most `PER_CLIENT` connections
//! from one address and `MAX_CONNECTIONS` in all; headers of at most 16 KiB
//! within `HEADER_TIMEOUT`, which is also how long a connection may idle; a
//! reply the client stops reading is cut off after `WRITE_STALL`; a
//! connection lives `CONNECTION_LIFETIME` at most. Files are read on a
//! blocking thread, one request at a time, within `READ_TIMEOUT`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::conn::{Clients, StallGuard};
use super::live::LiveView;
use super::metrics::Format;
use super::outages;
use super::reply::{reply, Body};
use super::surface::{off, Context, Surface};
use super::part::{Background, PartFuture};
use crate::config::raw::SpannedStr;
use crate::config::{quoted, Secret, Table, Validator};

const MAX_CONNECTIONS: usize = 64;
const PER_CLIENT: usize = 8;
const HEADER_LIMIT: usize = 16 * 1024;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_STALL: Duration = Duration::from_secs(10);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The status page: one document, its style and script inline.
const PAGE: &str = include_str!("page.html");

/// `[serve]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServe {
    listen: SpannedStr,
    basic_auth_user: Option<SpannedStr>,
    basic_auth_password: Option<SpannedStr>,
    basic_auth_password_file: Option<SpannedStr>,
}

/// `[serve]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServeConfig {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// HTTP basic authentication, if required: user and password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth_password: Option<Secret>,
}

impl Table for ServeConfig {
    type Raw = RawServe;

    fn read(s: RawServe, v: &mut Validator<'_>, section: &str) -> Option<ServeConfig> {
        let key = |k: &str| format!("{section}.{k}");
        let listen = s.listen.get_ref().parse::<SocketAddr>().ok();
        if listen.is_none() {
            let rule = "must be an address and port, e.g. \"127.0.0.1:9790\" or \"[::1]:9790\"";
            v.problem(Some(s.listen.span()), &key("listen"), &quoted(Some(&s.listen)), rule);
        }
        let password = v.secret(
            &key("basic_auth_password"),
            s.basic_auth_password,
            s.basic_auth_password_file,
            false,
        );
        let user = s.basic_auth_user.map(|u| {
            v.plain_name(&u, &key("basic_auth_user"));
            u.get_ref().clone()
        });
        if user.is_some() != password.is_some() {
            let rule = "basic authentication needs both basic_auth_user and basic_auth_password (or _file)";
            v.problem(None, &key("basic_auth_user"), "", rule);
        }
        Some(ServeConfig {
            listen: listen?,
            basic_auth_user: user,
            basic_auth_password: password,
        })
    }

    fn secrets(&self) -> Vec<&Secret> {
        self.basic_auth_password.iter().collect()
    }
}

impl Surface for ServeConfig {
    type Running = Server;

    const SHOWS: &'static str = "the status page";

    fn start<'a>(&'a self, ctx: &'a Context<'a>) -> PartFuture<'a, anyhow::Result<Server>> {
        Box::pin(Server::start(self, ctx.log_dir.to_owned(), Arc::clone(ctx.live)))
    }

    /// New credentials for the same address are swapped in place; another
    /// address restarts it, and if that fails it goes on where it was.
    fn reload<'a>(
        &'a self,
        mut running: Server,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, (Option<Server>, Option<String>)> {
        Box::pin(async move {
            if running.config() == self {
                return (Some(running), None);
            }
            if running.config().listen == self.listen {
                running.set_credentials(self);
                let note = "serve: new credentials in force, the old ones refused";
                return (Some(running), Some(note.into()));
            }
            let old = running.config().clone();
            let _ = running.stop().await;
            match self.start(ctx).await {
                Ok(s) => {
                    let note = format!("serve moved from {} to {}", old.listen, self.listen);
                    (Some(s), Some(note))
                }
                Err(e) => {
                    let note = off("serve", Self::SHOWS, &e);
                    let restored = old.start(ctx).await.ok();
                    let still = restored.as_ref().map_or(String::new(), |_| {
                        format!(" (still serving on {})", old.listen)
                    });
                    (restored, Some(note + &still))
                }
            }
        })
    }

    fn stop(running: Server) -> PartFuture<'static, ()> {
        Box::pin(async move {
            let _ = running.stop().await;
        })
    }

    fn started(&self, name: &str) -> String {
        format!("{name} started on {}", self.listen)
    }

    fn preflight(&self) -> (Vec<String>, Vec<String>) {
        (Vec::new(), exposure(self).into_iter().collect())
    }
}

/// What every request may read.
struct Shared {
    live: Arc<LiveView>,
    /// The base64 `user:password` a client must send, if authentication is on;
    /// swapped in place when a reload changes the credentials.
    credentials: RwLock<Option<String>>,
    log_dir: PathBuf,
    /// One log read at a time: a crowd of clients costs one blocking thread.
    readers: Arc<Semaphore>,
}

/// The running server.
pub struct Server {
    task: Background,
    shared: Arc<Shared>,
    config: ServeConfig,
}

/// A warning for a server that anyone who can reach it may read, if it is one.
pub fn exposure(cfg: &ServeConfig) -> Option<String> {
    (!cfg.listen.ip().is_loopback() && cfg.basic_auth_user.is_none()).then(|| {
        format!(
            "serve.listen = \"{}\" is reachable beyond this machine and has no basic_auth_user: \
             anyone who can reach it reads the status, the outages and /metrics",
            cfg.listen
        )
    })
}

fn credentials(cfg: &ServeConfig) -> Option<String> {
    cfg.basic_auth_user
        .as_ref()
        .zip(cfg.basic_auth_password.as_ref())
        .map(|(u, p)| BASE64.encode(format!("{u}:{}", p.expose())))
}

impl Server {
    /// Binds `cfg.listen` now, so a taken port is an error here.
    pub async fn start(
        cfg: &ServeConfig,
        log_dir: PathBuf,
        live: Arc<LiveView>,
    ) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("serve.listen {}: cannot listen: {e}", cfg.listen))?;
        let shared = Arc::new(Shared {
            live,
            credentials: RwLock::new(credentials(cfg)),
            log_dir,
            readers: Arc::new(Semaphore::new(1)),
        });
        let s = Arc::clone(&shared);
        let task = Background::spawn(|token| accept(listener, s, token));
        tracing::info!(
            "serving the status page, /api/status and /metrics on http://{}{}",
            cfg.listen,
            if cfg.basic_auth_user.is_some() {
                " (basic authentication)"
            } else {
                ""
            }
        );
        if let Some(w) = exposure(cfg) {
            tracing::warn!("{w}");
        }
        Ok(Server {
            task,
            shared,
            config: cfg.clone(),
        })
    }

    /// The section it runs with.
    pub fn config(&self) -> &ServeConfig {
        &self.config
    }

    /// New credentials for the same address, from the next request on; the
    /// old ones are refused at once, on open connections too.
    pub fn set_credentials(&mut self, cfg: &ServeConfig) {
        *self.shared.credentials.write().expect("credentials lock") = credentials(cfg);
        self.config = cfg.clone();
    }

    /// Stops listening and closes every connection.
    pub fn stop(self) -> PartFuture<'static, anyhow::Result<()>> {
        self.task.stop()
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, token: CancellationToken) {
    let clients = Clients::new(PER_CLIENT, MAX_CONNECTIONS);
    loop {
        let (stream, peer) = tokio::select! {
            _ = token.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!("accept: {e}");
                    continue;
                }
            },
        };
        // Over its limit a connection is closed at once: the others keep theirs.
        let Some(place) = clients.admit(peer.ip()) else {
            continue;
        };
        let shared = Arc::clone(&shared);
        let token = token.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(respond(&shared, req).await) }
            });
            let io = TokioIo::new(StallGuard::new(stream, WRITE_STALL));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(HEADER_LIMIT)
                .serve_connection(io, service);
            tokio::select! {
                _ = token.cancelled() => {}
                _ = tokio::time::timeout(CONNECTION_LIFETIME, conn) => {}
            }
            drop(place);
        });
    }
}

/// Whether an `Authorization` header carries `expected` (base64 `user:password`)
/// in the Basic scheme, whose name is case-insensitive.
fn authorized(header: Option<&HeaderValue>, expected: &str) -> bool {
    let Some((scheme, given)) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().split_once(' '))
    else {
        return false;
    };
    scheme.eq_ignore_ascii_case("basic")
        && constant_time_eq(given.trim().as_bytes(), expected.as_bytes())
}

async fn respond(s: &Shared, req: Request<Incoming>) -> Response<Body> {
    let expected = s.credentials.read().expect("credentials lock").clone();
    if let Some(expected) = expected {
        if !authorized(req.headers().get(AUTHORIZATION), &expected) {
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
        "/api/outages" => {
            let query = outages::Query::parse(req.uri().query());
            match query {
                Ok(q) => outages::respond(q, &s.log_dir, &s.readers, READ_TIMEOUT).await,
                Err(why) => reply(StatusCode::BAD_REQUEST, "text/plain", why + "\n"),
            }
        }
        "/metrics" => {
            let accept = req.headers().get(ACCEPT).and_then(|a| a.to_str().ok());
            let format = Format::negotiate(accept);
            reply(
                StatusCode::OK,
                format.content_type(),
                s.live.metrics_text(format),
            )
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basic_scheme_is_case_insensitive_and_the_credentials_are_not() {
        let ok = "bWU6cHc="; // me:pw
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(authorized(Some(&h("Basic bWU6cHc=")), ok));
        assert!(authorized(Some(&h("basic bWU6cHc=")), ok));
        assert!(authorized(Some(&h("BASIC  bWU6cHc= ")), ok));
        assert!(!authorized(Some(&h("Basic bwu6chc=")), ok));
        assert!(!authorized(Some(&h("Bearer bWU6cHc=")), ok));
        assert!(!authorized(Some(&h("Basic")), ok));
        assert!(!authorized(None, ok));
    }

    #[test]
    fn only_a_server_beyond_loopback_without_authentication_is_warned_about() {
        let cfg = |listen: &str, user: Option<&str>| ServeConfig {
            listen: listen.parse().unwrap(),
            basic_auth_user: user.map(str::to_owned),
            basic_auth_password: None,
        };
        assert!(exposure(&cfg("127.0.0.1:9790", None)).is_none());
        assert!(exposure(&cfg("[::1]:9790", None)).is_none());
        assert!(exposure(&cfg("0.0.0.0:9790", Some("me"))).is_none());
        let w = exposure(&cfg("0.0.0.0:9790", None)).unwrap();
        assert!(w.starts_with("serve.listen = \"0.0.0.0:9790\""), "{w}");
    }
}
