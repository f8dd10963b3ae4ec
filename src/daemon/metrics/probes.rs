//! The probes' series (success, RTT, RTT distribution and loss of each
//! probe), kept in one compact row per probe and written straight from it.
//!
//! They are most of what /metrics and push carry (a thousand targets make
//! some twenty thousand samples), so they do not go through the registry:
//! a registry family per series kind would hold a map entry per probe in
//! each, and a histogram behind its own lock, and its encoder writes text
//! that push would then have to parse again. Here a scrape's text is
//! written in one pass, and push takes each sample whole ([`Exposition`]).

use std::fmt::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;

use super::super::exposition::escape;
use super::super::live::ProbeView;

/// One probe's series' labels, behind one pointer, shared by its row and
/// by push's memory of the last sample.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct ProbeLabels(Arc<ProbeLabelSet>);

/// The labels by name, rather than the string they share.
impl fmt::Debug for ProbeLabels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.pairs()).finish()
    }
}

/// `role`, `target`, `address`, `kind` and `family`, one after another in
/// one string, and where each of the first four ends: two allocations a
/// probe (a thousand targets' labels in some 110 KiB), where a string each
/// took three. `target` is the target, DNS query or HTTP check name (the
/// address for the gateway and hops), `address` what was asked: the IP, the
/// DNS server `IP:PORT`, or the URL.
#[derive(Hash, PartialEq, Eq)]
struct ProbeLabelSet {
    text: Box<str>,
    ends: [u32; 4],
}

impl ProbeLabels {
    /// The labels' names, in the order of [`ProbeLabels::pairs`].
    pub const NAMES: [&'static str; 5] = ["role", "target", "address", "kind", "family"];

    /// The labels of probe `p`.
    pub fn of(p: &ProbeView) -> ProbeLabels {
        let address = p.address.as_deref().unwrap_or_default();
        let target = p.name.as_deref().unwrap_or(address);
        let parts = [p.role, target, address, &p.kind, p.family];
        let mut text = String::with_capacity(parts.iter().map(|s| s.len()).sum());
        let mut ends = [0; 4];
        for (i, part) in parts.into_iter().enumerate() {
            text.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                *end = u32::try_from(text.len()).expect("a probe's labels are far below 4 GiB");
            }
        }
        ProbeLabels(Arc::new(ProbeLabelSet {
            text: text.into_boxed_str(),
            ends,
        }))
    }

    /// Whether `other` is this very set (not only an equal one).
    pub fn same(&self, other: &ProbeLabels) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The labels by name, in the order a scrape writes them; values as given (unescaped).
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        let (text, [a, b, c, d]) = (&*self.0.text, self.0.ends.map(|e| e as usize));
        let [role, target, address, kind, family] = Self::NAMES;
        [
            (role, &text[..a]),
            (target, &text[a..b]),
            (address, &text[b..c]),
            (kind, &text[c..d]),
            (family, &text[d..]),
        ]
    }

    /// The labels as a scrape writes them between braces, values escaped.
    pub fn write_text(&self, out: &mut dyn Write) -> fmt::Result {
        for (i, (name, value)) in self.pairs().into_iter().enumerate() {
            if i > 0 {
                out.write_char(',')?;
            }
            out.write_str(name)?;
            out.write_str("=\"")?;
            escape(value, out)?;
            out.write_char('"')?;
        }
        Ok(())
    }
}

/// A sample's value: a count, or a measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Count(u64),
    Measure(f64),
}

impl Value {
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Count(n) => n as f64,
            Value::Measure(v) => v,
        }
    }
}

/// What the metrics are written into: the text the registry writes, and
/// the probes' samples, each whole. A text scrape formats them as lines
/// ([`Text`]); push encodes them without a parse.
pub trait Exposition: Write {
    /// A family begins: its full name, type (`gauge`, `histogram`) and help.
    fn family(&mut self, name: &str, kind: &str, help: &str) -> fmt::Result;
    /// One sample: `name` with its suffix (`_bucket`, `_sum`, `_count`), the
    /// probe's labels and, for a bucket, its bound as written.
    fn sample(
        &mut self,
        name: &str,
        labels: &ProbeLabels,
        le: Option<&str>,
        value: Value,
    ) -> fmt::Result;
}

/// A scrape's text being written.
pub struct Text<'a>(pub &'a mut String);

impl Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

/// Lines as prometheus-client writes them: the help ended by a full stop, a
/// bucket's bound before the other labels.
impl Exposition for Text<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) -> fmt::Result {
        writeln!(self, "# HELP {name} {help}.\n# TYPE {name} {kind}")
    }

    fn sample(
        &mut self,
        name: &str,
        labels: &ProbeLabels,
        le: Option<&str>,
        value: Value,
    ) -> fmt::Result {
        self.write_str(name)?;
        self.write_char('{')?;
        if let Some(le) = le {
            write!(self, "le=\"{le}\",")?;
        }
        labels.write_text(self)?;
        match value {
            Value::Count(n) => writeln!(self, "}} {n}"),
            Value::Measure(v) => writeln!(self, "}} {v:?}"),
        }
    }
}

