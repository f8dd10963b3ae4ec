//! Claims: the fault tickets the user raised with the ISP and the
//! compensation they earn.
//!
//! - [`config`]: `[claim]`, the rule (`uk-ofcom`, `de-tkg58`, `none`) and its amounts;
//! - [`faults`]: `faults.csv`, its tickets, and the records `fault open|close` may add;
//! - [`clock`]: the deadlines and the days owed, pure;
//! - [`rules`]: each rule in words, with its source;
//! - [`watch`]: the daemon's view of the open tickets: the alert when one
//!   passes its deadline, and the list the status page shows.
//!
//! Whom an outage counts against is the monitor's one rule
//! ([`Layer::side`](crate::monitor::Layer::side)); a day of total loss is a
//! day with an outage against the ISP that cut off both families: one
//! family down while the other works (IPV4_DOWN, IPV6_DOWN) is counted
//! against the ISP, but it is no total loss of service.

pub mod clock;
pub mod config;
pub mod faults;
pub mod rules;
pub mod watch;

pub use config::{ClaimConfig, Money, Rule};
pub use faults::{Faults, Ticket};

use crate::monitor::{Layer, Side, Verdict};

/// Whether an outage recorded with `cause` (`WAN_DOWN`, …) is total loss
/// against the ISP: nothing beyond the line answered, in either family. A
/// cause this version does not know is not.
pub fn total_loss(cause: &str) -> bool {
    Verdict::ALL
        .iter()
        .find(|v| v.as_str() == cause)
        .and_then(|v| v.layer())
        .is_some_and(|l| l.side() == Side::Isp && !matches!(l, Layer::Ipv4 | Layer::Ipv6))
}

#[cfg(test)]
mod tests {
    #[test]
    fn total_loss_is_an_outage_against_the_isp_of_both_families_and_nothing_else() {
        for cause in ["ISP_DOWN", "WAN_DOWN"] {
            assert!(super::total_loss(cause), "{cause}");
        }
        for cause in [
            "IPV4_DOWN",
            "IPV6_DOWN",
            "LAN_DOWN",
            "DNS_FAIL",
            "HTTP_FAIL",
            "DEGRADED",
            "OK",
            "MOON_DOWN",
        ] {
            assert!(!super::total_loss(cause), "{cause}");
        }
    }
}
