//! The notification channels, each a module of its own holding its
//! `[notify.*]` section (raw, rules, typed) and how it sends a message;
//! `list.rs` names them all once. From that list come `[notify]`'s section
//! ([`NotifyConfig`]), the [`Channel`] the delivery tasks run, and
//! `--channel`'s names.
//!
//! Each channel sends one message and says plainly why it could not; the
//! delivery task decides about retries. Secrets (a bot token, a webhook URL)
//! can be part of request URLs, so no error ever shows a URL.

use std::time::Duration;

use serde::{Serialize, Serializer};

use super::message::Message;
use crate::config::raw::SpannedStr;
use crate::config::{Section, Severity, Span, Validator};
use send::ChannelKind;
pub use send::SendError;

#[macro_use]
mod list;
mod send;

/// `[notify] max_age`: an undelivered notification older than this is
/// given up, loudly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge(pub Duration);

const MAX_AGE: Span = Duration::from_secs(1)..=Duration::from_secs(365 * 86_400);

impl Section for MaxAge {
    type Raw = SpannedStr;

    fn read(raw: Option<SpannedStr>, v: &mut Validator<'_>, key: &str) -> MaxAge {
        let week = Duration::from_secs(7 * 24 * 3600);
        MaxAge(v.duration(raw.as_ref(), key, MAX_AGE).unwrap_or(week))
    }
}

impl Serialize for MaxAge {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::config::ser_duration(&self.0, s)
    }
}

/// The channel modules, `[notify]` and [`Channel`], from the list.
macro_rules! channels {
    ($($key:ident => $Variant:ident($Type:ident),)*) => {
        $( pub mod $key; )*
        $( pub use $key::$Type; )*

        sections! {
            /// `[notify]`: how long a notification may wait, and the channels.
            pub struct NotifyConfig / RawNotify {
                max_age: MaxAge,
                $(
                    #[doc = concat!("`[notify.", stringify!($key), "]`")]
                    $key: Option<$Type>,
                )*
            }
        }

        /// A configured, enabled channel.
        #[derive(Debug, Clone)]
        pub enum Channel {
            $(
                #[doc = concat!("`[notify.", stringify!($key), "]`")]
                $Variant($Type),
            )*
        }

        impl Channel {
            /// The enabled channels of `config`.
            pub fn all(config: &NotifyConfig) -> Vec<Channel> {
                let mut out = Vec::new();
                $(
                    if let Some(c) = config.$key.as_ref().filter(|c| c.enabled()) {
                        out.push(Channel::$Variant(c.clone()));
                    }
                )*
                out
            }

            /// Its name in logs, folders and `--channel`.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Channel::$Variant(_) => stringify!($key), )*
                }
            }

            /// The lowest severity it gets.
            pub fn min_severity(&self) -> Severity {
                match self {
                    $( Channel::$Variant(c) => c.min_severity(), )*
                }
            }

            /// Sends `msg` once.
            pub async fn send(&self, http: &crate::probe::SharedClient, msg: &Message) -> Result<(), SendError> {
                match self {
                    $( Channel::$Variant(c) => c.send(http, msg).await, )*
                }
            }
        }
    };
}

channel_list!(channels);

#[cfg(test)]
mod tests {
    use super::teams::TeamsFormat;
    use super::*;
    use crate::alert::Kind;

    #[test]
    fn an_attacker_s_user_name_is_no_link_or_markup_in_any_channel() {
        // Regression: `[link](https://evil.example)` as a user name survived
        // into the Teams card as a link.
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let line = b"Failed password for invalid user [link](https://evil.example) from 192.0.2.1 port 1 ssh2";
        let user = crate::sensor::ssh::failure::parse(line, at).unwrap().user;
        let msg = Message::from_decision(
            Kind::Alert(Severity::Warning),
            "SSH_FAILURES",
            at,
            Duration::ZERO,
            at,
            &format!("11 failed SSH logins in 5m (max 10): from 192.0.2.1 ×11; users {user} ×11"),
        );
        let bodies = [
            (
                "teams workflows",
                teams::payload(TeamsFormat::Workflows, &msg).to_string(),
            ),
            (
                "teams messagecard",
                teams::payload(TeamsFormat::Messagecard, &msg).to_string(),
            ),
            ("telegram", telegram::payload("7", &msg).to_string()),
            ("email", msg.text()),
        ];
        for (channel, body) in bodies {
            assert!(body.contains("x5blink"), "{channel}: {body}");
            for bad in ["](", "://evil", "[link", "evil.example"] {
                assert!(!body.contains(bad), "{channel} holds {bad:?}: {body}");
            }
        }
    }
}