/// The RTT histogram's bounds: 14 of them, from 0.5 ms doubling (to 4.096 s).
/// Doubling is exact, so these are the same bounds as `0.0005 * 2^i`; unlike
/// prometheus-client's `exponential_buckets` (a `powf` per bound), it calls no
/// libm function, and with the report's charts the binary needs no libm at all:
/// its mapping cost every running daemon about 0.4 MiB resident.
pub fn rtt_buckets() -> impl Iterator<Item = f64> {
    std::iter::successors(Some(0.0005), |b| Some(b * 2.0)).take(BUCKETS)
}

const BUCKETS: usize = 14;

/// The buckets' bounds as a scrape writes them (`le`), and the last one's:
/// written for every probe at every scrape and sample, so not formatted each time.
pub const LE: [&str; BUCKETS + 1] = [
    "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256",
    "0.512", "1.024", "2.048", "4.096", "+Inf",
];

/// One probe's series.
pub struct ProbeSeries {
    pub labels: ProbeLabels,
    pub success: bool,
    /// Present while the probe gets answers.
    pub rtt: Option<f64>,
    /// Present while the probe measures loss.
    pub loss: Option<f64>,
    /// RTTs observed at or below each bound (not cumulative), and above the
    /// last: a check every 100 ms (the shortest interval) fills one in 13 years.
    buckets: [u32; BUCKETS + 1],
    sum: f64,
    /// The address its labels name when the check gave it (the gateway found by route).
    pub resolved: Option<IpAddr>,
}

impl ProbeSeries {
    pub fn new(labels: ProbeLabels) -> ProbeSeries {
        ProbeSeries {
            labels,
            success: false,
            rtt: None,
            loss: None,
            buckets: [0; BUCKETS + 1],
            sum: 0.0,
            resolved: None,
        }
    }

    /// An RTT of `seconds`, into the distribution.
    pub fn observe(&mut self, seconds: f64) {
        let i = rtt_buckets().position(|b| seconds <= b).unwrap_or(BUCKETS);
        self.buckets[i] = self.buckets[i].saturating_add(1);
        self.sum += seconds;
    }
}

const PREFIX: &str = "connectivity_monitor_";

/// The probes' families, in the order a scrape lists them, with their help.
const FAMILIES: [(&str, &str, &str); 4] = [
    (
        "probe_success",
        "gauge",
        "1 if the probe got an answer at the last check",
    ),
    (
        "probe_rtt_seconds",
        "gauge",
        "Round-trip time of the probe at the last check; absent while it gets no answer",
    ),
    (
        "probe_rtt_distribution_seconds",
        "histogram",
        "Round-trip times of the probe",
    ),
    (
        "probe_loss_ratio",
        "gauge",
        "ICMP loss of the probe at the last check, 0 to 1",
    ),
];

/// Every probe's samples into `out`, family by family; a family without a
/// sample is not named at all, as the registry leaves out an empty one.
pub fn write(probes: &[ProbeSeries], out: &mut dyn Exposition) -> fmt::Result {
    let [success, rtt, distribution, loss] = FAMILIES;
    gauge(probes, success, out, |s| {
        Some(Value::Count(u64::from(s.success)))
    })?;
    gauge(probes, rtt, out, |s| s.rtt.map(Value::Measure))?;
    let (family, kind, help) = distribution;
    if !probes.is_empty() {
        out.family(&format!("{PREFIX}{family}"), kind, help)?;
    }
    let parts = ["_bucket", "_sum", "_count"].map(|suffix| format!("{PREFIX}{family}{suffix}"));
    for s in probes {
        histogram(s, &parts, out)?;
    }
    gauge(probes, loss, out, |s| s.loss.map(Value::Measure))
}

/// A gauge family: a sample per probe that has a `value`.
fn gauge(
    probes: &[ProbeSeries],
    (family, kind, help): (&str, &str, &str),
    out: &mut dyn Exposition,
    value: impl Fn(&ProbeSeries) -> Option<Value>,
) -> fmt::Result {
    let name = format!("{PREFIX}{family}");
    let mut named = false;
    for s in probes {
        if let Some(v) = value(s) {
            if !std::mem::replace(&mut named, true) {
                out.family(&name, kind, help)?;
            }
            out.sample(&name, &s.labels, None, v)?;
        }
    }
    Ok(())
}

/// One probe's RTT distribution: cumulative buckets, then sum and count
/// (`parts` names them).
fn histogram(s: &ProbeSeries, parts: &[String; 3], out: &mut dyn Exposition) -> fmt::Result {
    let mut below = 0;
    for (le, n) in LE.into_iter().zip(s.buckets) {
        below += u64::from(n);
        out.sample(&parts[0], &s.labels, Some(le), Value::Count(below))?;
    }
    out.sample(&parts[1], &s.labels, None, Value::Measure(s.sum))?;
    out.sample(&parts[2], &s.labels, None, Value::Count(below))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_text_is_the_bounds() {
        let written: Vec<f64> = LE
            .iter()
            .map(|b| b.replace("+Inf", "inf").parse().unwrap())
            .collect();
        let bounds: Vec<f64> = rtt_buckets().chain([f64::INFINITY]).collect();
        assert_eq!(written, bounds);
        for (le, b) in LE.iter().zip(rtt_buckets()) {
            assert_eq!(*le, format!("{b:?}"), "as a float is written");
        }
    }
}
