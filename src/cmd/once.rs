//! `once`: every probe once, concurrently, then the diagnosis, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::config::Config;
use crate::monitor::persist;
use crate::monitor::{diagnose, unverified_hop, Check, Diagnosis, Thresholds, Verdict};
use crate::probe::{self, Outcome, Plan, ProbeResult, Prober};

/// Prints each result and the verdict; exit 0 OK, 2 DEGRADED, 3 an outage verdict.
pub fn run(path: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    let (plan, results, d) = super::runtime()?.block_on(check(&config))?;
    if json {
        println!("{}", as_json(&plan, &results, &d));
    } else {
        print_text(&plan, &results, &d);
    }
    Ok(ExitCode::from(match d.verdict {
        Verdict::Ok => 0,
        Verdict::Degraded => 2,
        _ => 3,
    }))
}

async fn check(config: &Config) -> anyhow::Result<(Plan, Vec<ProbeResult>, Diagnosis)> {
    let plan = Plan::from_config(config);
    let prober = Prober::new(probe::http_client()?);
    prober.check_icmp(&plan)?;
    let at = Utc::now();
    let mut set = tokio::task::JoinSet::new();
    for (i, p) in plan.probes.iter().enumerate() {
        let prober = std::sync::Arc::clone(&prober);
        let spec = p.spec.clone();
        let timeout = config.monitor.timeout;
        set.spawn(async move { (i, prober.run(&spec, timeout).await) });
    }
    let mut results = vec![None; plan.probes.len()];
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
        results: results.clone(),
        simulated: false,
    };
    // The daemon's knowledge of which hops are real, if it has run here.
    let verified = persist::load(&config.monitor.state_dir)
        .map(|p| p.machine.verified_hops)
        .unwrap_or_default();
    let d = diagnose(&plan, &check, &Thresholds::of(config), &verified);
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

fn as_json(plan: &Plan, results: &[ProbeResult], d: &Diagnosis) -> serde_json::Value {
    let probes: Vec<serde_json::Value> = plan
        .probes
        .iter()
        .zip(results)
        .map(|(p, r)| {
            serde_json::json!({
                "role": p.role.to_string(),
                "kind": p.spec.kind(),
                "address": r.addr,
                "up": matches!(r.outcome, Outcome::Up { .. }),
                "rtt_ms": r.outcome.rtt().map(probe::Rtt::as_ms),
                "failure": match &r.outcome { Outcome::Down(f) => Some(f.to_string()), _ => None },
                "icmp": r.icmp,
            })
        })
        .collect();
    serde_json::json!({ "verdict": d.verdict, "diagnosis": d, "probes": probes })
}
