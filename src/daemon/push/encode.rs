//! One sample of every series, as remote_write carries it: the text that
//! /metrics serves, read line by line as the registry writes it, each sample
//! written at once as a protobuf `TimeSeries` into a batch of bounded size,
//! each full batch compressed with snappy. A snapshot of a thousand targets
//! never exists whole in memory: only one batch of it does.
//!
//! A series that was in the last snapshot and is not in this one (an RTT
//! while its probe gets no answer, a probe removed by a reload) gets
//! Prometheus's staleness marker, as a scrape would give it, so that queries
//! stop showing its last value at once instead of five minutes later.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};

/// A batch is sealed once its protobuf reaches this size (before compression).
pub const BATCH_BYTES: usize = 64 << 10;

/// Prometheus's staleness marker: a NaN with this exact bit pattern.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// A sealed batch: a snappy-compressed `WriteRequest` and what it holds.
#[derive(Debug, Clone, PartialEq)]
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
    /// The series of the last snapshot (histograms' parts aside: they leave
    /// only with their probe), by their text `name{labels}`.
    last: HashSet<Box<str>>,
}

impl Snapshots {
    /// Series get `instance` and `labels` besides their own.
    pub fn new(instance: &str, labels: &BTreeMap<String, String>) -> Snapshots {
        let mut extra: Vec<(String, String)> =
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        extra.push(("instance".into(), instance.into()));
        Snapshots {
            extra,
            last: HashSet::new(),
        }
    }

    /// One snapshot at `at_ms`: `encode` writes the exposition text into the
    /// writer it is given; every sealed batch goes to `sealed` as it fills.
    pub fn take(
        &mut self,
        at_ms: i64,
        encode: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
        sealed: &mut dyn FnMut(Batch),
    ) -> fmt::Result {
        let mut sink = Sink {
            extra: &self.extra,
            line: String::new(),
            histogram: None,
            seen: HashSet::with_capacity(self.last.len()),
            batch: Builder::new(at_ms),
            sealed,
        };
        encode(&mut sink)?;
        if !sink.line.is_empty() {
            sink.flush_line();
        }
        let Sink {
            seen,
            mut batch,
            sealed,
            ..
        } = sink;
        for gone in self.last.difference(&seen) {
            if let Some((name, labels)) = parse_series(gone) {
                let labels = with_extra(name, &labels, &self.extra);
                batch.add(&labels, f64::from_bits(STALE_NAN), sealed);
            }
        }
        if let Some(b) = batch.seal() {
            sealed(b);
        }
        self.last = seen;
        Ok(())
    }
}

/// The writer `encode_registry` writes into: one line at a time.
struct Sink<'a> {
    extra: &'a [(String, String)],
    line: String,
    /// The histogram family being written, if one is.
    histogram: Option<String>,
    seen: HashSet<Box<str>>,
    batch: Builder,
    sealed: &'a mut dyn FnMut(Batch),
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

impl Sink<'_> {
    fn flush_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        if let Some(comment) = line.strip_prefix("# ") {
            if let Some(t) = comment.strip_prefix("TYPE ") {
                self.histogram = t.strip_suffix(" histogram").map(|name| format!("{name}_"));
            }
        } else if let Some((series, value)) = line.rsplit_once(' ') {
            if let (Some((name, labels)), Ok(v)) = (parse_series(series), value.parse::<f64>()) {
                let part_of_histogram = self
                    .histogram
                    .as_deref()
                    .is_some_and(|h| name.starts_with(h));
                if !part_of_histogram {
                    self.seen.insert(series.into());
                }
                let labels = with_extra(name, &labels, self.extra);
                self.batch.add(&labels, v, self.sealed);
            }
        }
        // The line's buffer is kept for the next one.
        self.line = line;
        self.line.clear();
    }
}

/// A series' labels as written, values unescaped.
type Labels<'a> = Vec<(&'a str, Cow<'a, str>)>;

