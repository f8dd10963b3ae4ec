//! The sentence that says where the path broke, e.g. `gateway 192.168.1.1
//! answers; hop 100.64.0.1 silent (timeout); 0/3 targets (down: …)`.

use std::net::IpAddr;

use super::tally::Tally;

/// The detail of a check, from the bottom of the path up. `gateway_counts`:
/// whether a silent gateway means the LAN is down (see `Tally::gateway_silence_counts`).
pub fn sentence(
    t: &Tally,
    simulated: bool,
    unverified: &[IpAddr],
    gateway_counts: bool,
    loss_threshold: f64,
) -> String {
    let mut parts = Vec::new();
    if let Some(gateway) = gateway_words(t, gateway_counts) {
        parts.push(gateway);
    }
    const NAMED_HOPS: usize = 5;
    for (hop, ip) in t.hops.members.iter().zip(&t.hop_ips).take(NAMED_HOPS) {
        let name = &hop.name;
        if hop.answered {
            parts.push(format!("hop {name} answers"));
        } else {
            let mut why: Vec<String> = hop.failure.iter().map(ToString::to_string).collect();
            if unverified.contains(ip) {
                why.push("never answered while the internet worked".into());
            }
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            };
            parts.push(format!("hop {name} silent{why}"));
        }
    }
    if let Some(rest) = t.hops.members.get(NAMED_HOPS..).filter(|r| !r.is_empty()) {
        let answering = rest.iter().filter(|m| m.answered).count();
        parts.push(format!("{} more hops ({answering} answer)", rest.len()));
    }
    let (up, total) = (t.targets.up(), t.targets.members.len());
    let mut targets = format!("{up}/{total} targets");
    if up < total {
        targets.push_str(&format!(" (down: {})", t.targets.why_down()));
    }
    parts.push(targets);
    match t.dns_ok() {
        Some(true) => parts.push(format!(
            "dns {}/{} servers",
            t.dns.up_strict(),
            t.dns.members.len()
        )),
        Some(false) => parts.push(format!("dns failing: {}", t.dns.why_down())),
        None => {}
    }
    match t.http_ok() {
        Some(true) => parts.push(format!(
            "http {}/{}",
            t.http.up_strict(),
            t.http.members.len()
        )),
        Some(false) => parts.push(format!("http failing: {}", t.http.why_down())),
        None => {}
    }
    if let Some(l) = t.loss_pct().filter(|l| *l > 0.0) {
        parts.push(format!("loss {l:.0}%"));
    }
    if let Some(l) = t.window_loss_pct().filter(|l| *l >= loss_threshold) {
        let timed_out: Vec<&str> = [("dns", &t.dns), ("http", &t.http)]
            .iter()
            .filter(|(_, g)| !g.is_empty() && g.up_strict() == 0 && g.only_timeouts())
            .map(|(n, _)| *n)
            .collect();
        if !timed_out.is_empty() {
            parts.push(format!(
                "{} timing out under {l:.0}% loss over the last {} checks: DEGRADED, not a service outage",
                timed_out.join(" and "),
                super::LOSS_WINDOW_CHECKS
            ));
        }
    }
    if simulated {
        parts.push("simulated".into());
    }
    cap(parts.join("; "))
}

/// What the gateway's answer says: it answers; it does not answer ping while
/// something beyond it does (the LAN works); it is silent and has never
/// answered (its silence proves nothing); or it is silent and that counts.
fn gateway_words(t: &Tally, counts: bool) -> Option<String> {
    if t.gateway.is_empty() {
        return None;
    }
    let name = t
        .gateway_addr
        .map_or_else(|| "gateway".to_owned(), |a| format!("gateway {a}"));
    Some(if t.gateway.up() > 0 {
        format!("{name} answers")
    } else if t.hops.up() > 0 || t.targets.up() > 0 {
        format!("{name} ignores ping (something beyond it answers)")
    } else if counts {
        format!("{name} silent ({})", t.gateway.first_failure())
    } else {
        format!(
            "{name} silent ({}; it has never answered ping, so its silence proves nothing)",
            t.gateway.first_failure()
        )
    })
}

/// The most a detail may hold; whatever the config, a CSV row stays small.
pub const MAX_DETAIL: usize = 1024;

fn cap(mut s: String) -> String {
    if s.len() > MAX_DETAIL {
        let mut end = MAX_DETAIL - "…".len();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}
