//! One sample of every series, as remote_write carries it: the probes'
//! samples as they come, the rest as the text that /metrics serves, read
//! line by line as the registry writes it; each sample
//! written at once as a protobuf `TimeSeries` into a batch of bounded size,
//! each full batch compressed with snappy and handed on at once. A snapshot
//! of a thousand targets never exists whole as text or protobuf: only one
//! batch of it is, uncompressed and compressed.
//!
//! A series that was in the last snapshot and is not in this one (an RTT
//! while its probe gets no answer, a probe removed by a reload) gets
//! Prometheus's staleness marker, as a scrape would give it, so that queries
//! stop showing its last value at once instead of five minutes later.
//!
//! Every buffer is kept from one snapshot to the next: once they have grown
//! to a snapshot's size, taking one allocates (almost) nothing, so the
//! sampler's heap neither grows nor fragments.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::daemon::metrics::probes::LE;
use crate::daemon::metrics::{Exposition, ProbeLabels, Value};

/// A batch is sealed once its protobuf reaches this size (before
/// compression): some 1,300 series, less than Prometheus's own sender puts
/// in a request (2,000 samples), and about a twelfth of that compressed.
/// Each request costs about as much CPU as encoding a thousand series; its
/// compressed body is held whole, here and by the sender.
pub const BATCH_BYTES: usize = 256 << 10;

/// Prometheus's staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// A sealed batch: a snappy-compressed `WriteRequest` and what it holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// Samples in it.
    pub samples: u32,
    /// When they were taken, Unix milliseconds.
    pub at_ms: i64,
    /// The request body.
    pub body: Vec<u8>,
}

/// Takes the samples of successive snapshots; remembers which series the
/// last one had, for staleness markers.
pub struct Snapshots {
    /// `instance` and the configured labels, added to every series.
    extra: Vec<(String, String)>,
    /// The series of the last snapshot.
    last: Series,
    /// The series of the snapshot being taken (then swapped with `last`).
    seen: Series,
    /// The probes' gauge families by the bit each has in [`Series::probes`].
    probe_names: Vec<String>,
    /// The probes' histogram families.
    probe_histograms: Vec<String>,
    /// The last probe's labels as written.
    probe_fields: ProbeFields,
    /// The line being read.
    line: String,
    /// The histogram family being read with a `_` after it, if one is.
    histogram: String,
    batch: Builder,
}

impl Snapshots {
    /// Series get `instance` and `labels` besides their own.
    pub fn new(instance: &str, labels: &BTreeMap<String, String>) -> Snapshots {
        let mut extra: Vec<(String, String)> =
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        extra.push(("instance".into(), instance.into()));
        Snapshots {
            probe_fields: ProbeFields::new(&extra),
            extra,
            last: Series::default(),
            seen: Series::default(),
            probe_names: Vec::new(),
            probe_histograms: Vec::new(),
            line: String::new(),
            histogram: String::new(),
            batch: Builder::new(),
        }
    }

