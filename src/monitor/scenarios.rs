//! Table-driven scenarios: each `tests/scenarios/*.toml` holds a
//! timeline of probe outcomes and the events expected from it. They run
//! through the real `diagnose` and `Machine`, so the verdict rules and the
//! hysteresis are tested together, as plain data.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde::Deserialize;

use super::diagnose::{diagnose, Check, Diagnosis, LossWindow, Thresholds, Verdict};
use super::machine::{Event, Machine, MachineState, Rules};
use crate::config::{Family, TargetName};
use crate::probe::{
    dns, http, icmp, Failure, Host, IcmpStats, Outcome, Plan, Probe, ProbeResult, Role, Rtt, Spec,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    #[serde(default)]
    rules: RulesSpec,
    #[serde(default)]
    plan: PlanSpec,
    check: Vec<CheckSpec>,
    #[serde(default)]
    event: Vec<EventSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RulesSpec {
    down_after: u32,
    up_after: u32,
    interval_s: i64,
    degraded_loss_pct: f64,
    degraded_rtt_ms: u64,
}

impl Default for RulesSpec {
    fn default() -> Self {
        RulesSpec {
            down_after: 2,
            up_after: 2,
            interval_s: 10,
            degraded_loss_pct: 20.0,
            degraded_rtt_ms: 300,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PlanSpec {
    hops: usize,
    targets: usize,
    /// IPv6 targets, behind a gateway of their own family.
    targets6: usize,
    dns: bool,
    http: bool,
}

impl Default for PlanSpec {
    fn default() -> Self {
        PlanSpec {
            hops: 1,
            targets: 3,
            targets6: 0,
            dns: true,
            http: true,
        }
    }
}

/// One or more identical checks. Host states: "up", "down", "noroute".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckSpec {
    #[serde(default = "one")]
    repeat: u32,
    /// Seconds since the previous check, if not one interval.
    after_s: Option<i64>,
    #[serde(default = "up")]
    gateway: String,
    #[serde(default = "up")]
    hops: String,
    /// How many targets answer; all when absent.
    targets_up: Option<usize>,
    /// The IPv6 gateway's state.
    #[serde(default = "up")]
    gateway6: String,
    /// How many IPv6 targets answer; all when absent.
    targets6_up: Option<usize>,
    #[serde(default = "up")]
    dns: String,
    #[serde(default = "up")]
    http: String,
    #[serde(default)]
    loss_pct: u32,
    /// Loss per target instead of `loss_pct`; 100 loses every echo (the target is silent).
    target_loss_pct: Option<Vec<u32>>,
    #[serde(default = "ten")]
    rtt_ms: u64,
    /// The verdict every one of these checks must get.
    expect: Option<Verdict>,
    /// The loss figure (percent, rounded) every one of these checks must record.
    expect_loss_pct: Option<u32>,
}

fn one() -> u32 {
    1
}
fn up() -> String {
    "up".into()
}
fn ten() -> u64 {
    10
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum EventSpec {
    Started {
        at: i64,
        cause: Verdict,
    },
    CauseChanged {
        at: i64,
        from: Verdict,
        to: Verdict,
    },
    Ended {
        start: i64,
        end: i64,
        cause: Verdict,
        duration: u64,
    },
    Gap {
        from: i64,
        to: i64,
    },
}

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).expect("valid time")
}

fn secs(at: DateTime<Utc>) -> i64 {
    at.timestamp() - 1_700_000_000
}

fn plan(spec: &PlanSpec) -> Plan {
    let echo = |host: Host| Spec::Icmp(icmp::Echo { host, count: 3 });
    let icmp = |ip: IpAddr| echo(Host::Ip(ip));
    let mut probes = vec![Probe {
        role: Role::Gateway,
        spec: echo(Host::DefaultGateway(Family::V4)),
    }];
    if spec.targets6 > 0 {
        probes.push(Probe {
            role: Role::Gateway,
            spec: echo(Host::DefaultGateway(Family::V6)),
        });
    }
    for i in 0..spec.hops {
        let ip = IpAddr::from([100, 64, (i / 250) as u8, (i % 250) as u8 + 1]);
        probes.push(Probe {
            role: Role::Hop(ip),
            spec: icmp(ip),
        });
    }
    for i in 0..spec.targets {
        let ip = IpAddr::from([198, 51, (i / 250) as u8, (i % 250) as u8 + 1]);
        probes.push(Probe {
            role: Role::Target(TargetName(format!("t{i}"))),
            spec: icmp(ip),
        });
    }
    for i in 0..spec.targets6 {
        let ip = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16 + 1]);
        probes.push(Probe {
            role: Role::Target(TargetName(format!("six{i}"))),
            spec: icmp(ip),
        });
    }
    if spec.dns {
        let server = SocketAddr::from(([198, 51, 100, 53], 53));
        probes.push(Probe {
            role: Role::Dns {
                server,
                name: "example.com".into(),
            },
            spec: Spec::Dns(dns::Query {
                server,
                name: "example.com".into(),
                qtype: crate::config::DnsType::A,
            }),
        });
    }
    if spec.http {
        probes.push(Probe {
            role: Role::Http("web".into()),
            spec: Spec::Http(Box::new(http::Get {
                url: "http://198.51.100.80/".parse().expect("url"),
                expect_status: vec![200],
                family: None,
            })),
        });
    }
    Plan { probes }
}

