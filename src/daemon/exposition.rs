//! The text formats of a scrape: the Prometheus text format 0.0.4 unless
//! `Accept` prefers OpenMetrics, as exporters negotiate it; label values
//! escaped as both require.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

/// The two text formats a scraper may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`: what `promtool check metrics` and most scrapers read.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The format for an `Accept` header: its offers by quality, the first that
    /// is OpenMetrics or plain text wins; anything else gets the Prometheus format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let mut offers: Vec<(f32, usize, &str)> = accept
            .unwrap_or_default()
            .split(',')
            .enumerate()
            .map(|(i, offer)| {
                let mut parts = offer.split(';');
                let media = parts.next().unwrap_or_default().trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q, i, media)
            })
            .collect();
        offers.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (q, _, media) in offers {
            if q <= 0.0 {
                continue;
            }
            if media.eq_ignore_ascii_case("application/openmetrics-text") {
                return Format::OpenMetrics;
            }
            if media.eq_ignore_ascii_case("text/plain") {
                return Format::Prometheus;
            }
        }
        Format::Prometheus
    }

    /// Its `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A label value as the exposition formats require it: backslash, double
/// quote and line feed escaped (`prometheus-client` writes values as given).
/// Shared, not copied: a kind's or a cause's value is held once for all the
/// series that name it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Label(pub Arc<str>);

impl EncodeLabelValue for Label {
    fn encode(&self, e: &mut LabelValueEncoder) -> std::fmt::Result {
        escape(&self.0, e)
    }
}

/// `value` with backslash, double quote and line feed escaped, as the
/// exposition formats require a label value.
pub fn escape(value: &str, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
    let mut rest = value;
    while let Some(i) = rest.find(['\\', '"', '\n']) {
        out.write_str(&rest[..i])?;
        out.write_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)
}

impl From<&str> for Label {
    fn from(s: &str) -> Label {
        Label(s.into())
    }
}

/// The Prometheus text format 0.0.4 of an OpenMetrics text without its `# EOF`:
/// the same samples, but a counter's `HELP` and `TYPE` name it with its
/// `_total`, as its samples are named, and there are no `# UNIT` lines.
pub fn prometheus_004(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 64 * counters.len());
    for line in openmetrics.lines() {
        let descriptor = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match descriptor {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                let _ = writeln!(out, "{prefix}{name}{total} {tail}");
            }
            None if line.starts_with("# UNIT ") || line == "# EOF" => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_openmetrics_only_when_the_scraper_prefers_it() {
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus_3)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(
            Format::negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")),
            Format::Prometheus
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0, text/html")),
            Format::Prometheus
        );
    }
}