/// `name{a="x",b="y"}` (or a bare name) as the name and its labels.
fn parse_series(series: &str) -> Option<(&str, Labels<'_>)> {
    let Some((name, rest)) = series.split_once('{') else {
        return Some((series, Vec::new()));
    };
    let mut body = rest.strip_suffix('}')?;
    let mut labels = Vec::new();
    while !body.is_empty() {
        let (label, after) = body.split_once("=\"")?;
        let (value, tail) = quoted_value(after)?;
        labels.push((label, value));
        body = tail.strip_prefix(',').unwrap_or(tail);
    }
    Some((name, labels))
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

/// The series' labels with `__name__` and the extra ones, sorted by name as receivers require.
fn with_extra<'a>(
    name: &'a str,
    labels: &'a [(&'a str, Cow<'a, str>)],
    extra: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + extra.len() + 1);
    all.push(("__name__", name));
    all.extend(labels.iter().map(|(k, v)| (*k, v.as_ref())));
    all.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    all
}

/// A `WriteRequest` being written, series by series.
struct Builder {
    at_ms: i64,
    buf: Vec<u8>,
    samples: u32,
}

impl Builder {
    fn new(at_ms: i64) -> Builder {
        Builder {
            at_ms,
            buf: Vec::new(),
            samples: 0,
        }
    }

    /// Writes one `TimeSeries` of one sample straight from borrowed labels.
    fn add(&mut self, labels: &[(&str, &str)], value: f64, sealed: &mut dyn FnMut(Batch)) {
        let label_len = |(k, v): &(&str, &str)| field_len(k.len()) + field_len(v.len());
        let sample_len = 1 + 8 + 1 + encoded_len_varint(self.at_ms as u64);
        let series_len: usize = labels
            .iter()
            .map(|l| field_len(label_len(l)))
            .sum::<usize>()
            + field_len(sample_len);
        encode_key(1, WireType::LengthDelimited, &mut self.buf);
        encode_varint(series_len as u64, &mut self.buf);
        for l in labels {
            encode_key(1, WireType::LengthDelimited, &mut self.buf);
            encode_varint(label_len(l) as u64, &mut self.buf);
            for (tag, text) in [(1, l.0), (2, l.1)] {
                encode_key(tag, WireType::LengthDelimited, &mut self.buf);
                encode_varint(text.len() as u64, &mut self.buf);
                self.buf.extend_from_slice(text.as_bytes());
            }
        }
        encode_key(2, WireType::LengthDelimited, &mut self.buf);
        encode_varint(sample_len as u64, &mut self.buf);
        encode_key(1, WireType::SixtyFourBit, &mut self.buf);
        self.buf.extend_from_slice(&value.to_le_bytes());
        encode_key(2, WireType::Varint, &mut self.buf);
        encode_varint(self.at_ms as u64, &mut self.buf);
        self.samples += 1;
        if self.buf.len() >= BATCH_BYTES {
            let full = std::mem::replace(self, Builder::new(self.at_ms));
            if let Some(b) = full.seal() {
                sealed(b);
            }
        }
    }

    /// The compressed batch, if it holds any sample.
    fn seal(self) -> Option<Batch> {
        if self.samples == 0 {
            return None;
        }
        let body = snap::raw::Encoder::new()
            .compress_vec(&self.buf)
            .expect("a batch is far below snappy's size limit");
        Some(Batch {
            samples: self.samples,
            at_ms: self.at_ms,
            body,
        })
    }
}

