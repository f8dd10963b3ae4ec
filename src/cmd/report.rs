//! `report`: read the logs of a period and write the evidence, in one of four formats.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{Local, NaiveTime};

use crate::cli::{ReportArgs, EXIT_USAGE};
use crate::config::{Config, Source};
use crate::report::{self, Options};

/// Makes the report; a bad --since/--until is a usage error.
pub fn run(config_path: Option<&Path>, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let usage = |msg: String| {
        eprintln!("connectivity-monitor report: {msg}");
        Ok(ExitCode::from(EXIT_USAGE))
    };
    let since = match args
        .since
        .as_deref()
        .map(|s| crate::timefmt::parse_when(s, Local::now()))
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return usage(format!("--since: {e}")),
    };
    let until = match args
        .until
        .as_deref()
        .map(|s| crate::timefmt::parse_when(s, Local::now()))
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return usage(format!("--until: {e}")),
    };
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            return usage(format!("--since ({s}) must be before --until ({u})"));
        }
    }
    let Some(peak) = peak_hours(&args.peak_hours) else {
        return usage(format!(
            "--peak-hours {:?}: must be HH:MM-HH:MM",
            args.peak_hours
        ));
    };
    let config = Config::load(config_path)?;
    let from_file = matches!(config.source, Source::File(_));
    let options = Options {
        log_dir: args
            .log_dir
            .clone()
            .unwrap_or(config.monitor.log_dir.clone()),
        since,
        until,
        include_simulated: args.include_simulated,
        peak,
        // The built-in default's interval says nothing about logs written with a config.
        interval: from_file.then_some(config.monitor.interval),
        progress: std::io::stderr()
            .is_terminal()
            .then_some(progress as fn(u64)),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if args.format == "csv" {
        let (_, warnings) = report::checks_csv(&options, &mut out)?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
    } else {
        let r = report::build(&options);
        let text = match args.format.as_str() {
            "json" => serde_json::to_string_pretty(&r)? + "\n",
            "html" => report::html(&r),
            _ => report::text(&r),
        };
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Rows read so far, on a terminal, once reading has taken a second.
fn progress(rows: u64) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    if START.get_or_init(Instant::now).elapsed().as_secs() >= 1 {
        eprint!("\rreading the logs: {rows} rows");
    }
}

fn peak_hours(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = s.split_once('-')?;
    let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").ok();
    Some((t(a)?, t(b)?))
}
