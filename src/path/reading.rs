//! A finished trace and what it says: where the path broke, in words a person
//! can read to their ISP, and whether the route differs from an earlier one.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::hop::{Hop, Unreachable};

/// A finished trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Path {
    /// The destination.
    pub dest: IpAddr,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Rounds run.
    pub rounds: u32,
    /// Whether the destination answered.
    pub reached: bool,
    /// Hop by hop, from 1; the last one is where it ends (the destination, a
    /// router that said unreachable, or a few silent hops past the last answer).
    pub hops: Vec<Hop>,
    /// Why this host could not send the probes at all, e.g. `no route`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_error: Option<String>,
}

impl Path {
    /// The route as the addresses answering at each distance (`None`: silent).
    pub fn route(&self) -> Vec<Option<IpAddr>> {
        self.hops.iter().map(|h| h.addrs.first().copied()).collect()
    }

    /// Whether this trace can stand for the route: it reached the destination.
    pub fn complete(&self) -> bool {
        self.reached
    }

    /// Whether `other` is another route: a different length, or a different
    /// address where both answered (a silent hop says nothing either way).
    pub fn differs_from(&self, other: &[Option<IpAddr>]) -> bool {
        let mine = self.route();
        mine.len() != other.len()
            || mine
                .iter()
                .zip(other)
                .any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b))
    }

    /// Where it broke, e.g. `path to one: last answer hop 3 100.64.2.2, silent
    /// from hop 4`. `answering` are routers the monitor's own probes saw
    /// answering (gateway, ISP hops): one the trace could not place is named,
    /// never left to read as silent.
    pub fn where_broke(&self, name: &str, answering: &[IpAddr]) -> String {
        if self.reached {
            return format!("path to {name}: reached in {} hops", self.hops.len());
        }
        let mut words = match self.hops.iter().rposition(Hop::answered) {
            Some(i) => {
                let h = &self.hops[i];
                let addr = h.addrs.first().map(ToString::to_string).unwrap_or_default();
                let after = match &h.unreachable {
                    Some(mark) => format!("{} ({mark})", Unreachable::words_of(mark)),
                    None => format!("silent from hop {}", h.ttl + 1),
                };
                format!("path to {name}: last answer hop {} {addr}, {after}", h.ttl)
            }
            None => match &self.local_error {
                Some(e) => format!("path to {name}: this host cannot send ({e})"),
                None => format!("path to {name}: no hop answers"),
            },
        };
        let unplaced: Vec<String> = answering
            .iter()
            .filter(|a| !self.hops.iter().any(|h| h.addrs.contains(a)))
            .map(ToString::to_string)
            .collect();
        if !unplaced.is_empty() {
            let verb = if unplaced.len() == 1 {
                "answers"
            } else {
                "answer"
            };
            words.push_str(&format!(
                " ({} {verb} ping, at a hop the trace could not find)",
                unplaced.join(", ")
            ));
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    pub fn path(route: &[Option<&str>], reached: bool) -> Path {
        let mut hops: Vec<Hop> = route
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut h = Hop::new(i as u8 + 1);
                h.sent = 1;
                if let Some(a) = a {
                    h.answer(a.parse().unwrap(), Duration::from_millis(2));
                }
                h
            })
            .collect();
        super::super::hop::finish_all(&mut hops);
        Path {
            dest: "198.51.100.1".parse().unwrap(),
            at: Utc::now(),
            rounds: 1,
            reached,
            hops,
            local_error: None,
        }
    }

    #[test]
    fn where_it_broke_names_the_last_answer_and_the_first_silence() {
        let p = path(
            &[
                Some("10.1.1.1"),
                Some("100.64.1.2"),
                Some("100.64.2.2"),
                None,
                None,
            ],
            false,
        );
        assert_eq!(
            p.where_broke("one", &[]),
            "path to one: last answer hop 3 100.64.2.2, silent from hop 4"
        );
        assert_eq!(
            path(&[None, None], false).where_broke("x", &[]),
            "path to x: no hop answers"
        );
        assert_eq!(
            path(&[Some("10.1.1.1"), Some("198.51.100.1")], true).where_broke("x", &[]),
            "path to x: reached in 2 hops"
        );
    }

    #[test]
    fn a_router_that_said_unreachable_ends_the_sentence_with_its_mark() {
        let mut p = path(&[Some("10.0.1.1"), Some("10.0.2.2")], false);
        p.hops[1].unreachable = Some("!N".into());
        assert_eq!(
            p.where_broke("one", &[]),
            "path to one: last answer hop 2 10.0.2.2, network unreachable (!N)"
        );
    }

    #[test]
    fn a_router_the_probes_saw_answering_is_never_left_to_read_as_silent() {
        let p = path(&[Some("10.0.1.1"), None, None], false);
        let isp: IpAddr = "10.0.2.2".parse().unwrap();
        let gw: IpAddr = "10.0.1.1".parse().unwrap();
        assert_eq!(
            p.where_broke("one", &[gw, isp]),
            "path to one: last answer hop 1 10.0.1.1, silent from hop 2 \
             (10.0.2.2 answers ping, at a hop the trace could not find)"
        );
        let mut none = path(&[None], false);
        none.local_error = Some("no route".into());
        assert_eq!(
            none.where_broke("one", &[]),
            "path to one: this host cannot send (no route)"
        );
    }

    #[test]
    fn a_silent_hop_is_no_route_change_but_another_router_is() {
        let a = path(
            &[Some("10.1.1.1"), Some("100.64.1.2"), Some("203.0.113.2")],
            true,
        );
        let silent = path(&[Some("10.1.1.1"), None, Some("203.0.113.2")], true);
        let other = path(
            &[Some("10.1.1.1"), Some("100.64.1.2"), Some("203.0.113.9")],
            true,
        );
        let longer = path(
            &[
                Some("10.1.1.1"),
                Some("100.64.1.2"),
                Some("203.0.113.2"),
                None,
            ],
            true,
        );
        assert!(!silent.differs_from(&a.route()));
        assert!(other.differs_from(&a.route()));
        assert!(longer.differs_from(&a.route()));
    }

    #[test]
    fn an_entry_without_the_newer_fields_still_reads() {
        let old = r#"{"dest":"198.51.100.1","at":"2026-11-27T13:41:30Z","rounds":1,"reached":true,
            "hops":[{"ttl":1,"addrs":["10.1.1.1"],"sent":1,"received":1,"loss_pct":0.0,
            "last_ms":0.1,"avg_ms":0.1,"best_ms":0.1,"worst_ms":0.1,"stdev_ms":0.0}]}"#;
        let p: Path = serde_json::from_str(old).unwrap();
        assert_eq!(p.hops[0].rate_limited, 0);
        assert_eq!(p.hops[0].unreachable, None);
        assert_eq!(p.local_error, None);
    }
}