    /// One snapshot at `at_ms`: `encode` writes the exposition text into the
    /// writer it is given; every sealed batch goes to `sealed` as it fills
    /// (its buffer is reused for the next one).
    pub fn take(
        &mut self,
        at_ms: i64,
        encode: impl FnOnce(&mut dyn Exposition) -> fmt::Result,
        sealed: &mut dyn FnMut(&Batch),
    ) -> fmt::Result {
        self.seen.clear();
        self.line.clear();
        self.histogram.clear();
        self.batch.start(at_ms);
        let mut sink = Sink {
            extra: &self.extra,
            line: &mut self.line,
            histogram: &mut self.histogram,
            seen: &mut self.seen,
            probe_names: &mut self.probe_names,
            gauge: None,
            probe_histograms: &mut self.probe_histograms,
            probe_fields: &mut self.probe_fields,
            batch: &mut self.batch,
            sealed,
        };
        encode(&mut sink)?;
        if !sink.line.is_empty() {
            sink.flush_line();
        }
        self.seen.keys.sort_unstable();
        for &(hash, name, labels) in &self.last.keys {
            if self.seen.has(hash) {
                continue;
            }
            let name = self.last.at(name);
            if let Some(labels) = parse_labels(self.last.at(labels)) {
                let labels = labels.iter().map(|(k, v)| (*k, v.as_ref()));
                let labels = with_extra(name, labels, &self.extra);
                self.batch.add(labels.iter().copied(), f64::from_bits(STALE_NAN), sealed);
            }
        }
        let stale = f64::from_bits(STALE_NAN);
        let (last, seen) = (&self.last.probes, &self.seen.probes);
        // The same probes in the same rows, as from one check to the next;
        // after a reload, each found by its labels.
        let aligned = last.len() == seen.len() && last.iter().zip(seen).all(|(a, b)| a.0.same(&b.0));
        let by_labels: HashMap<&ProbeLabels, u8> = match aligned {
            true => HashMap::new(),
            false => seen.iter().map(|(labels, bits)| (labels, *bits)).collect(),
        };
        for (i, (labels, had)) in last.iter().enumerate() {
            let now = match aligned {
                true => Some(seen[i].1),
                false => by_labels.get(labels).copied(),
            };
            let gone = had & !now.unwrap_or(0);
            for (bit, name) in self.probe_names.iter().enumerate() {
                if gone & (1 << bit) != 0 {
                    let labels = with_extra(name, labels.pairs().into_iter(), &self.extra);
                    self.batch.add(labels.iter().copied(), stale, sealed);
                }
            }
            if now.is_some() {
                continue;
            }
            // A probe gone altogether: the series of its distribution end too.
            for family in &self.probe_histograms {
                let les = LE.iter().map(|le| Some(("le", *le)));
                for (suffix, le) in std::iter::repeat("_bucket").zip(les).chain([("_sum", None), ("_count", None)]) {
                    let name = format!("{family}{suffix}");
                    let pairs = labels.pairs().into_iter().chain(le);
                    let labels = with_extra(&name, pairs, &self.extra);
                    self.batch.add(labels.iter().copied(), stale, sealed);
                }
            }
        }
        self.batch.seal(sealed);
        std::mem::swap(&mut self.last, &mut self.seen);
        Ok(())
    }
}

/// The series of one snapshot: the probes' by their labels, which they keep
/// (a pointer each) for the staleness markers they get once gone, with a
/// bit per gauge family they have a sample in (a histogram's series are
/// there as long as its probe is, and end with it: every probe has a sample
/// in `probe_success`, so every probe with a distribution is kept); the
/// others (which hold no histogram) by a hash of their text `name{labels}`,
/// with their name and labels kept.
#[derive(Default)]
struct Series {
    /// Each probe's labels and gauge families, as bits (see
    /// `Snapshots::probe_names`), in the order of the rows they come from.
    probes: Vec<(ProbeLabels, u8)>,
    /// Where in `probes` the family being written is: each family lists
    /// the probes in the same order, so each is found at or after it.
    cursor: usize,
    /// The family being written is the snapshot's first gauge family: its
    /// probes are all new, appended without a search.
    filling: bool,
    /// (hash of the series, where its name is in `text`, where its labels
    /// are), sorted once the snapshot is complete.
    keys: Vec<(u64, u32, u32)>,
    /// Names and label sets, each ended by a line feed (which a line of
    /// the exposition never holds).
    text: String,
    /// Where each label set is in `text`, by its hash.
    label_sets: HashMap<u64, u32>,
    /// Where the last name added is: a family's series come one after another.
    name: Option<u32>,
}

impl Series {
    fn clear(&mut self) {
        self.probes.clear();
        self.cursor = 0;
        self.keys.clear();
        self.text.clear();
        self.label_sets.clear();
        self.name = None;
    }

    fn add(&mut self, name: &str, labels: &str) {
        let name_at = match self.name {
            Some(at) if self.at(at) == name => at,
            _ => {
                let at = self.put(name);
                self.name = Some(at);
                at
            }
        };
        let set = hash(&[labels]);
        let labels_at = match self.label_sets.get(&set) {
            Some(&at) if self.at(at) == labels => at,
            _ => {
                let at = self.put(labels);
                self.label_sets.insert(set, at);
                at
            }
        };
        self.keys.push((hash(&[name, labels]), name_at, labels_at));
    }

    /// A gauge family begins.
    fn family(&mut self) {
        self.cursor = 0;
        self.filling = self.probes.is_empty();
    }

    /// Probe `labels` has a sample in the gauge family of `bit`.
    fn mark(&mut self, labels: &ProbeLabels, bit: u8) {
        if self.filling {
            self.probes.push((labels.clone(), 1 << bit));
            return;
        }
        let at = self.probes[self.cursor..]
            .iter()
            .position(|(l, _)| l.same(labels))
            .map(|i| self.cursor + i)
            .or_else(|| self.probes[..self.cursor].iter().position(|(l, _)| l.same(labels)));
        match at {
            Some(i) => {
                self.probes[i].1 |= 1 << bit;
                self.cursor = i + 1;
            }
            None => {
                self.probes.push((labels.clone(), 1 << bit));
                self.cursor = self.probes.len();
            }
        }
    }

