//! Alerting: the policy that turns a lasting condition into WARNING, CRITICAL,
//! reminder and RECOVERED messages, and the messages themselves.
//!
//! Every decision is logged (the journal is always a channel) and, through the
//! durable [`Outbox`], sent to each configured channel by its own task.

mod channel;
pub mod condition;
mod deliver;
pub mod logwatch;
mod message;
mod outbox;
mod policy;

pub use channel::Channel;
pub use condition::{Conditions, Observation};
pub use deliver::{Notifier, NotifyLog, Shared};
pub use message::Message;
pub use outbox::Outbox;
pub use policy::{Alerting, Decision, Kind, Policy};

use crate::config::AlertsConfig;

impl From<&AlertsConfig> for Policy {
    fn from(c: &AlertsConfig) -> Policy {
        Policy {
            warn_after: c.warn_after,
            critical_after: c.critical_after,
            repeat_every: c.repeat_every,
            maintenance: c.maintenance.clone(),
        }
    }
}
