//! Each target's RTT over the last hour, for the status page's sparklines.

use std::collections::{BTreeMap, VecDeque};

use super::ProbeView;

/// How much history a target keeps for its sparkline.
const HISTORY_SECONDS: i64 = 3600;
/// The history's resolution in seconds: 120 points to the hour.
const HISTORY_STEP: i64 = 30;

/// Appends this check's RTT per target (the best of its probes) to the last
/// hour's history, a point per [`HISTORY_STEP`] at most: the step's worst
/// check (no answer, else the slowest). At a 1 s interval a point per check
/// would be 3,600 a target, 86 MB with a thousand targets, for a sparkline
/// 120 points wide.
pub fn push_history(
    history: &mut BTreeMap<String, VecDeque<(i64, Option<f64>)>>,
    probes: &[ProbeView],
    now: i64,
) {
    let mut best: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    for p in probes.iter().filter(|p| p.role == "target") {
        best.entry(p.name.as_deref().unwrap_or_default())
            .and_modify(|rtt| {
                *rtt = match (*rtt, p.rtt_ms) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .or_insert(p.rtt_ms);
    }
    for (name, rtt) in best {
        let h = match history.get_mut(name) {
            Some(h) => h,
            None => history.entry(name.to_owned()).or_default(),
        };
        // After the wall clock stepped back, what it said before is no
        // longer the last hour: the points stay in time order and bounded.
        while h.back().is_some_and(|(t, _)| *t > now) {
            h.pop_back();
        }
        match h.back_mut() {
            Some(last) if last.0.div_euclid(HISTORY_STEP) == now.div_euclid(HISTORY_STEP) => {
                last.1 = match (last.1, rtt) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => h.push_back((now, rtt)),
        }
        while h.front().is_some_and(|(t, _)| now - t > HISTORY_SECONDS) {
            h.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, rtt_ms: Option<f64>) -> ProbeView {
        ProbeView {
            role: "target",
            name: Some(name.into()),
            address: None,
            kind: "icmp".into(),
            family: "ipv4",
            up: rtt_ms.is_some(),
            rtt_ms,
            loss_pct: None,
            failure: None,
        }
    }

    #[test]
    fn a_point_per_step_the_best_probe_of_a_check_and_the_worst_check_of_a_step() {
        let mut h = BTreeMap::new();
        // One check, two probes of one target: the better answer.
        push_history(&mut h, &[target("a", None), target("a", Some(5.0))], 60);
        assert_eq!(h["a"], [(60, Some(5.0))]);
        // Later checks in the same 30 s: the slowest, then no answer at all.
        push_history(&mut h, &[target("a", Some(9.0))], 61);
        assert_eq!(h["a"], [(60, Some(9.0))]);
        push_history(&mut h, &[target("a", Some(1.0))], 62);
        assert_eq!(h["a"], [(60, Some(9.0))]);
        push_history(&mut h, &[target("a", None)], 63);
        assert_eq!(h["a"], [(60, None)]);
        // The next step is a point of its own.
        push_history(&mut h, &[target("a", Some(2.0))], 90);
        assert_eq!(h["a"], [(60, None), (90, Some(2.0))]);
    }

    #[test]
    fn a_clock_stepped_back_drops_the_points_it_had_made_after_now() {
        let mut h = BTreeMap::new();
        for now in [1_000_000, 1_000_030, 1_000_060] {
            push_history(&mut h, &[target("a", Some(1.0))], now);
        }
        push_history(&mut h, &[target("a", Some(2.0))], 1_000_035);
        assert_eq!(h["a"], [(1_000_000, Some(1.0)), (1_000_030, Some(2.0))]);
        // A day back: nothing of the "future" is kept.
        push_history(&mut h, &[target("a", Some(3.0))], 913_600);
        assert_eq!(h["a"], [(913_600, Some(3.0))]);
    }

    #[test]
    fn two_hours_of_one_second_checks_keep_an_hour_in_121_points_at_most() {
        let mut h = BTreeMap::new();
        for now in 0..7200 {
            push_history(&mut h, &[target("a", Some(1.0))], now);
        }
        let points = &h["a"];
        assert!(points.len() <= 121, "{}", points.len());
        assert!(points.iter().all(|(t, _)| 7199 - t <= HISTORY_SECONDS));
        assert_eq!(points.back(), Some(&(7170, Some(1.0))));
    }
}
