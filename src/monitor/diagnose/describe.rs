//! The sentence that says where the path broke, e.g. `gateway 192.168.1.1
//! answers; hop 100.64.0.1 silent (timeout); 0/3 targets (down: …)`.

use std::net::IpAddr;

use super::tally::{Known, Member, Tally};
use super::Verdict;
use crate::config::Family;

/// The detail of a check, from the bottom of the path up: with the verdict
/// a family's failure, then each gateway, hop, the targets, DNS, HTTP, loss.
pub fn sentence(
    t: &Tally,
    simulated: bool,
    unverified: &[IpAddr],
    known: &Known,
    (verdict, loss_threshold): (Verdict, f64),
) -> String {
    let mut parts = Vec::new();
    if let Some(words) = family_words(t, verdict) {
        parts.push(words);
    }
    let lan_counts = t.gateway_silence_counts(known);
    let beyond = t.hops.up() > 0 || t.targets.up() > 0;
    let several = t.gateway.members.len() > 1;
    for m in &t.gateway.members {
        parts.push(gateway_words(m, several, beyond, lan_counts));
    }
    parts.extend(hops_words(t, unverified));
    parts.extend(targets_words(t, known));
    match t.dns_ok() {
        Some(true) => parts.push(format!(
            "dns {}/{} servers",
            t.dns.up_strict(),
            t.dns.members.len()
        )),
        Some(false) => parts.push(format!("dns failing: {}", t.dns.why_failing())),
        None => {}
    }
    match t.http_ok() {
        Some(true) => parts.push(format!(
            "http {}/{}",
            t.http.up_strict(),
            t.http.members.len()
        )),
        Some(false) => parts.push(format!("http failing: {}", t.http.why_failing())),
        None => {}
    }
    if let Some(l) = t.loss_pct().filter(|l| *l > 0.0) {
        parts.push(format!("loss {l:.0}%"));
    }
    let excused = verdict == Verdict::Degraded;
    if let Some(l) = t
        .window_loss_pct()
        .filter(|l| excused && *l >= loss_threshold)
    {
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

/// The hops: the first few each by name, answering or silent and why; the
/// rest counted.
fn hops_words(t: &Tally, unverified: &[IpAddr]) -> Vec<String> {
    const NAMED_HOPS: usize = 5;
    let mut parts = Vec::new();
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
    parts
}

/// What a gateway's answer says: it answers; it does not answer ping while
/// something beyond it does (the LAN works); it is silent and that counts; or
/// it is silent and has never answered, so its silence proves nothing.
fn gateway_words(m: &Member, several: bool, beyond: bool, counts: bool) -> String {
    let name = match (m.addr, m.family) {
        (Some(a), _) => format!("gateway {a}"),
        (None, Some(f)) if several => format!("{} gateway", f.name()),
        _ => "gateway".to_owned(),
    };
    let failure = m
        .failure
        .as_ref()
        .map_or_else(|| "no answer".to_owned(), ToString::to_string);
    if m.answered {
        format!("{name} answers")
    } else if beyond {
        format!("{name} ignores ping (something beyond it answers)")
    } else if counts {
        format!("{name} silent ({failure})")
    } else {
        format!(
            "{name} silent ({failure}; it has never answered ping, so its silence proves nothing)"
        )
    }
}

/// `2/3 targets (down: …)`; a family that has never worked here (a host
/// without IPv6) is said once, with why, instead of target by target.
fn targets_words(t: &Tally, known: &Known) -> Vec<String> {
    let unused = Family::ALL.into_iter().find(|f| {
        let (n, up) = t.targets.of_family(*f);
        n > 0 && up == 0 && !known.families.contains(f) && t.targets.of_family(f.other()).0 > 0
    });
    let (up, total) = (t.targets.up(), t.targets.members.len());
    let mut words = format!("{up}/{total} targets");
    let down = t
        .targets
        .why_down_of(|m| unused.is_none() || m.family != unused);
    if !down.is_empty() {
        words.push_str(&format!(" (down: {down})"));
    }
    let mut out = vec![words];
    if let Some(f) = unused {
        let why = t
            .targets
            .members
            .iter()
            .find(|m| m.family == Some(f))
            .and_then(|m| m.failure.as_ref())
            .map_or_else(|| "no answer".to_owned(), ToString::to_string);
        out.push(format!("{} has not worked here yet ({why})", f.name()));
    }
    out
}

/// For IPV4_DOWN and IPV6_DOWN: which family fails and that the other works.
fn family_words(t: &Tally, verdict: Verdict) -> Option<String> {
    let down = match verdict {
        Verdict::Ipv4Down => Family::V4,
        Verdict::Ipv6Down => Family::V6,
        _ => return None,
    };
    let (n, _) = t.targets.of_family(down);
    let (other, other_up) = t.targets.of_family(down.other());
    Some(format!(
        "{} down: 0/{n} {} targets answer, {} works ({other_up}/{other} targets)",
        down.name(),
        down.name(),
        down.other().name()
    ))
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
