//! Labels: a series' as the exposition text writes them, read back; a
//! probe's, put in name order and written as protobuf fields once for all
//! of its samples; and the extra ones (`instance`, `labels`) added.

use std::borrow::Cow;

use super::builder::label_field;
use crate::daemon::metrics::ProbeLabels;

/// A series' labels as written, values unescaped.
type Labels<'a> = Vec<(&'a str, Cow<'a, str>)>;

/// `name{a="x",b="y"}` as the name and what is between the braces (`""`
/// for a bare name); `None` for the labels when the braces do not close.
pub(super) fn split_series(series: &str) -> (&str, Option<&str>) {
    match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')),
        None => (series, Some("")),
    }
}

/// `a="x",b="y"` as its labels.
pub(super) fn parse_labels(mut body: &str) -> Option<Labels<'_>> {
    let mut labels = Vec::new();
    while !body.is_empty() {
        let (label, after) = body.split_once("=\"")?;
        let (value, tail) = quoted_value(after)?;
        labels.push((label, value));
        body = tail.strip_prefix(',').unwrap_or(tail);
    }
    Some(labels)
}

/// The value up to its closing quote, unescaped (`\\`, `\"`, `\n`), and what follows it.
fn quoted_value(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut escaped = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            b'"' => break,
            _ => i += 1,
        }
    }
    let raw = s.get(..i)?;
    let rest = s.get(i + 1..)?;
    if !escaped {
        return Some((Cow::Borrowed(raw), rest));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    Some((Cow::Owned(out), rest))
}

/// One probe's labels as `Label` fields, all but `__name__` and `le`,
/// which differ from one of its samples to the next: written once for the
/// 17 samples of its RTT distribution, which come one after another.
pub(super) struct ProbeFields {
    /// A probe's sample's labels sorted by name, as indices into a list of
    /// `__name__` ([`NAME`]), the probe's own five (from [`OWN`]), `le`
    /// ([`LE`]) and the extra ones (from [`EXTRA`]): sorted once, not at
    /// each sample.
    order: Vec<usize>,
    /// The probe they are of.
    probe: Option<ProbeLabels>,
    /// Its labels and the extra ones, in name order.
    rest: Vec<u8>,
    /// Where in `rest` `__name__` goes, and where `le` does (after it).
    name_at: usize,
    le_at: usize,
    /// The fields of the sample's `__name__` and `le` (empty without one).
    name: Vec<u8>,
    le: Vec<u8>,
}

/// Where `__name__`, the probe's own labels, `le` and the extra ones are in
/// the list [`ProbeFields::order`] sorts.
const NAME: usize = 0;
const OWN: usize = 1;
const LE: usize = OWN + ProbeLabels::NAMES.len();
const EXTRA: usize = LE + 1;

impl ProbeFields {
    /// For samples with the `extra` labels besides their own.
    pub(super) fn new(extra: &[(String, String)]) -> ProbeFields {
        let names = std::iter::once("__name__")
            .chain(ProbeLabels::NAMES)
            .chain(["le"])
            .chain(extra.iter().map(|(k, _)| k.as_str()));
        let mut order: Vec<(usize, &str)> = names.enumerate().collect();
        order.sort_by_key(|&(_, name)| name);
        ProbeFields {
            order: order.into_iter().map(|(i, _)| i).collect(),
            probe: None,
            rest: Vec::new(),
            name_at: 0,
            le_at: 0,
            name: Vec::new(),
            le: Vec::new(),
        }
    }

    /// The label fields of one sample of probe `labels`, in name order:
    /// `__name__` is `name`, `le` is `le` if there is one, and `extra` are
    /// the values of the extra labels given to [`ProbeFields::new`]. The
    /// probe's own are written only if they are not those written last.
    pub(super) fn of(
        &mut self,
        labels: &ProbeLabels,
        extra: &[(String, String)],
        name: &str,
        le: Option<&str>,
    ) -> [&[u8]; 5] {
        if !self.probe.as_ref().is_some_and(|p| p.same(labels)) {
            self.write(labels, extra);
        }
        self.name.clear();
        label_field("__name__", name, &mut self.name);
        self.le.clear();
        if let Some(le) = le {
            label_field("le", le, &mut self.le);
        }
        let (rest, name_at, le_at) = (&self.rest, self.name_at, self.le_at);
        [&rest[..name_at], &self.name, &rest[name_at..le_at], &self.le, &rest[le_at..]]
    }

    fn write(&mut self, labels: &ProbeLabels, extra: &[(String, String)]) {
        self.rest.clear();
        let pairs = labels.pairs();
        for &i in &self.order {
            let (name, value) = match i {
                NAME => {
                    self.name_at = self.rest.len();
                    continue;
                }
                LE => {
                    self.le_at = self.rest.len();
                    continue;
                }
                OWN..LE => pairs[i - OWN],
                _ => (extra[i - EXTRA].0.as_str(), extra[i - EXTRA].1.as_str()),
            };
            label_field(name, value, &mut self.rest);
        }
        self.probe = Some(labels.clone());
    }
}

/// The series' labels with `__name__` and the extra ones, sorted by name as receivers require.
pub(super) fn with_extra<'a>(
    name: &'a str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    extra: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(8 + extra.len());
    all.push(("__name__", name));
    all.extend(labels);
    all.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    all
}
