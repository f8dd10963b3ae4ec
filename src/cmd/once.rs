//! `once`: every probe once, concurrently, then the diagnosis, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::daemon::config::Config;
use crate::monitor::persist;
use crate::monitor::{diagnose, unverified_hop, Check, Diagnosis, LossWindow, Thresholds, Verdict};
use crate::probe::{self, Outcome, Plan, ProbeResult, Prober, Rtt};
use crate::timefmt::rfc3339_local;

/// Prints each result and the verdict; exit 0 OK, 2 DEGRADED, 3 an outage verdict.
pub fn run(path: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    let at = Utc::now();
    let (plan, results, d) = super::runtime()?.block_on(check(&config, at))?;
    // The host sensors' values now (the connection log does not hold them).
    let (sensors, said) = config.features.sensors.now(&config.monitor.state_dir);
    if json {
        let mut doc = as_json(&plan, &results, &d, at);
        doc["sensors"] = sensors;
        println!("{doc:#}");
    } else {
        print_text(&plan, &results, &d);
        for line in said {
            println!("{line}");
        }
    }
    Ok(ExitCode::from(match d.verdict {
        Verdict::Ok => 0,
        Verdict::Degraded => 2,
        _ => 3,
    }))
}

async fn check(
    config: &Config,
    at: DateTime<Utc>,
) -> anyhow::Result<(Plan, Vec<ProbeResult>, Diagnosis)> {
    let plan = Plan::from_config(config);
    let prober = Prober::new();
    Prober::check_icmp(&plan)?;
    let timeout = config.monitor.timeout;
    // The ICMP probes all at once through one echo engine, the others each as a task.
    let (icmp, others): (Vec<_>, Vec<_>) =
        (plan.probes.iter().enumerate()).partition(|(_, p)| matches!(p.spec, probe::Spec::Icmp(_)));
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in others {
        let prober = std::sync::Arc::clone(&prober);
        let spec = p.spec.clone();
        set.spawn(async move { (i, prober.run(&spec, timeout).await) });
    }
    let echoes: Vec<(probe::Host, u32)> = (icmp.iter())
        .filter_map(|(_, p)| match p.spec {
            probe::Spec::Icmp(e) => Some((e.host, e.count)),
            _ => None,
        })
        .collect();
    let mut results = vec![None; plan.probes.len()];
    let answered = probe::echo::one_round(&echoes, timeout).await;
    for ((i, _), r) in icmp.iter().zip(answered) {
        results[*i] = Some(r);
    }
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.context("a probe task panicked")?;
        results[i] = Some(r);
    }
    let results: Vec<ProbeResult> = results
        .into_iter()
        .map(|r| r.expect("every probe reported"))
        .collect();
    let check = Check {
        at,
        boot: None,
        results: results.clone(),
        simulated: false,
    };
    // Which routers are real, as the daemon and earlier runs of `once` proved them.
    let dir = &config.monitor.state_dir;
    let mut state = persist::load(dir).map(|p| p.machine).unwrap_or_default();
    state.verified_routers.extend(persist::load_routers(dir));
    // One check has no earlier ones: its loss is judged on its own echoes.
    let d = diagnose(
        &plan,
        &check,
        &Thresholds::of(config),
        state.known(),
        &mut LossWindow::default(),
    );
    let proven = d.routers_proven.iter().copied().collect();
    if let Err(e) = persist::add_routers(dir, &proven) {
        eprintln!(
            "note: cannot record the routers this check proved in {}: {e}",
            dir.join(persist::ROUTERS_FILE).display()
        );
    }
    Ok((plan, results, d))
}

fn print_text(plan: &Plan, results: &[ProbeResult], d: &Diagnosis) {
    for (p, r) in plan.probes.iter().zip(results) {
        let addr = r.addr.map(|a| format!(" ({a})")).unwrap_or_default();
        let what = match &r.outcome {
            Outcome::Up { rtt } => format!("up {rtt}"),
            Outcome::Down(f) => format!("DOWN: {f}"),
        };
        let loss = r
            .icmp
            .map(|s| format!(" [{}/{} replies]", s.received, s.sent))
            .unwrap_or_default();
        println!(
            "{:<40} {:<8} {what}{loss}",
            format!("{}{addr}", p.role),
            p.spec.kind()
        );
    }
    println!("verdict: {}", d.verdict);
    println!("detail: {}", d.detail);
    if d.targets_up > 0 {
        for hop in &d.unverified_hops {
            println!("note: {}", unverified_hop(*hop));
        }
    }
}

/// The `once --json` document; its schema is in README ("once --json"), and
/// `schema_version` changes whenever a field changes meaning or goes away.
fn as_json(plan: &Plan, results: &[ProbeResult], d: &Diagnosis, at: DateTime<Utc>) -> Value {
    let ms = |r: Option<Rtt>| r.map(Rtt::as_ms);
    let probes: Vec<Value> = plan
        .probes
        .iter()
        .zip(results)
        .map(|(p, r)| {
            let (role, name, address) = p.parts(r.addr);
            json!({
                "role": role,
                "name": name,
                "address": address,
                "kind": p.spec.kind(),
                "up": matches!(r.outcome, Outcome::Up { .. }),
                "rtt_ms": ms(r.outcome.rtt()),
                "failure": match &r.outcome { Outcome::Down(f) => Some(f.to_string()), _ => None },
                "icmp": r.icmp.map(|s| json!({
                    "sent": s.sent,
                    "received": s.received,
                    "min_ms": ms(s.min),
                    "avg_ms": ms(s.avg),
                    "max_ms": ms(s.max),
                    "mdev_ms": ms(s.mdev),
                })),
            })
        })
        .collect();
    json!({
        "schema_version": 1,
        "timestamp": rfc3339_local(at),
        "verdict": d.verdict,
        "detail": d.detail,
        "gateway_rtt_ms": ms(d.gateway_rtt),
        "isp_rtt_ms": ms(d.isp_rtt),
        "median_rtt_ms": ms(d.median_rtt),
        "loss_pct": d.loss_pct,
        "targets_up": d.targets_up,
        "targets_total": d.targets_total,
        "dns_ok": d.dns_ok,
        "http_ok": d.http_ok,
        "unverified_hops": d.unverified_hops,
        "probes": probes,
    })
}
