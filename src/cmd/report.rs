//! `report`: read the logs of a period and write the evidence, in one of four
//! formats, or mail it (`--send`: the text as the body, the HTML attached).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, Local, NaiveTime};

use crate::alert::channel::email::{self, EmailConfig};
use crate::cli::{ReportArgs, ReportFormat, EXIT_USAGE};
use crate::config::Source;
use crate::daemon::config::Config;
use crate::report::{self, Options};

/// What `--send` covers when `--since` is not given.
const SEND_SPAN: &str = "7d";

/// What the command line asks for: the period and the evening peak.
struct Asked {
    since: Option<DateTime<FixedOffset>>,
    until: Option<DateTime<FixedOffset>>,
    peak: (NaiveTime, NaiveTime),
}

/// The period and peak of `args`, or why they are not usable.
fn asked(args: &ReportArgs) -> Result<Asked, String> {
    let since = args.since.as_deref().or(args.send.then_some(SEND_SPAN));
    let since = when(since).map_err(|e| format!("--since: {e}"))?;
    let until = when(args.until.as_deref()).map_err(|e| format!("--until: {e}"))?;
    if let (Some(s), Some(u)) = (since, until) {
        if s >= u {
            return Err(format!("--since ({s}) must be before --until ({u})"));
        }
    }
    let peak = peak_hours(&args.peak_hours)
        .ok_or_else(|| format!("--peak-hours {:?}: must be HH:MM-HH:MM", args.peak_hours))?;
    Ok(Asked { since, until, peak })
}

/// The mail channel `--send` goes through: `[notify.email]`, enabled.
fn mail_channel(args: &ReportArgs, config: &Config) -> anyhow::Result<Option<EmailConfig>> {
    match (args.send, &config.features.notify.email) {
        (false, _) => Ok(None),
        (true, Some(e)) if e.enabled => Ok(Some(e.clone())),
        (true, _) => anyhow::bail!(
            "report --send mails through [notify.email], and {} has none that is enabled",
            config.source
        ),
    }
}

/// Makes the report; a bad --since/--until is a usage error.
pub fn run(config_path: Option<&Path>, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let asked = match asked(args) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("connectivity-monitor report: {msg}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let config = Config::load(config_path)?;
    let email = mail_channel(args, &config)?;
    let log_dir = args
        .log_dir
        .clone()
        .unwrap_or(config.monitor.log_dir.clone());
    if !report::has_checks(&log_dir) {
        let whose = if args.log_dir.is_some() {
            "check --log-dir"
        } else {
            "the config's log_dir"
        };
        anyhow::bail!(
            "no {} in {} ({whose})",
            crate::sink::connection::FILE,
            log_dir.display()
        );
    }
    let options = Options {
        log_dir,
        since: asked.since,
        until: asked.until,
        include_simulated: args.include_simulated,
        peak: asked.peak,
        // The built-in default's interval says nothing about logs written with a config.
        interval: matches!(config.source, Source::File(_)).then_some(config.monitor.interval),
        progress: std::io::stderr()
            .is_terminal()
            .then_some(progress as fn(u64)),
        claim: config.features.claim.clone(),
        fingerprint: true,
    };
    if let Some(email) = email {
        return send(&options, args, &email);
    }
    write(&options, args)?;
    Ok(ExitCode::SUCCESS)
}

/// `s` as a point in time, if given.
fn when(s: Option<&str>) -> Result<Option<DateTime<FixedOffset>>, String> {
    s.map(|s| crate::timefmt::parse_when(s, Local::now()))
        .transpose()
}

/// Writes the report in `args.format` to `-o FILE`, or to standard output.
fn write(options: &Options, args: &ReportArgs) -> anyhow::Result<()> {
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let text = match args.format {
        ReportFormat::Csv => {
            let (_, warnings) = report::checks_csv(options, &mut out)?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            String::new()
        }
        ReportFormat::Json => serde_json::to_string_pretty(&report::build(options))? + "\n",
        ReportFormat::Html => report::html(&report::build(options)),
        ReportFormat::Text => report::text(&report::build(options)),
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Mails the report through `email`: the text as the body, the HTML page
/// attached; with `-o FILE`, also writes it there as asked.
fn send(options: &Options, args: &ReportArgs, email: &EmailConfig) -> anyhow::Result<ExitCode> {
    use lettre::message::{header::ContentType, Attachment, MultiPart, SinglePart};
    if args.output.is_some() {
        write(options, args)?;
    }
    let r = report::build(options);
    let period = r.period.as_ref().map(report::period_short);
    let subject = format!(
        "Connectivity report {}: {} against the ISP{}",
        r.host,
        r.sides
            .isp
            .availability_pct
            .map_or_else(|| "nothing measured".to_owned(), |a| format!("{a:.2} %")),
        period
            .as_deref()
            .map(|p| format!(", {p}"))
            .unwrap_or_default()
    );
    let day = r.period.as_ref().map_or_else(String::new, |p| {
        format!("-{}", p.from.get(..10).unwrap_or(""))
    });
    let name = format!("connectivity-report-{}{day}.html", r.host);
    let parts = MultiPart::mixed()
        .singlepart(SinglePart::plain(report::text(&r)))
        .singlepart(Attachment::new(name).body(report::html(&r), ContentType::TEXT_HTML));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(email::send_mail_parts(email, &subject, parts)) {
        Ok(()) => {
            println!(
                "the report {} was mailed to {}",
                period.map_or_else(String::new, |p| format!("for {p}")),
                email.to.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => anyhow::bail!("the report could not be mailed: {}", e.text),
    }
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
