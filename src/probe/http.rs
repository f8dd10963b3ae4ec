//! HTTP(S) GET probe through reqwest with rustls.
//!
//! reqwest honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY itself; [`proxy_in_use`]
//! only reports which applies, so the log can say so.

use std::sync::Arc;

use tokio::time::Instant;
use url::Url;

use super::{Failure, Outcome, ProbeSetupError, Rtt};

/// The shared client: no redirects followed (a redirect is an answer), no cookies.
/// Its attempts are bounded by the probe's timeout, not by the client.
pub fn client() -> Result<reqwest::Client, ProbeSetupError> {
    // Installing twice is harmless: the second call just reports the first provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("connectivity-monitor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ProbeSetupError::Http(e.to_string()))
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
        // Without the URL, and redacted besides (a proxy URL can be in a cause).
        Err(e) => Outcome::Down(Failure::Http(crate::util::redact(
            &crate::util::error_chain(&e.without_url()),
        ))),
    }
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
