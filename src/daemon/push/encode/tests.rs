//! The encoder against remote write 1.0 as receivers decode it.

/// The remote write 1.0 messages as receivers decode them (`prometheus.WriteRequest`),
/// written with prost's derive: the tests decode what [`Snapshots`] writes with them.
/// The daemon itself writes the same wire format straight from borrowed
/// labels, without a `String` per label per sample.
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


use super::*;
use wire::*;

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
        let n = 12_000;
        let text: String = (0..n)
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
        // Each batch but the last is many fragments, compressed one at a time
        // and read back whole.
        assert!(sizes.len() > 2, "{sizes:?}");
        assert!(sizes.iter().all(|n| *n < BATCH_BYTES + 200), "{sizes:?}");
        assert!(sizes[0] >= BATCH_BYTES, "{sizes:?}");
        let expected: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        assert_eq!(targets, expected);
    }

#[test]
fn a_series_that_leaves_is_marked_with_its_own_name_and_labels_though_others_share_them() {
    let mut s = Snapshots::new("pi", &BTreeMap::new());
    let both = "# TYPE ok gauge\nok{t=\"a \\\"q\\\"\"} 1\nok{t=\"b\"} 1\n\
                # TYPE rtt gauge\nrtt{t=\"a \\\"q\\\"\"} 0.5\nrtt{t=\"b\"} 0.25\n";
    snapshot(&mut s, 1000, both);
    let one_gone = "# TYPE ok gauge\nok{t=\"a \\\"q\\\"\"} 0\nok{t=\"b\"} 1\n\
                    # TYPE rtt gauge\nrtt{t=\"b\"} 0.25\n";
    let ts = snapshot(&mut s, 2000, one_gone).remove(0).timeseries;
    assert_eq!(ts.len(), 4);
    assert_eq!(
        labels(&ts[3]),
        [("__name__", "rtt"), ("instance", "pi"), ("t", "a \"q\"")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(ts[3].samples[0].value.to_bits(), STALE_NAN);
    let ts = snapshot(&mut s, 3000, both).remove(0).timeseries;
    assert_eq!(ts.len(), 4, "back, and nothing marked: {ts:?}");
}

/// The probes' samples, taken whole from the metrics, are the very series
/// push would read from their text, with the same staleness markers when a
/// probe's RTT ends; a probe that leaves also ends its distribution's series,
/// which the text, where a histogram's parts are not followed, would not.
#[test]
fn the_probes_taken_whole_are_the_series_their_text_gives() {
    use crate::daemon::metrics::tests::{plan, results};
    use crate::daemon::metrics::{Format, Metrics};
    let extra = BTreeMap::from([("site".to_owned(), "home".to_owned())]);
    let (mut whole, mut parsed) = (Snapshots::new("pi", &extra), Snapshots::new("pi", &extra));
    let mut m = Metrics::new();
    // By the values' bits: a staleness marker is a NaN, equal to no float.
    type Series = (Vec<(String, String)>, u64, i64);
    let mut compare = |m: &mut Metrics, at_ms: i64| -> Vec<Series> {
        let mut direct = Vec::new();
        whole
            .take(at_ms, |w| m.encode(w), &mut |b| direct.push(decode(&b.body).unwrap()))
            .unwrap();
        m.changed();
        let text = String::from_utf8(m.text(Format::OpenMetrics).to_vec()).unwrap();
        let text = text.strip_suffix("# EOF\n").unwrap().to_owned();
        let from_text = snapshot(&mut parsed, at_ms, &text);
        let series = |reqs: Vec<WriteRequest>| -> Vec<Series> {
            let all = reqs.into_iter().flat_map(|r| r.timeseries);
            all.map(|t| (labels(&t), t.samples[0].value.to_bits(), t.samples[0].timestamp))
                .collect()
        };
        // In any order: the staleness markers come in an order of their own.
        let (mut direct, mut from_text) = (series(direct), series(from_text));
        direct.sort();
        from_text.sort();
        assert!(direct.len() > 30, "{}", direct.len());
        let histogram_part = |t: &Series| t.0[0].1.contains("distribution") && t.1 == STALE_NAN;
        let others: Vec<_> = direct.iter().filter(|t| !histogram_part(t)).cloned().collect();
        assert_eq!(others, from_text);
        direct
    };
    m.probes(&plan(&["one", "t\"w\\o"]), &results(&[Some(0.7), Some(2.0)]));
    compare(&mut m, 1_000);
    m.probes(&plan(&["one"]), &results(&[None]));
    let after = compare(&mut m, 2_000);
    let stale: Vec<_> = after.iter().filter(|t| t.1 == STALE_NAN).collect();
    // "one": its RTT; "t\"w\\o": success, RTT, 15 buckets, sum and count.
    assert_eq!(stale.len(), 1 + 2 + 17, "{stale:?}");
    let gone = |t: &&&Series| t.0.iter().any(|(k, v)| k == "target" && v == "t\"w\\o");
    assert_eq!(stale.iter().filter(gone).count(), 19, "{stale:?}");
    let names: Vec<&str> = stale.iter().filter(gone).map(|t| t.0[0].1.as_str()).collect();
    assert!(names.contains(&"connectivity_monitor_probe_rtt_distribution_seconds_count"), "{names:?}");
    // The same probe in the same row, answering again, then not: its RTT is
    // back, then marked stale again, found by its row rather than its labels.
    let same = plan(&["one"]);
    m.probes(&same, &results(&[Some(0.4)]));
    let back = compare(&mut m, 3_000);
    assert!(back.iter().all(|t| t.1 != STALE_NAN), "{back:?}");
    m.probes(&same, &results(&[None]));
    let again = compare(&mut m, 4_000);
    let stale: Vec<_> = again.iter().filter(|t| t.1 == STALE_NAN).collect();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].0[0], ("__name__".to_owned(), "connectivity_monitor_probe_rtt_seconds".to_owned()));
}