fn result(state: &str, c: &CheckSpec, icmp: bool, loss_pct: u32) -> ProbeResult {
    let rtt = Rtt(Duration::from_millis(c.rtt_ms));
    let outcome = match state {
        "up" if loss_pct < 100 => Outcome::Up { rtt },
        "up" | "down" => Outcome::Down(Failure::Timeout),
        "noroute" => Outcome::Down(Failure::NoRoute),
        "linkdown" => Outcome::Down(Failure::Unreachable("link down".into())),
        "refused" => Outcome::Down(Failure::Refused),
        other => panic!("unknown host state {other:?}"),
    };
    let stats = icmp.then(|| {
        let up = matches!(outcome, Outcome::Up { .. });
        let received = if up { 100 - loss_pct } else { 0 };
        IcmpStats {
            sent: 100,
            received,
            min: up.then_some(rtt),
            avg: up.then_some(rtt),
            max: up.then_some(rtt),
            mdev: up.then_some(Rtt(Duration::ZERO)),
        }
    });
    ProbeResult {
        outcome,
        icmp: stats,
        addr: None,
    }
}

fn results(plan: &Plan, c: &CheckSpec) -> Vec<ProbeResult> {
    let (mut target_index, mut six_index) = (0, 0);
    plan.probes
        .iter()
        .map(|p| match &p.role {
            Role::Gateway if p.spec.family() == Some(Family::V6) => ProbeResult {
                addr: Some("fe80::1".parse().expect("address")),
                ..result(&c.gateway6, c, true, c.loss_pct)
            },
            Role::Gateway => ProbeResult {
                addr: Some(IpAddr::from([192, 0, 2, 1])),
                ..result(&c.gateway, c, true, c.loss_pct)
            },
            Role::Hop(_) => result(&c.hops, c, true, c.loss_pct),
            Role::Target(_) if p.spec.family() == Some(Family::V6) => {
                let up = c.targets6_up.is_none_or(|n| six_index < n);
                six_index += 1;
                result(if up { "up" } else { "down" }, c, true, c.loss_pct)
            }
            Role::Target(_) => {
                let up = c.targets_up.is_none_or(|n| target_index < n);
                let loss = c
                    .target_loss_pct
                    .as_ref()
                    .map_or(c.loss_pct, |l| l[target_index]);
                target_index += 1;
                result(if up { "up" } else { "down" }, c, true, loss)
            }
            Role::Dns { .. } => result(&c.dns, c, false, 0),
            Role::Http(_) => result(&c.http, c, false, 0),
        })
        .collect()
}

