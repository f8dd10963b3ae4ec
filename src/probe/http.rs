//! HTTP(S) GET probes (`http`) through reqwest with rustls.
//!
//! reqwest honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY itself; [`proxy_in_use`]
//! only reports which applies, so the log can say so.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::hedge::hedged;
use super::kinds::Kind;
use super::{Failure, Host, Outcome, ProbeResult, ProbeSetupError, Prober, Rtt};
use crate::config::Family;

/// An HTTP GET. The list of kinds holds it boxed: its URL is the largest
/// payload of any kind, and every probe's [`Spec`](super::Spec) is as large as the largest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Get {
    /// The URL.
    pub url: Url,
    /// Statuses that count as up.
    pub expect_status: Vec<u16>,
    /// The family it must connect over; `None`: either.
    pub family: Option<Family>,
}

impl Kind for Get {
    fn name(&self) -> String {
        "http".into()
    }

    fn host(&self) -> Option<Host> {
        None
    }

    fn family(&self) -> Option<Family> {
        self.family
    }

    fn global_ipv6(&self) -> bool {
        true
    }

    async fn attempt(&self, prober: &Prober, timeout: Duration) -> ProbeResult {
        let client = match prober.http(self.family) {
            Ok(c) => c,
            Err(e) => return ProbeResult::new(Outcome::Down(Failure::Io(e))),
        };
        let url = Arc::new(self.url.clone());
        let expect = Arc::new(self.expect_status.clone());
        ProbeResult::new(
            hedged(timeout, move || {
                get(client.clone(), Arc::clone(&url), Arc::clone(&expect))
            })
            .await,
        )
    }
}

/// The shared client: no redirects followed (a redirect is an answer), no cookies.
/// Its attempts are bounded by the probe's timeout, not by the client.
pub fn client() -> Result<reqwest::Client, ProbeSetupError> {
    with_shared_tls(builder())
        .build()
        .map_err(|e| ProbeSetupError::Http(e.to_string()))
}

/// The shared client's settings, trusting `roots` besides the system's (a private CA).
pub fn client_trusting(
    roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::Client, ProbeSetupError> {
    builder()
        .tls_certs_merge(roots)
        .build()
        .map_err(|e| ProbeSetupError::Http(e.to_string()))
}

/// A client that connects over `family` only: the names it resolves keep only
/// that family's addresses, so Happy Eyeballs cannot hide a broken family.
pub fn client_over(family: Family) -> Result<reqwest::Client, ProbeSetupError> {
    with_shared_tls(builder())
        .dns_resolver(Arc::new(OneFamily(family)))
        .build()
        .map_err(|e| ProbeSetupError::Http(e.to_string()))
}

fn builder() -> reqwest::ClientBuilder {
    crypto();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("connectivity-monitor/", env!("CARGO_PKG_VERSION")))
}

/// `builder` with the shared TLS settings (not for a client that trusts more roots).
fn with_shared_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    match shared_tls() {
        Some(tls) => builder.tls_backend_preconfigured(tls),
        // reqwest makes its own, and says why it cannot when it cannot.
        None => builder,
    }
}

/// The TLS settings every client shares: one verifier, so the system's
/// certificates are loaded once however many clients there are (each client
/// made its own copy, about 100 KiB), and only once a server's certificate
/// is to be judged. `None` if it cannot be made.
fn shared_tls() -> Option<rustls::ClientConfig> {
    static TLS: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = crypto()?;
        let verifier = super::trust::LazyTrust::new(Arc::clone(&provider));
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // As reqwest asks without its http2 feature, which this crate leaves off.
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Some(tls)
    })
    .clone()
}

/// The process's rustls provider: ring, installed by the first caller.
fn crypto() -> Option<Arc<rustls::crypto::CryptoProvider>> {
    // Installing twice is harmless: the second call just reports the first provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    rustls::crypto::CryptoProvider::get_default().cloned()
}

/// The client in `cell`, made by `make` if there is none yet. One that cannot
/// be made (no TLS provider) is tried again at the next use; missing
/// certificates fail a handshake instead, and are looked for again at the next.
pub(super) fn made(
    cell: &OnceLock<reqwest::Client>,
    make: impl FnOnce() -> Result<reqwest::Client, ProbeSetupError>,
) -> Result<reqwest::Client, String> {
    if let Some(c) = cell.get() {
        return Ok(c.clone());
    }
    let c = make().map_err(|e| e.to_string())?;
    Ok(cell.get_or_init(|| c).clone())
}

/// The daemon's HTTP client for the HTTP channels and the live surfaces that
/// send, made on first use and shared by every clone: a daemon that sends
/// nothing over HTTP never loads the certificates.
#[derive(Clone, Default)]
pub struct SharedClient(Arc<OnceLock<reqwest::Client>>);

impl SharedClient {
    /// The client, made now if this is the first use.
    pub fn get(&self) -> Result<reqwest::Client, String> {
        made(&self.0, client)
    }
}

/// The system's resolver, keeping one family's addresses.
struct OneFamily(Family);

impl reqwest::dns::Resolve for OneFamily {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let family = self.0;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let kept: Vec<std::net::SocketAddr> =
                found.filter(|a| Family::of(a.ip()) == family).collect();
            if kept.is_empty() {
                let why = format!("{} has no {} address", name.as_str(), family.name());
                return Err(why.into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// GETs `url`; up when the status is one of `expect`. The caller bounds the time.
pub async fn get(client: reqwest::Client, url: Arc<Url>, expect: Arc<Vec<u16>>) -> Outcome {
    let start = Instant::now();
    match client.get(url.as_str()).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if expect.contains(&status) {
                Outcome::Up {
                    rtt: Rtt(start.elapsed()),
                }
            } else {
                Outcome::Down(Failure::HttpStatus(status))
            }
        }
        Err(e) if e.is_timeout() => Outcome::Down(Failure::Timeout),
        // A refused or unroutable connection is said as the socket said it.
        Err(e) if e.is_connect() && io_cause(&e).is_some() => {
            Outcome::Down(Failure::of_io(io_cause(&e).expect("checked")))
        }
        // Without the URL, and redacted besides (a proxy URL can be in a cause).
        Err(e) => Outcome::Down(Failure::Http(crate::util::redact(
            &crate::util::error_chain(&e.without_url()),
        ))),
    }
}

/// The socket error behind a request error, if there is one.
fn io_cause(e: &reqwest::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// Which proxy variable applies to `url`, if any, by the same rules reqwest uses.
pub fn proxy_in_use(url: &Url) -> Option<&'static str> {
    let get = |k: &str| {
        std::env::var(k)
            .or_else(|_| std::env::var(k.to_ascii_lowercase()))
            .ok()
            .filter(|v| !v.is_empty())
    };
    let host = url.host_str().unwrap_or_default();
    if let Some(no) = get("NO_PROXY") {
        let excluded = no.split(',').map(str::trim).any(|d| {
            d == "*" || {
                let d = d.trim_start_matches('.');
                !d.is_empty() && (host == d || host.ends_with(&format!(".{d}")))
            }
        });
        if excluded {
            return None;
        }
    }
    match url.scheme() {
        "https" if get("HTTPS_PROXY").is_some() => Some("HTTPS_PROXY"),
        "http" if get("HTTP_PROXY").is_some() => Some("HTTP_PROXY"),
        _ if get("ALL_PROXY").is_some() => Some("ALL_PROXY"),
        _ => None,
    }
}
