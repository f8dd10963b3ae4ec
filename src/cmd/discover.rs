//! `discover`: trace the path to the targets (or one address), print it, and
//! suggest the ISP hops worth watching as a ready-to-paste `[isp]` section.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::Path as FilePath;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::cli::DiscoverArgs;
use crate::config::{Config, GatewayAddress};
use crate::path::{self, Hints, Pacer, Path, Suggestion, TraceSpec};

/// The last hop that may be the ISP's, counting the gateway as hop 1.
const LAST_ISP_HOP: u8 = 5;

/// Traces, prints, suggests; exit 1 when no trace can run.
pub fn run(config_path: Option<&FilePath>, args: &DiscoverArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let dests: Vec<(String, IpAddr)> = match args.target {
        Some(a) => vec![(a.to_string(), a)],
        None => config
            .targets
            .iter()
            .map(|t| (t.name.0.clone(), t.address))
            .collect(),
    };
    let progress = std::io::stderr().is_terminal() && !args.json;
    let hints = Hints {
        route: Vec::new(),
        routers: known_routers(&config),
    };
    let traced = super::runtime()?.block_on(async {
        // One after another, sharing one pace: the routers near this host are on every path.
        let pacer = Pacer::new(Duration::from_secs_f64(args.interval));
        let never = tokio_util::sync::CancellationToken::new();
        let mut out = Vec::new();
        for (name, dest) in &dests {
            let spec = TraceSpec {
                dest: *dest,
                rounds: args.rounds,
                max_hops: config.path.max_hops,
                timeout: config.monitor.timeout.min(Duration::from_secs(2)),
                hints: hints.clone(),
            };
            let p = path::trace(spec, &pacer, &never, |so_far| {
                if progress {
                    eprint!(
                        "\rtracing {name} ({dest}): round {}/{}",
                        so_far.rounds, args.rounds
                    );
                }
            })
            .await;
            if progress {
                eprintln!();
            }
            out.push((name.clone(), p?));
        }
        Ok::<_, std::io::Error>(out)
    });
    let traced = match traced {
        Ok(t) => t,
        Err(e) => {
            eprintln!("connectivity-monitor: {}", path::setup_error(&e));
            return Ok(ExitCode::from(1));
        }
    };
    // The first path that reached its destination says the most about the line.
    let basis = traced
        .iter()
        .find(|(_, p)| p.reached)
        .or(traced.first())
        .map(|(_, p)| p);
    let suggestion = basis.map_or_else(
        || Err("no target to trace".to_owned()),
        |p| path::isp_hops(p, LAST_ISP_HOP),
    );
    if args.json {
        let doc = json!({
            "schema_version": 2,
            "paths": traced.iter().map(|(n, p)| json!({"target": n, "path": p})).collect::<Vec<_>>(),
            "isp_hops": suggestion.as_ref().ok(),
            "no_isp_hop_because": suggestion.as_ref().err(),
        });
        println!("{doc:#}");
    } else {
        print_text(&traced, &suggestion);
    }
    Ok(ExitCode::SUCCESS)
}

/// The gateway and the configured ISP hops: routers a silent hop may be asked about directly.
fn known_routers(config: &Config) -> Vec<IpAddr> {
    let gateway = match config.gateway.address {
        GatewayAddress::Ip(ip) => Some(ip),
        GatewayAddress::Auto => crate::probe::route::default_gateway().map(|g| g.addr),
    };
    gateway
        .into_iter()
        .chain(config.isp.hops.iter().copied())
        .collect()
}

fn print_text(traced: &[(String, Path)], suggestion: &Result<Vec<Suggestion>, String>) {
    for (name, p) in traced {
        print!("{}", path::table(p, name, "discover"));
        println!();
    }
    match suggestion {
        Ok(hops) => {
            println!(
                "Suggested [isp] section: hops 2 to {LAST_ISP_HOP} that answered with no loss, in your ISP's network.\n"
            );
            println!("[isp]\nhops = [");
            for h in hops {
                let rtt = h.avg_ms.map_or_else(String::new, |a| format!(", {a:.1} ms"));
                println!(
                    "    {:<18} # hop {}: {:.0}% loss{rtt}",
                    format!("\"{}\",", h.address),
                    h.hop,
                    h.loss_pct
                );
            }
            println!("]\nprobes = [\"icmp\"]");
        }
        Err(why) => println!(
            "No hop qualifies for [isp]: {why}. Without hops, an outage beyond your router is WAN_DOWN (ISP_DOWN needs a hop that answers)."
        ),
    }
}