/// The length of a length-delimited field of `len` bytes (tags below 16 take one byte).
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// The remote write 1.0 messages as receivers decode them (`prometheus.WriteRequest`),
/// written with prost's derive: the tests decode what [`Snapshots`] writes with them.
/// The daemon itself writes the same wire format straight from borrowed
/// labels, without a `String` per label per sample.
#[cfg(test)]
pub mod wire {
    /// `prometheus.WriteRequest` (remote write 1.0), as receivers decode it.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// `prometheus.TimeSeries`: labels sorted by name, samples oldest first.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    /// `prometheus.Label`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// `prometheus.Sample`: a value at a time in Unix milliseconds.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// A batch's body decoded (for tests and for checking what was sent).
    pub fn decode(body: &[u8]) -> Result<WriteRequest, String> {
        use prost::Message;
        let raw = snap::raw::Decoder::new()
            .decompress_vec(body)
            .map_err(|e| format!("snappy: {e}"))?;
        WriteRequest::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::wire::*;
    use super::*;

    fn labels(ts: &TimeSeries) -> Vec<(String, String)> {
        ts.labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    fn snapshot(s: &mut Snapshots, at_ms: i64, text: &str) -> Vec<WriteRequest> {
        let mut out = Vec::new();
        s.take(at_ms, |w| w.write_str(text), &mut |b| {
            assert_eq!(b.at_ms, at_ms);
            let req = decode(&b.body).unwrap();
            assert_eq!(req.timeseries.len() as u32, b.samples);
            out.push(req);
        })
        .unwrap();
        out
    }

    const TEXT: &str = "# HELP cm_probe_success 1 if the probe got an answer\n\
        # TYPE cm_probe_success gauge\n\
        cm_probe_success{role=\"target\",target=\"a \\\"b\\\" \\\\c\\nd\"} 1\n\
        # TYPE cm_rtt histogram\n\
        cm_rtt_sum{target=\"one\"} 0.5\n\
        cm_rtt_bucket{le=\"+Inf\",target=\"one\"} 3\n\
        # TYPE cm_outage_open gauge\n\
        cm_outage_open 0\n\
        # EOF\n";

    #[test]
    fn every_sample_line_becomes_one_series_with_sorted_labels_and_the_extras() {
        let extra = BTreeMap::from([("site".to_owned(), "home".to_owned())]);
        let mut s = Snapshots::new("pi", &extra);
        let reqs = snapshot(&mut s, 1_700_000_000_123, TEXT);
        assert_eq!(reqs.len(), 1);
        let ts = &reqs[0].timeseries;
        assert_eq!(ts.len(), 4);
        assert_eq!(
            labels(&ts[0]),
            [
                ("__name__", "cm_probe_success"),
                ("instance", "pi"),
                ("role", "target"),
                ("site", "home"),
                ("target", "a \"b\" \\c\nd"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert_eq!(
            ts[0].samples,
            [Sample {
                value: 1.0,
                timestamp: 1_700_000_000_123
            }]
        );
        assert_eq!(labels(&ts[2])[1], ("instance".into(), "pi".into()));
        assert_eq!(labels(&ts[2])[2], ("le".into(), "+Inf".into()));
        assert_eq!(ts[2].samples[0].value, 3.0);
        assert_eq!(labels(&ts[3]).len(), 3, "a series without labels: {ts:?}");
    }

    #[test]
    fn a_series_that_leaves_gets_a_staleness_marker_once() {
        let mut s = Snapshots::new("pi", &BTreeMap::new());
        snapshot(&mut s, 1000, "a{t=\"x\"} 1\na{t=\"y\"} 2\n");
        let second = snapshot(&mut s, 2000, "a{t=\"x\"} 1\n");
        let ts = &second[0].timeseries;
        assert_eq!(ts.len(), 2);
        assert_eq!(labels(&ts[1])[2], ("t".into(), "y".into()));
        assert_eq!(ts[1].samples[0].value.to_bits(), STALE_NAN);
        assert_eq!(ts[1].samples[0].timestamp, 2000);
        let third = snapshot(&mut s, 3000, "a{t=\"x\"} 1\n");
        assert_eq!(third[0].timeseries.len(), 1, "marked once");
    }

    #[test]
    fn a_large_snapshot_comes_in_batches_of_bounded_size_in_order() {
        let mut s = Snapshots::new("pi", &BTreeMap::new());
        let text: String = (0..5000)
            .map(|i| format!("cm_probe_success{{target=\"t{i}\",address=\"198.18.0.{i}\"}} 1\n"))
            .collect();
        let mut sizes = Vec::new();
        let mut targets = Vec::new();
        s.take(5, |w| w.write_str(&text), &mut |b| {
            let raw = snap::raw::Decoder::new().decompress_vec(&b.body).unwrap();
            sizes.push(raw.len());
            for ts in decode(&b.body).unwrap().timeseries {
                targets.push(ts.labels[3].value.clone());
            }
        })
        .unwrap();
        assert!(sizes.len() > 2, "{sizes:?}");
        assert!(sizes.iter().all(|n| *n < BATCH_BYTES + 200), "{sizes:?}");
        let expected: Vec<String> = (0..5000).map(|i| format!("t{i}")).collect();
        assert_eq!(targets, expected);
    }
}
