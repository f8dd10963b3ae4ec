//! Alerting: the policy that turns a lasting condition into WARNING, CRITICAL,
//! reminder and RECOVERED messages, and the messages themselves.
//!
//! Every condition (an outage, a silent log, a host sensor's threshold) keeps
//! its progress in [`Conditions`], under the policy. Every decision is put in
//! the durable [`Outbox`], then logged (the journal is always a channel), and
//! sent to each configured channel by its own task.
//!
//! A new channel is its module in `channel/` plus one line in
//! `channel/list.rs`.

#[macro_use]
pub mod channel;
pub mod condition;
mod deliver;
mod message;
mod notifylog;
mod outbox;
mod policy;
mod spool;

pub use channel::{Channel, NotifyConfig};
pub use condition::{Conditions, Observation};
pub use deliver::{Notifier, Shared};
pub use message::Message;
pub use notifylog::NotifyLog;
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
