//! Alerting: the policy that turns a lasting condition into WARNING, CRITICAL,
//! reminder and RECOVERED messages, and the messages themselves.
//!
//! Every decision is logged (the journal is always a channel) and, through the
//! durable [`Outbox`], sent to each configured channel by its own task.

mod channel;
mod deliver;
pub mod logwatch;
mod message;
mod outbox;
mod policy;

pub use channel::Channel;
pub use deliver::{Notifier, NotifyLog};
pub use message::Message;
pub use outbox::Outbox;
pub use policy::{local, Alerting, Decision, Kind, Level, Policy, Window};

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

impl serde::Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Window", 3)?;
        st.serialize_field("from", &self.from.format("%H:%M").to_string())?;
        st.serialize_field("to", &self.to.format("%H:%M").to_string())?;
        let days: Vec<String> = self
            .days
            .iter()
            .map(|d| d.to_string().to_lowercase())
            .collect();
        st.serialize_field("days", &days)?;
        st.end()
    }
}
