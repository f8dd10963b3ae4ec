//! Tests of /metrics.

use super::probes::rtt_buckets;
use super::*;
use crate::probe::Outcome;

#[test]
fn rtt_buckets_are_the_exponential_ones() {
    let expected: Vec<f64> =
        prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 14).collect();
    assert_eq!(rtt_buckets().collect::<Vec<_>>(), expected);
}

/// ICMP probes of targets at 192.0.2.1, by name.
pub fn plan(names: &[&str]) -> Arc<Plan> {
    let probes = names
        .iter()
        .map(|n| Probe {
            role: Role::Target(crate::config::TargetName((*n).into())),
            spec: crate::probe::Spec::Icmp(crate::probe::icmp::Echo {
                host: crate::probe::Host::Ip("192.0.2.1".parse().unwrap()),
                count: 1,
            }),
        })
        .collect();
    Arc::new(Plan { probes })
}

/// A result per RTT in ms, `None` for no answer.
pub fn results(rtts: &[Option<f64>]) -> Vec<ProbeResult> {
    rtts.iter()
        .map(|rtt| {
            ProbeResult::new(match rtt {
                Some(ms) => Outcome::Up {
                    rtt: crate::probe::Rtt(std::time::Duration::from_secs_f64(ms / 1000.0)),
                },
                None => Outcome::Down(crate::probe::Failure::Timeout),
            })
        })
        .collect()
}

#[test]
fn a_counter_is_named_with_total_in_the_prometheus_format_only() {
    let mut m = Metrics::new();
    m.outage_ended("WAN_DOWN", 8.0);
    let prom = String::from_utf8(m.text(Format::Prometheus).to_vec()).unwrap();
    assert!(prom.contains("# HELP connectivity_monitor_outages_total Outages ended"));
    assert!(prom.contains("# TYPE connectivity_monitor_outages_total counter\n"));
    assert!(prom.contains("connectivity_monitor_outages_total{cause=\"WAN_DOWN\"} 1\n"));
    assert!(prom.contains("# TYPE connectivity_monitor_outage_open gauge\n"));
    assert!(!prom.contains("# EOF"));
    let om = String::from_utf8(m.text(Format::OpenMetrics).to_vec()).unwrap();
    assert!(om.contains("# TYPE connectivity_monitor_outages counter\n"));
    assert!(om.ends_with("# EOF\n"));
}

