//! `notify-test`: one clearly labelled message through each channel (or the
//! one named), straight away, not through the outbox.

use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;

use crate::alert::{Channel, Message, NotifyLog};
use crate::cli::ChannelName;
use crate::daemon::config::Config;

/// Prints `NAME: ok` or `NAME: FAILED: why` per channel; exit 1 if any failed.
pub fn run(path: Option<&Path>, only: Option<ChannelName>) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    let results = super::runtime()?.block_on(send_all(&config, only))?;
    let mut ok = true;
    for (name, r) in &results {
        match r {
            Ok(()) => println!("{name}: ok"),
            Err(e) => {
                ok = false;
                println!("{name}: FAILED: {e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn send_all(
    config: &Config,
    only: Option<ChannelName>,
) -> anyhow::Result<Vec<(&'static str, Result<(), String>)>> {
    let http = crate::probe::SharedClient::default();
    let channels: Vec<Channel> = Channel::all(&config.features.notify)
        .into_iter()
        .filter(|c| only.is_none_or(|n| n.as_str() == c.name()))
        .collect();
    if channels.is_empty() {
        anyhow::bail!(match only {
            Some(n) => format!(
                "no enabled channel named {:?} in {}",
                n.as_str(),
                config.source
            ),
            None => format!("no notification channel is configured in {}", config.source),
        });
    }
    let msg = Message::test(Utc::now());
    let log = NotifyLog::new(&config.monitor.log_dir);
    let pending = config.pending_credentials();
    let mut out = Vec::new();
    for c in channels {
        if let Some((_, name)) = pending.iter().find(|(ch, _)| *ch == c.name()) {
            out.push((c.name(), Err(credential_help(c.name(), name))));
            continue;
        }
        let r = c.send(&http, &msg).await.map_err(|e| e.text);
        let what = if r.is_ok() { "ok" } else { "failed" };
        log.attempt(
            c.name(),
            &msg,
            r.as_ref().map(|_| ()).map_err(String::as_str),
            what,
        );
        out.push((c.name(), r));
    }
    Ok(out)
}

/// How to run `notify-test` with a secret that only systemd can provide.
fn credential_help(channel: &str, name: &str) -> String {
    format!(
        "its secret is the systemd credential {name:?}, which only the service can read; \
         test it under systemd with the same credential: \
         systemd-run --pipe --wait -p LoadCredential={name}:/path/to/{name} \
         connectivity-monitor notify-test --channel {channel}"
    )
}
