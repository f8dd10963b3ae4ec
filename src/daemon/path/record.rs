//! Writing finished traces: a failure's under the label its fate gives it, a
//! baseline only when it is the first or the route has changed.
//!
//! Routes are compared only between complete traces (the destination
//! answered) taken while the path worked: a baseline is never run, or is
//! abandoned, while a check fails, so an outage's silence is never a "route".

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path as FilePath;

use chrono::{DateTime, Utc};

use super::failure::Fate;
use crate::monitor::Layer;
use crate::path::{Entry, Path};

/// The routes seen while the path worked, and what has been written.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The last complete baseline's route per target.
    routes: HashMap<String, Vec<Option<IpAddr>>>,
    /// Targets with a baseline written in this run.
    written: HashSet<String>,
    /// Baselines on the same route, counted instead of written.
    unchanged: u64,
}

impl Recorder {
    /// The route to `name` last seen while the path worked (empty if none yet).
    pub fn route(&self, name: &str) -> Vec<Option<IpAddr>> {
        self.routes.get(name).cloned().unwrap_or_default()
    }

    /// A baseline: written when it is the first or its route differs from the
    /// last complete one (`ROUTE_CHANGED`); counted otherwise.
    pub fn baseline(&mut self, log_dir: &FilePath, name: &str, p: Path) {
        if !p.complete() {
            if self.written.insert(name.to_owned()) {
                write(log_dir, &Entry::new(p, name, "baseline", None));
                tracing::debug!("path to {name}: baseline trace written (destination not reached)");
            } else {
                tracing::debug!(
                    "path to {name}: baseline did not reach the destination; not compared"
                );
            }
            return;
        }
        let label = match self.routes.get(name) {
            None => "baseline",
            Some(last) if p.differs_from(last) => {
                tracing::warn!(
                    route_changed = name,
                    "ROUTE_CHANGED: the path to {name} is now {}",
                    route_words(&p)
                );
                "route-change"
            }
            Some(_) => {
                self.unchanged += 1;
                tracing::debug!(
                    "path to {name} unchanged ({} unchanged baselines so far)",
                    self.unchanged
                );
                return;
            }
        };
        self.routes.insert(name.to_owned(), p.route());
        self.written.insert(name.to_owned());
        write(log_dir, &Entry::new(p, name, label, None));
        tracing::debug!("path to {name}: {label} trace written");
    }

    /// A failure's trace, labelled by what became of the failure.
    pub fn failure(
        &self,
        log_dir: &FilePath,
        name: &str,
        (since, layer): (DateTime<Utc>, Layer),
        fate: Fate,
        p: Path,
    ) {
        let label = match fate {
            Fate::Outage => format!("outage {layer}"),
            Fate::NoOutage => format!("failed check {layer}, no outage"),
            Fate::Undecided => format!("failing check {layer}, undecided at stop"),
        };
        write(log_dir, &Entry::new(p, name, &label, Some(since)));
        tracing::debug!("path to {name}: {label} trace written");
    }
}

fn route_words(p: &Path) -> String {
    p.route()
        .iter()
        .map(|a| a.map_or_else(|| "???".to_owned(), |a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Appends the table to the target's file and the JSON line to `paths.jsonl`,
/// each whole or not at all.
fn write(log_dir: &FilePath, e: &Entry) {
    let dir = log_dir.join("paths");
    let file_name: String = e
        .target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let json = match serde_json::to_string(e) {
        Ok(j) => j + "\n",
        Err(err) => {
            tracing::error!("cannot write the path to {}: {err}", e.target);
            return;
        }
    };
    for (file, text) in [
        (dir.join(format!("{file_name}.log")), e.table() + "\n"),
        (log_dir.join("paths.jsonl"), json),
    ] {
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
            })
            .and_then(|mut f| crate::util::append_whole(&mut f, text.as_bytes(), false));
        if let Err(err) = written {
            tracing::error!("cannot write {}: {err}", file.display());
        }
    }
}
