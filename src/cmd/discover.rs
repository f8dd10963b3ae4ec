//! `discover`: trace the path to the targets (or one address), print it, and
//! suggest the ISP hops worth watching as a ready-to-paste `[isp]` section.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::Path as FilePath;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::cli::DiscoverArgs;
use crate::config::{Family, GatewayAddress};
use crate::daemon::config::Config;
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
    let suggestions = suggest_per_family(&traced);
    if args.json {
        let hops: Vec<&Suggestion> = suggestions
            .iter()
            .filter_map(|(_, s)| s.as_ref().ok())
            .flatten()
            .collect();
        let why: serde_json::Map<String, serde_json::Value> = suggestions
            .iter()
            .filter_map(|(f, s)| Some((f.label().to_owned(), json!(s.as_ref().err()?))))
            .collect();
        let doc = json!({
            "schema_version": 2,
            "paths": traced.iter().map(|(n, p)| json!({"target": n, "path": p})).collect::<Vec<_>>(),
            "isp_hops": hops,
            "no_isp_hop_because": why,
        });
        println!("{doc:#}");
    } else {
        print_text(&traced, &suggestions);
    }
    Ok(ExitCode::SUCCESS)
}

/// The gateways and the configured ISP hops: routers a silent hop may be asked about directly.
fn known_routers(config: &Config) -> Vec<IpAddr> {
    let gateways: Vec<IpAddr> = match config.gateway.address {
        GatewayAddress::Ip(ip) => vec![ip],
        GatewayAddress::Auto => Family::ALL
            .into_iter()
            .filter_map(|f| crate::route::default_gateway(f).map(|g| g.addr))
            .collect(),
    };
    gateways
        .into_iter()
        .chain(config.isp.hops.iter().copied())
        .collect()
}

/// The ISP hops each traced family suggests: each family has routers of its
/// own, and the first path of a family that reached its destination says the
/// most about that family's line.
fn suggest_per_family(traced: &[(String, Path)]) -> Vec<(Family, Result<Vec<Suggestion>, String>)> {
    let families: Vec<Family> = Family::ALL
        .into_iter()
        .filter(|f| traced.iter().any(|(_, p)| Family::of(p.dest) == *f))
        .collect();
    if families.is_empty() {
        return vec![(Family::V4, Err("no target to trace".to_owned()))];
    }
    families
        .into_iter()
        .map(|f| {
            let mine = || {
                traced
                    .iter()
                    .map(|(_, p)| p)
                    .filter(|p| Family::of(p.dest) == f)
            };
            let basis = mine().find(|p| p.reached).or(mine().next());
            (
                f,
                basis.map_or_else(
                    || Err("no path".to_owned()),
                    |p| path::isp_hops(p, LAST_ISP_HOP),
                ),
            )
        })
        .collect()
}

fn print_text(
    traced: &[(String, Path)],
    suggestions: &[(Family, Result<Vec<Suggestion>, String>)],
) {
    for (name, p) in traced {
        print!("{}", path::table(p, name, "discover"));
        println!();
    }
    let hops: Vec<(Family, &Suggestion)> = suggestions
        .iter()
        .filter_map(|(f, s)| Some(s.as_ref().ok()?.iter().map(move |h| (*f, h))))
        .flatten()
        .collect();
    let several = suggestions.len() > 1;
    if !hops.is_empty() {
        println!(
            "Suggested [isp] section: hops 2 to {LAST_ISP_HOP} that answered with no loss, in your ISP's network.\n"
        );
        println!("[isp]\nhops = [");
        for (f, h) in &hops {
            let rtt = h
                .avg_ms
                .map_or_else(String::new, |a| format!(", {a:.1} ms"));
            let family = if several {
                format!("{} ", f.name())
            } else {
                String::new()
            };
            println!(
                "    {:<18} # {family}hop {}: {:.0}% loss{rtt}",
                format!("\"{}\",", h.address),
                h.hop,
                h.loss_pct
            );
        }
        println!("]\nprobes = [\"icmp\"]");
    }
    for (f, s) in suggestions {
        if let Err(why) = s {
            let family = if several {
                format!(" over {}", f.name())
            } else {
                String::new()
            };
            println!(
                "No hop qualifies for [isp]{family}: {why}. Without hops, an outage beyond your router is WAN_DOWN (ISP_DOWN needs a hop that answers)."
            );
        }
    }
}