fn event_spec(e: &Event) -> Option<EventSpec> {
    Some(match e {
        Event::VerdictChanged { .. } | Event::ClockStepped { .. } => return None,
        Event::OutageStarted { start, cause, .. } => EventSpec::Started {
            at: secs(*start),
            cause: cause.verdict(),
        },
        Event::CauseChanged { change, .. } => EventSpec::CauseChanged {
            at: secs(change.at),
            from: change.from.verdict(),
            to: change.to.verdict(),
        },
        Event::OutageEnded(o) => EventSpec::Ended {
            start: secs(o.start),
            end: secs(o.end),
            cause: o.cause.verdict(),
            duration: o.observed.as_secs(),
        },
        Event::Gap(g) => EventSpec::Gap {
            from: secs(g.from),
            to: secs(g.to),
        },
    })
}

fn run_scenario(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let s: Scenario = toml::from_str(&text).map_err(|e| format!("bad scenario file: {e}"))?;
    let plan = plan(&s.plan);
    let thresholds = Thresholds {
        loss_pct: s.rules.degraded_loss_pct,
        rtt: Duration::from_millis(s.rules.degraded_rtt_ms),
    };
    let mut machine = Machine::new(
        Rules {
            down_after: s.rules.down_after,
            up_after: s.rules.up_after,
            interval: Duration::from_secs(s.rules.interval_s as u64),
        },
        MachineState::default(),
    );
    let mut now: Option<i64> = None;
    let mut events = Vec::new();
    let mut window = LossWindow::default();
    for c in &s.check {
        for i in 0..c.repeat {
            let step = if i == 0 {
                c.after_s.unwrap_or(s.rules.interval_s)
            } else {
                s.rules.interval_s
            };
            let at = now.map_or(0, |n| n + step);
            now = Some(at);
            let check = Check {
                at: t(at),
                boot: None,
                results: results(&plan, c),
                simulated: false,
            };
            let d: Diagnosis = diagnose(
                &plan,
                &check,
                &thresholds,
                machine.state().known(),
                &mut window,
            );
            if let Some(want) = c.expect_loss_pct {
                let got = d.loss_pct.map(|l| l.round() as u32);
                if got != Some(want) {
                    return Err(format!(
                        "check at {at}s: loss {got:?} but expected {want} ({})",
                        d.detail
                    ));
                }
            }
            if let Some(want) = c.expect {
                if d.verdict != want {
                    return Err(format!(
                        "check at {at}s: verdict {} but expected {want} ({})",
                        d.verdict, d.detail
                    ));
                }
            }
            events.extend(machine.observe(&d, t(at)).iter().filter_map(event_spec));
        }
    }
    if events != s.event {
        return Err(format!(
            "{}\n  expected events: {:?}\n  got events:      {:?}",
            s.description, s.event, events
        ));
    }
    Ok(())
}

