//! The publishing side of one `[mqtt]` section: the connection, driven by a
//! task of its own that does nothing else (so a connection attempt is never
//! abandoned half-way and retried at once), and the session that announces
//! Home Assistant's entities and publishes their states.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::daemon::ha::{self, Names};
use crate::daemon::live::{LiveView, View};
use crate::util::Backoff;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// A connection that lasted this long starts the backoff over when it drops.
const STABLE: Duration = Duration::from_secs(60);
/// How long the broker may take to acknowledge one discovery config, on top of a minute.
const ACK_TIME_PER_CONFIG: Duration = Duration::from_millis(20);

/// What the connection task tells the publisher.
enum Link {
    Up,
    Down(String),
    HomeAssistantOnline,
}

/// Drives the connection: polls it and nothing else, retries with backoff,
/// counts the broker's acknowledgements in `acks`.
async fn drive(
    mut eventloop: rumqttc::EventLoop,
    ha_status: String,
    link: mpsc::Sender<Link>,
    acks: watch::Sender<u64>,
    token: CancellationToken,
) {
    let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
    let mut up_since = None;
    loop {
        let event = tokio::select! {
            _ = token.cancelled() => break,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                up_since = Some(tokio::time::Instant::now());
                let _ = link.send(Link::Up).await;
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => acks.send_modify(|n| *n += 1),
            Ok(Event::Incoming(Packet::Publish(p)))
                if p.topic == ha_status && p.payload.as_ref() == b"online" =>
            {
                let _ = link.send(Link::HomeAssistantOnline).await;
            }
            Ok(_) => {}
            Err(e) => {
                if up_since.take().is_some_and(|t| t.elapsed() >= STABLE) {
                    backoff.succeeded();
                }
                let wait = backoff.failed(None);
                let _ = link
                    .send(Link::Down(format!(
                        "{e}; next attempt in {}",
                        humantime::format_duration(wait)
                    )))
                    .await;
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    // The last requests (`offline`, the disconnect) still go out.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while eventloop.poll().await.is_ok() {}
    })
    .await;
}

/// The publishing side of one `[mqtt]` section.
pub(super) struct Session {
    client: AsyncClient,
    /// The names announced; a reload's new ones come through `names`.
    current: Names,
    names: watch::Receiver<Names>,
    view: std::sync::Arc<LiveView>,
    checks: watch::Receiver<u64>,
    /// The states as last queued, so that only changes are sent.
    last: std::collections::BTreeMap<String, String>,
    announcer: Option<JoinHandle<()>>,
}

impl Session {
    /// Publishes the view through `client` under the names `names` holds.
    pub(super) fn new(
        client: AsyncClient,
        names: watch::Receiver<Names>,
        view: std::sync::Arc<LiveView>,
        checks: watch::Receiver<u64>,
    ) -> Session {
        let current = names.borrow().clone();
        Session {
            client,
            current,
            names,
            view,
            checks,
            last: Default::default(),
            announcer: None,
        }
    }

    /// Runs until `token` is cancelled: then says `offline` and disconnects.
    pub(super) async fn run(mut self, eventloop: rumqttc::EventLoop, token: CancellationToken) {
        let (link_tx, mut link) = mpsc::channel(16);
        let (acks_tx, acks) = watch::channel(0);
        let ha_status = self.current.ha_status();
        let driver = tokio::spawn(drive(eventloop, ha_status, link_tx, acks_tx, token.clone()));
        let refresh = Duration::from_secs(self.current.expire_after / 2);
        // Unchanged states are sent again now and then, or Home Assistant's
        // `expire_after` would call a steady line unavailable.
        let mut refreshed = tokio::time::Instant::now();
        let mut down_since: Option<std::time::Instant> = None;
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                changed = self.checks.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let all = refreshed.elapsed() >= refresh;
                    if all {
                        refreshed = tokio::time::Instant::now();
                    }
                    self.publish_states(&self.view.view(), all);
                }
                changed = self.names.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let new = self.names.borrow_and_update().clone();
                    let gone = self.current.gone_in(&new);
                    self.current = new;
                    self.announce(gone, &acks);
                }
                l = link.recv() => match l {
                    Some(Link::Up) => {
                        if let Some(since) = down_since.take() {
                            tracing::info!("MQTT broker reachable again after {}", crate::timefmt::spelled(since.elapsed()));
                        }
                        let status = self.current.ha_status();
                        let _ = self.client.try_subscribe(status, QoS::AtLeastOnce);
                        self.announce(Vec::new(), &acks);
                    }
                    Some(Link::HomeAssistantOnline) => self.announce(Vec::new(), &acks),
                    Some(Link::Down(why)) => {
                        self.interrupt();
                        if down_since.is_none() {
                            tracing::warn!("MQTT broker unreachable ({why}); retrying with backoff, monitoring goes on");
                            down_since = Some(std::time::Instant::now());
                        }
                    }
                    None => break,
                },
            }
        }
        self.interrupt();
        // A clean stop says so at once rather than by the last will.
        let availability = self.current.availability();
        let _ = self
            .client
            .try_publish(availability, QoS::AtLeastOnce, true, "offline");
        let _ = self.client.try_disconnect();
        let _ = driver.await;
    }

    /// Stops an announcement under way.
    fn interrupt(&mut self) {
        if let Some(a) = self.announcer.take() {
            a.abort();
        }
    }

    /// Clears `gone`, then publishes every discovery config and `online`,
    /// each waiting for room, and logs whether the broker acknowledged them all;
    /// then every state.
    fn announce(&mut self, gone: Vec<String>, acks: &watch::Receiver<u64>) {
        self.interrupt();
        let names = &self.current;
        let mut messages: Vec<(String, String)> =
            gone.into_iter().map(|t| (t, String::new())).collect();
        let entities = ha::discovery(names);
        let count = entities.len();
        messages.extend(entities.into_iter().map(|(t, c)| (t, c.to_string())));
        messages.push((names.availability(), "online".into()));
        let client = self.client.clone();
        let mut acks = acks.clone();
        self.last.clear();
        self.publish_states(&self.view.view(), true);
        self.announcer = Some(tokio::spawn(async move {
            let from = *acks.borrow_and_update();
            let total = messages.len() as u64;
            for (topic, payload) in messages {
                if client
                    .publish(topic, QoS::AtLeastOnce, true, payload)
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let limit = Duration::from_secs(60) + ACK_TIME_PER_CONFIG * total as u32;
            let done = tokio::time::timeout(limit, acks.wait_for(|n| *n >= from + total))
                .await
                .is_ok_and(|r| r.is_ok());
            if done {
                tracing::info!(
                    "Home Assistant discovery: {count} entities announced, every config acknowledged by the broker"
                );
            } else {
                tracing::warn!(
                    "Home Assistant discovery: {} of {total} messages acknowledged by the broker within {}; \
                     the rest are announced again at the next connection",
                    acks.borrow().saturating_sub(from),
                    humantime::format_duration(limit)
                );
            }
        }));
    }

    /// The states that changed since they were last queued (all of them with `all`).
    fn publish_states(&mut self, view: &View, all: bool) {
        let names = &self.current;
        for (what, value) in ha::states(names, view) {
            if !all && self.last.get(&what) == Some(&value) {
                continue;
            }
            if self
                .client
                .try_publish(names.state(&what), QoS::AtMostOnce, true, value.clone())
                .is_ok()
            {
                self.last.insert(what, value);
            }
        }
    }
}
