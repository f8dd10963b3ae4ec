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
    use std::fmt::Write as _;
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
    // One cell's text at a time, into the same room: a year is millions of
    // rows, and a String for each of their cells costs more than the writing.
    let mut cell = String::new();
    let mut row = |w: &mut csv::Writer<_>, r: &crate::sink::ConnectionRow<&str>| {
        let mut number = |v: Option<f64>, decimals: usize| {
            cell.clear();
            if let Some(v) = v {
                let _ = write!(cell, "{v:.decimals$}");
            }
            w.write_field(&cell)
        };
        number(r.gateway_rtt_ms, 3)?;
        number(r.isp_rtt_ms, 3)?;
        number(r.internet_rtt_ms, 3)?;
        number(r.internet_rtt_max_ms, 3)?;
        number(r.loss_pct, 1)?;
        w.write_record(None::<&[u8]>)
    };
    for f in read::check_files(&o.log_dir, &mut warnings) {
        read::checks(&f, &mut warnings, |at, r| {
            if o.since.is_some_and(|s| at < s)
                || o.until.is_some_and(|u| at >= u)
                || failed.is_some()
            {
                return;
            }
            let done = w
                .write_field(r.timestamp)
                .and_then(|()| w.write_field(r.status))
                .and_then(|()| row(&mut w, &r));
            match done {
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