#[test]
fn every_scenario_file_gives_its_expected_events() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the scenario set, found {}",
        files.len()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            run_scenario(f)
                .err()
                .map(|e| format!("{}: {e}", f.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn diag(verdict: Verdict) -> Diagnosis {
    Diagnosis {
        verdict,
        gateway_rtt: None,
        isp_rtt: None,
        targets_up: 0,
        targets_total: 0,
        dns_ok: None,
        http_ok: None,
        loss_pct: None,
        median_rtt: None,
        max_rtt: None,
        detail: String::new(),
        simulated: false,
        routers_proven: Vec::new(),
        families_proven: Vec::new(),
        targets_by_family: Default::default(),
        median_rtt_by_family: Default::default(),
        window_loss_pct: None,
        unverified_hops: Vec::new(),
    }
}

fn any_verdict() -> impl Strategy<Value = Verdict> {
    prop_oneof![
        3 => Just(Verdict::Ok),
        1 => Just(Verdict::Degraded),
        1 => Just(Verdict::DnsFail),
        1 => Just(Verdict::HttpFail),
        1 => Just(Verdict::WanDown),
        1 => Just(Verdict::IspDown),
        1 => Just(Verdict::LanDown),
    ]
}

proptest! {
    /// Every outage that starts ends exactly once, never before it started,
    /// outages never overlap, and observed time never exceeds end − start.
    #[test]
    fn outages_start_and_end_exactly_once(
        steps in proptest::collection::vec((any_verdict(), 1i64..60), 1..200),
        down_after in 1u32..4,
        up_after in 1u32..4,
    ) {
        let mut m = Machine::new(Rules { down_after, up_after, interval: Duration::from_secs(10) }, MachineState::default());
        let mut now = 0;
        let mut open: Option<DateTime<Utc>> = None;
        let mut last_end: Option<DateTime<Utc>> = None;
        for (v, step) in steps {
            now += step;
            for e in m.observe(&diag(v), t(now)) {
                match e {
                    Event::OutageStarted { start, .. } => {
                        prop_assert!(open.is_none(), "started twice");
                        prop_assert!(start <= t(now));
                        if let Some(end) = last_end {
                            prop_assert!(start >= end, "overlaps the previous outage");
                        }
                        open = Some(start);
                    }
                    Event::OutageEnded(o) => {
                        prop_assert_eq!(Some(o.start), open, "ended an outage that was not open");
                        prop_assert!(o.end >= o.start);
                        prop_assert!(o.observed <= (o.end - o.start).to_std().unwrap());
                        open = None;
                        last_end = Some(o.end);
                    }
                    _ => {}
                }
            }
        }
        prop_assert_eq!(open.is_some(), m.state().outage.is_some());
    }
}

/// The machine with the scenarios' usual rules (2 down, 2 up, 10 s).
fn machine() -> Machine {
    Machine::new(
        Rules {
            down_after: 2,
            up_after: 2,
            interval: Duration::from_secs(10),
        },
        MachineState::default(),
    )
}

fn ended(events: &[Event]) -> Option<&super::OutageRecord> {
    events.iter().find_map(|e| match e {
        Event::OutageEnded(o) => Some(o),
        _ => None,
    })
}

#[test]
fn clock_stepped_back_mid_outage_never_ends_it_before_it_starts() {
    // Regression: after a step back the row's end came before its start, 0 s.
    let mut m = machine();
    m.observe(&diag(Verdict::WanDown), t(100));
    m.observe(&diag(Verdict::WanDown), t(110));
    assert!(m.state().outage.is_some());
    let events = m.observe(&diag(Verdict::WanDown), t(50));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ClockStepped { .. })),
        "{events:?}"
    );
    let o = m.state().outage.as_ref().unwrap();
    assert_eq!(o.start, t(50), "start clamped to the clock");
    assert!(o.detail.contains("start clamped from"), "{}", o.detail);
    m.observe(&diag(Verdict::Ok), t(60));
    let events = m.observe(&diag(Verdict::Ok), t(70));
    let o = ended(&events).expect("ended");
    assert!(o.end >= o.start, "{} < {}", o.end, o.start);
    assert_eq!(o.observed, Duration::from_secs(10));
}

#[test]
fn a_persisted_start_in_the_future_is_clamped_with_a_note() {
    let mut state = MachineState::default();
    let mut m = machine();
    m.observe(&diag(Verdict::WanDown), t(1000));
    m.observe(&diag(Verdict::WanDown), t(1010));
    state.outage = m.state().outage.clone();
    state.last_check = Some(t(1010));
    // A state file written by a clock far ahead, read at t(200).
    let mut m = Machine::new(
        Rules {
            down_after: 2,
            up_after: 2,
            interval: Duration::from_secs(10),
        },
        state,
    );
    let events = m.observe(&diag(Verdict::Ok), t(200));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ClockStepped { .. })));
    assert!(
        !events.iter().any(|e| matches!(e, Event::Gap(_))),
        "no negative gap"
    );
    let events = m.observe(&diag(Verdict::Ok), t(210));
    let o = ended(&events).expect("ended");
    assert_eq!((o.start, o.end), (t(200), t(200)));
    assert!(o.detail.contains("start clamped from"), "{}", o.detail);
}

