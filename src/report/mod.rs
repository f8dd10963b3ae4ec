//! `report`: the evidence for the ISP, read from the CSV logs: availability,
//! outages by cause, gaps, peak against off-peak, latency and loss; as text,
//! JSON, a self-contained HTML page, or the raw checks as CSV.
//!
//! `read` finds and streams the files through the writers' row structs,
//! `checks` folds the checks into sums as they stream by, `tally` counts the
//! outages once each inside the monitored time (`spans`), `aggregate` makes
//! the figures (`model`) of both, `claims` judges the fault tickets on the
//! outages against the ISP, `words` says them in sentences, and `text` and
//! `html` render. A report for people also lists each file it read with its
//! rows, bytes and SHA-256.

mod aggregate;
mod charts;
mod checks;
mod claims;
mod histogram;
mod html;
pub mod model;
mod paths;
pub mod read;
mod row;
mod spans;
mod tally;
mod text;
mod words;

pub use aggregate::{build, Options};
pub use html::render as html;
pub use text::render as text;
pub use words::period_short;

/// Whether `log_dir` holds a connection log (a regular file of it) to report on.
pub fn has_checks(log_dir: &std::path::Path) -> bool {
    !read::check_files(log_dir, &mut Vec::new()).is_empty()
}

/// The checks of the period as CSV: the raw, timestamped evidence for the
/// ISP's own tools. Returns the rows written and the warnings.
pub fn checks_csv(
    o: &Options,
    out: &mut dyn std::io::Write,
) -> std::io::Result<(u64, Vec<String>)> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "timestamp",
        "verdict",
        "gateway_rtt_ms",
        "isp_rtt_ms",
        "internet_rtt_ms",
        "internet_rtt_max_ms",
        "loss_pct",
    ])?;
    let mut warnings = Vec::new();
    let mut written = 0;
    let mut failed = None;
    let cell = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
    for f in read::check_files(&o.log_dir, &mut warnings) {
        read::checks(&f, &mut warnings, |at, r| {
            if o.since.is_some_and(|s| at < s)
                || o.until.is_some_and(|u| at >= u)
                || failed.is_some()
            {
                return;
            }
            let record = [
                r.timestamp.to_owned(),
                r.status.to_owned(),
                cell(r.gateway_rtt_ms),
                cell(r.isp_rtt_ms),
                cell(r.internet_rtt_ms),
                cell(r.internet_rtt_max_ms),
                r.loss_pct.map(|l| format!("{l:.1}")).unwrap_or_default(),
            ];
            match w.write_record(&record) {
                Ok(()) => written += 1,
                Err(e) => failed = Some(e),
            }
        });
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    w.flush()?;
    Ok((written, warnings))
}