    fn put(&mut self, s: &str) -> u32 {
        let at = self.text.len() as u32;
        self.text.push_str(s);
        self.text.push('\n');
        at
    }

    /// The name or label set kept at `at`.
    fn at(&self, at: u32) -> &str {
        let s = &self.text[at as usize..];
        s.split_once('\n').map_or(s, |(s, _)| s)
    }

    /// Whether the (sorted) snapshot has the series of `hash`.
    fn has(&self, hash: u64) -> bool {
        self.keys.binary_search_by_key(&hash, |k| k.0).is_ok()
    }
}

/// A hash of `parts` that tells one part from the next. Two series with one
/// hash (with 20,000 series, odds of the order of 10^-11 a sample) can only
/// cost a series that left its staleness marker: it then ends after
/// Prometheus's five minutes. A series still there is never marked stale.
fn hash(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// The writer `encode_registry` writes into: one line at a time.
struct Sink<'a> {
    extra: &'a [(String, String)],
    line: &'a mut String,
    histogram: &'a mut String,
    seen: &'a mut Series,
    probe_names: &'a mut Vec<String>,
    /// The bit of the probes' gauge family being written, if one is.
    gauge: Option<u8>,
    probe_histograms: &'a mut Vec<String>,
    probe_fields: &'a mut ProbeFields,
    batch: &'a mut Builder,
    sealed: &'a mut dyn FnMut(&Batch),
}

impl fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find('\n') {
            self.line.push_str(&rest[..i]);
            self.flush_line();
            rest = &rest[i + 1..];
        }
        self.line.push_str(rest);
        Ok(())
    }
}

/// The probes' samples arrive whole: encoded as they are, without a parse.
impl Exposition for Sink<'_> {
    fn family(&mut self, name: &str, kind: &str, _help: &str) -> fmt::Result {
        if !self.line.is_empty() {
            self.flush_line();
        }
        self.histogram.clear();
        self.seen.family();
        self.gauge = None;
        if kind == "histogram" {
            self.histogram.push_str(name);
            self.histogram.push('_');
            if !self.probe_histograms.iter().any(|h| h == name) {
                self.probe_histograms.push(name.to_owned());
            }
        } else {
            let bit = match self.probe_names.iter().position(|n| n == name) {
                Some(bit) => bit,
                None => {
                    self.probe_names.push(name.to_owned());
                    self.probe_names.len() - 1
                }
            };
            // Three gauge families: a u8 has room to spare.
            debug_assert!(bit < 8, "{:?}", self.probe_names);
            self.gauge = Some(bit as u8);
        }
        Ok(())
    }

    fn sample(
        &mut self,
        name: &str,
        labels: &ProbeLabels,
        le: Option<&str>,
        value: Value,
    ) -> fmt::Result {
        if !self.line.is_empty() {
            self.flush_line();
        }
        if let Some(bit) = self.gauge {
            self.seen.mark(labels, bit);
        }
        let fields = self.probe_fields.of(labels, self.extra, name, le);
        self.batch.add_fields(&fields, value.as_f64(), self.sealed);
        Ok(())
    }
}

impl Sink<'_> {
    fn flush_line(&mut self) {
        let line = self.line.as_str();
        if let Some(comment) = line.strip_prefix("# ") {
            if let Some(t) = comment.strip_prefix("TYPE ") {
                self.histogram.clear();
                if let Some(name) = t.strip_suffix(" histogram") {
                    self.histogram.push_str(name);
                    self.histogram.push('_');
                }
            }
        } else if let Some((series, value)) = line.rsplit_once(' ') {
            let (name, labels) = split_series(series);
            if let (Some(parsed), Ok(v)) = (labels.and_then(parse_labels), value.parse::<f64>()) {
                let part_of_histogram =
                    !self.histogram.is_empty() && name.starts_with(self.histogram.as_str());
                if !part_of_histogram {
                    self.seen.add(name, labels.unwrap_or_default());
                }
                let parsed = parsed.iter().map(|(k, v)| (*k, v.as_ref()));
                let labels = with_extra(name, parsed, self.extra);
                self.batch.add(labels.iter().copied(), v, self.sealed);
            }
        }
        self.line.clear();
    }
}

mod builder;
mod labels;
use builder::Builder;
use labels::{parse_labels, split_series, with_extra, ProbeFields};

#[cfg(test)]
mod tests;