#[test]
fn a_quote_a_backslash_and_a_line_feed_in_a_name_are_escaped() {
    let mut m = Metrics::new();
    m.probes(&plan(&["a \"b\" \\c\nd"]), &results(&[Some(1.0)]));
    let text = String::from_utf8(m.text(Format::Prometheus).to_vec()).unwrap();
    assert!(text.contains(r#"target="a \"b\" \\c\nd""#), "{text}");
}

#[test]
fn a_probe_down_has_no_rtt_and_a_probe_removed_has_no_series() {
    let mut m = Metrics::new();
    m.probes(&plan(&["one", "two"]), &results(&[Some(12.0), Some(3.0)]));
    m.changed();
    let before = String::from_utf8(m.text(Format::Prometheus).to_vec()).unwrap();
    assert!(before.contains("probe_rtt_seconds{role=\"target\",target=\"one\""));
    m.probes(&plan(&["one"]), &results(&[None]));
    m.changed();
    let after = String::from_utf8(m.text(Format::Prometheus).to_vec()).unwrap();
    assert!(
        !after.contains("probe_rtt_seconds{role=\"target\",target=\"one\""),
        "{after}"
    );
    assert!(after.contains("probe_success{role=\"target\",target=\"one\",address=\"192.0.2.1\",kind=\"icmp\",family=\"ipv4\"} 0"), "{after}");
    assert!(!after.contains("target=\"two\""), "{after}");
}

#[test]
fn the_same_probes_checked_again_lose_and_regain_their_rtt() {
    let mut m = Metrics::new();
    let text = |m: &mut Metrics| {
        m.changed();
        String::from_utf8(m.text(Format::Prometheus).to_vec()).unwrap()
    };
    let rtt_of_one = "probe_rtt_seconds{role=\"target\",target=\"one\"";
    let same = plan(&["one", "two"]);
    m.probes(&same, &results(&[Some(12.0), Some(3.0)]));
    m.probes(&same, &results(&[None, Some(3.0)]));
    assert!(!text(&mut m).contains(rtt_of_one));
    m.probes(&same, &results(&[Some(20.0), Some(3.0)]));
    let again = text(&mut m);
    assert!(
        again.contains(&format!(
            "{rtt_of_one},address=\"192.0.2.1\",kind=\"icmp\",family=\"ipv4\"}} 0.02"
        )),
        "{again}"
    );
    assert!(again.contains("probe_rtt_distribution_seconds_count{role=\"target\",target=\"one\",address=\"192.0.2.1\",kind=\"icmp\",family=\"ipv4\"} 2"), "{again}");
}

/// The probes' families, written from their rows, read as prometheus-client
/// writes the same values from its own families (the registry that held them
/// before): the same lines, a histogram's in another order (buckets first).
#[test]
fn the_probes_text_is_what_the_registry_writes() {
    use prometheus_client::metrics::histogram::Histogram;
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct L {
        role: Label,
        target: Label,
        address: Label,
        kind: Label,
        family: Label,
    }
    let mut m = Metrics::new();
    let p = plan(&["one", "t\"w\\o"]);
    m.probes(&p, &results(&[Some(0.7), None]));
    m.probes(&p, &results(&[Some(3.0), Some(1.0)]));
    m.probes(&p, &results(&[Some(5000.0), Some(1.0)]));
    let mut ours = String::new();
    probes::write(&m.probes, &mut Text(&mut ours)).unwrap();

    let mut registry = Registry::with_prefix("connectivity_monitor");
    let success: Family<L, Gauge> = Family::default();
    let rtt: Family<L, FloatGauge> = Family::default();
    let hist: Family<L, Histogram> = Family::new_with_constructor(|| Histogram::new(rtt_buckets()));
    let loss: Family<L, FloatGauge> = Family::default();
    registry.register(
        "probe_success",
        "1 if the probe got an answer at the last check",
        success.clone(),
    );
    registry.register(
        "probe_rtt_seconds",
        "Round-trip time of the probe at the last check; absent while it gets no answer",
        rtt.clone(),
    );
    registry.register(
        "probe_rtt_distribution_seconds",
        "Round-trip times of the probe",
        hist.clone(),
    );
    registry.register(
        "probe_loss_ratio",
        "ICMP loss of the probe at the last check, 0 to 1",
        loss.clone(),
    );
    let labels = |target: &str| L {
        role: "target".into(),
        target: target.into(),
        address: "192.0.2.1".into(),
        kind: "icmp".into(),
        family: "ipv4".into(),
    };
    let (one, two) = (labels("one"), labels("t\"w\\o"));
    success.get_or_create(&one).set(1);
    success.get_or_create(&two).set(1);
    rtt.get_or_create(&one).set(5.0);
    rtt.get_or_create(&two).set(0.001);
    for v in [0.0007, 0.003, 5.0] {
        hist.get_or_create(&one).observe(v);
    }
    for v in [0.001, 0.001] {
        hist.get_or_create(&two).observe(v);
    }
    let mut theirs = String::new();
    prometheus_client::encoding::text::encode_registry(&mut theirs, &registry).unwrap();
    let sorted = |t: &str| {
        let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&ours), sorted(&theirs), "{ours}");
    let inf = "_bucket{le=\"+Inf\",role=\"target\",target=\"one\",address=\"192.0.2.1\",kind=\"icmp\",family=\"ipv4\"} 3\n";
    assert!(ours.contains(inf), "{ours}");
}
