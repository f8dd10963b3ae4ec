//! `fault open|close|list`: the fault tickets the user raised with the ISP,
//! recorded in `log_dir/faults.csv` for the report's claims. A record that
//! would make the file wrong is refused, naming the ticket, and nothing is
//! written.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, Utc};

use crate::claim::faults::{self, Faults, Ticket};
use crate::claim::{rules, ClaimConfig};
use crate::cli::{FaultAction, FaultArgs, EXIT_USAGE};
use crate::daemon::config::Config;
use crate::timefmt::local_datetime;

/// Records or lists; a bad `--at` is a usage error.
pub fn run(config_path: Option<&Path>, args: &FaultArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let at = match &args.action {
        FaultAction::Open { at, .. } | FaultAction::Close { at, .. } => {
            match when(at.as_deref(), now) {
                Ok(t) => Some(t),
                Err(msg) => {
                    eprintln!("connectivity-monitor fault: --at {msg}");
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
            }
        }
        FaultAction::List => None,
    };
    let config = Config::load(config_path)?;
    let log_dir = args
        .log_dir
        .clone()
        .unwrap_or(config.monitor.log_dir.clone());
    let faults = Faults::read(&log_dir);
    for w in &faults.warnings {
        eprintln!("warning: {w}");
    }
    let (row, verb) = match (&args.action, at) {
        (
            FaultAction::Open {
                reference, note, ..
            },
            Some(at),
        ) => (
            faults.open(reference, at, now, note.as_deref().unwrap_or_default())?,
            "opened",
        ),
        (
            FaultAction::Close {
                reference, note, ..
            },
            Some(at),
        ) => (
            faults.close(reference, at, now, note.as_deref().unwrap_or_default())?,
            "closed",
        ),
        _ => {
            print!("{}", list(&config.features.claim, &faults.tickets, now));
            return Ok(ExitCode::SUCCESS);
        }
    };
    let reference = row.reference.clone();
    let when = row.at.clone();
    let path = faults::append(&log_dir, row)?;
    println!("{reference} {verb} at {when} (in {})", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `--at` as a point in time: now when not given; RFC 3339, a local
/// date-time or a span back from now. A bare date is refused: a report has an hour.
fn when(at: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<FixedOffset>, String> {
    let Some(s) = at else {
        return Ok(now.with_timezone(&Local).fixed_offset());
    };
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Err(format!(
            "{s:?} has no time of day: give it as \"{s} 14:30\""
        ));
    }
    crate::timefmt::parse_when(s, now.with_timezone(&Local))
}

/// The tickets as a table: the open ones first, then the closed ones.
fn list(claim: &ClaimConfig, tickets: &[Ticket], now: DateTime<Utc>) -> String {
    let shown = |t: DateTime<FixedOffset>| local_datetime(t.to_utc());
    let mut out = String::new();
    if tickets.is_empty() {
        return "No fault tickets: `fault open --ref REF` records one.\n".into();
    }
    for (title, open) in [("OPEN", true), ("CLOSED", false)] {
        let these: Vec<&Ticket> = tickets
            .iter()
            .filter(|t| t.fixed.is_none() == open)
            .collect();
        out.push_str(&format!("{title} ({})\n", these.len()));
        for t in these {
            let fixed = t.fixed.map_or_else(
                || "still open".to_owned(),
                |f| format!("fixed {}", shown(f)),
            );
            out.push_str(&format!(
                "{}\n    reported {}, {fixed}\n",
                t.reference,
                shown(t.reported)
            ));
            if let Some(day) = t.last_day(claim) {
                out.push_str(&format!(
                    "    provider's deadline: {}\n",
                    rules::deadline(&claim.rule, day)
                ));
                let passed = t.deadline(claim).filter(|p| *p <= now);
                match (passed, t.fixed) {
                    (Some(_), None) => out.push_str(&format!(
                        "    passed: compensation accrues for each day of total loss under {}\n",
                        claim.rule.name()
                    )),
                    (Some(p), Some(f)) if f.to_utc() > p => out.push_str(
                        "    fixed after the deadline: `report` gives the days and the amount\n",
                    ),
                    _ => {}
                }
            }
            for (label, note) in [("note", &t.note), ("note on the fix", &t.fix_note)] {
                if !note.is_empty() {
                    out.push_str(&format!("    {label}: {note}\n"));
                }
            }
        }
    }
    out
}