#[test]
fn a_pause_of_our_own_making_is_not_a_monitoring_gap() {
    // Regression: a burst of reloads skipped rounds and logged a false gap.
    let mut m = machine();
    m.observe(&diag(Verdict::Ok), t(0));
    m.excuse_pause(t(45));
    let events = m.observe(&diag(Verdict::Ok), t(50));
    assert!(
        !events.iter().any(|e| matches!(e, Event::Gap(_))),
        "{events:?}"
    );
    // A real silence after that still is one.
    let events = m.observe(&diag(Verdict::Ok), t(100));
    assert!(events.iter().any(|e| matches!(e, Event::Gap(_))));
}

#[test]
fn the_detail_stays_small_whatever_the_number_of_targets() {
    // Regression: with 10,000 targets down one row was 578 KB.
    let spec = PlanSpec {
        hops: 200,
        targets: 10_000,
        targets6: 0,
        dns: true,
        http: true,
    };
    let plan = plan(&spec);
    let c: CheckSpec = toml::from_str("targets_up = 0\nhops = \"down\"").unwrap();
    let check = Check {
        at: t(0),
        boot: None,
        results: results(&plan, &c),
        simulated: false,
    };
    let thresholds = Thresholds {
        loss_pct: 20.0,
        rtt: Duration::from_millis(300),
    };
    let d = diagnose(
        &plan,
        &check,
        &thresholds,
        MachineState::default().known(),
        &mut LossWindow::default(),
    );
    assert!(
        d.detail.len() <= super::diagnose::MAX_DETAIL,
        "{} bytes",
        d.detail.len()
    );
    assert!(
        d.detail.contains("0/10000 targets (down: t0 timeout"),
        "{}",
        d.detail
    );
}

/// Both clocks of a check `wall` seconds in on the wall clock and `boot` on the boot clock.
fn at(wall: i64, boot: u64) -> super::machine::At {
    super::machine::At {
        wall: t(wall),
        boot: Some(Duration::from_secs(boot)),
    }
}

#[test]
fn a_wall_clock_step_during_an_outage_is_neither_outage_time_nor_a_gap() {
    // Regression: a step forward of 2 h gave a row of 8 s, "RECOVERED after
    // 2h8s" and a two-hour "monitoring gap" while checks ran every second; a
    // step back of 1 h recorded an 8 s outage as 4 s.
    for step in [7200, -3600] {
        let mut m = machine();
        m.observe(&diag(Verdict::Ok), at(0, 1000));
        m.observe(&diag(Verdict::WanDown), at(10, 1010));
        m.observe(&diag(Verdict::WanDown), at(20, 1020));
        let events = m.observe(&diag(Verdict::WanDown), at(30 + step, 1030));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::ClockStepped { by, .. } if by.num_seconds() == step)),
            "{events:?}"
        );
        assert!(
            !events.iter().any(|e| matches!(e, Event::Gap(_))),
            "{events:?}"
        );
        m.observe(&diag(Verdict::Ok), at(40 + step, 1040));
        let events = m.observe(&diag(Verdict::Ok), at(50 + step, 1050));
        let o = ended(&events).expect("ended");
        assert_eq!(o.observed, Duration::from_secs(30), "step {step}");
        assert_eq!(
            (o.end - o.start).num_seconds(),
            30,
            "the row agrees with itself"
        );
        assert_eq!(
            o.start,
            t(10 + step),
            "the start is given on the stepped clock"
        );
        assert!(o.detail.contains("the wall clock stepped"), "{}", o.detail);
    }
}

#[test]
fn a_machine_that_slept_has_a_gap_on_both_clocks() {
    let mut m = machine();
    m.observe(&diag(Verdict::Ok), at(0, 1000));
    let events = m.observe(&diag(Verdict::Ok), at(3600, 4600));
    assert!(
        events.iter().any(|e| matches!(e, Event::Gap(_))),
        "{events:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::ClockStepped { .. })));
}
