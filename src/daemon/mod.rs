//! The daemon as a composition of parts, and the config it runs on. Each
//! part starts from the config, applies a new config on reload (it alone
//! decides what a change means for it), and stops in the documented order.
//!
//! - [`config`]: the whole config file, the core and every feature's section.
//! - [`pipeline`]: probes → monitor → the update stream, with the durable CSV sinks.
//! - [`alerts`]: the condition [`driver`] and its observers ([`sensors`]:
//!   host sensors and log watches), the outbox and the channels.
//! - [`status`]: systemd's `STATUS=` line and the health-gated watchdog.
//! - [`path`]: path traces on failures and as a baseline; route changes.
//! - [`surfaces`]: the live view ([`live`]: state, history, [`today`]'s
//!   availability, [`metrics`]) and the surfaces that show it, listed below,
//!   each a [`surface::Surface`]: [`serve`] (status page, JSON API with
//!   [`outages`], /metrics; [`conn`] bounds its clients), [`mqtt`] (Home
//!   Assistant, whose entities [`ha`] describes), [`push`] (the metrics to a
//!   remote_write receiver, queued on disk) and [`heartbeat`] (an outside
//!   witness called while the internet works).
//!
//! A new surface is its module here plus one entry in the list below: its
//! section stands at the top of the file, and the surfaces part starts,
//! reloads and stops it. A new part (one that must not lose anything takes
//! a durable queue from the [`Hub`](crate::monitor::Hub)) is added to the
//! list in `cmd::run`.

pub mod alerts;
pub mod config;
pub mod conn;
pub mod driver;
pub mod exposition;
pub mod ha;
pub mod live;
pub mod metrics;
pub mod outages;
pub mod part;
pub mod path;
pub mod pipeline;
pub mod reply;
pub mod sensors;
pub mod status;
#[macro_use]
pub mod surface;
pub mod surfaces;
pub mod today;

// Every live surface: its section's key (also its module) and its type.
surfaces! {
    serve => ServeConfig,
    mqtt => MqttConfig,
    push => PushConfig,
    heartbeat => HeartbeatConfig,
}
