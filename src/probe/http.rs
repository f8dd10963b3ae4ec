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
        Err(e) => Outcome::Down(Failure::Http(error_chain(&e))),
    }
}

/// An error with its causes, `a: b: c`, skipping a cause whose text the
/// message already holds (lettre and hyper repeat their source in their own).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = s.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error, &'static str);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_chain_adds_causes_once() {
        let inner = || std::io::Error::other("no route");
        assert_eq!(
            error_chain(&Outer(inner(), "connect failed")),
            "connect failed: no route"
        );
        assert_eq!(
            error_chain(&Outer(inner(), "connect failed: no route")),
            "connect failed: no route"
        );
    }
}
