//! Tests of the live view.

use super::*;
use crate::daemon::config::Config;
use crate::monitor::update::DeliveryNote;

fn config(dir: &std::path::Path, extra: &str) -> Config {
    let text = format!(
        "[monitor]\nstate_dir = \"{}\"\n[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n{extra}",
        dir.display()
    );
    Config::parse(&dir.join("config.toml"), &text).unwrap()
}

const EMAIL: &str = "[notify.email]\nserver = \"mail.example.com\"\nfrom = \"m@example.com\"\nto = [\"a@example.com\"]\n";

#[test]
fn a_scrape_is_encoded_once_until_a_metric_changes() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), EMAIL);
    let live = LiveView::new(&c, &c.features.notify, Utc::now(), true);
    let first = live.metrics_text(Format::Prometheus);
    assert_eq!(
        first.as_ptr(),
        live.metrics_text(Format::Prometheus).as_ptr(),
        "the second scrape reuses the first one's text"
    );
    assert!(
        !String::from_utf8_lossy(&first).contains("notifications_sent_total{channel=\"email\"} 1")
    );
    live.apply(&Update::Delivery(DeliveryNote {
        channel: "email",
        id: "m1".into(),
        error: None,
    }));
    let after = String::from_utf8_lossy(&live.metrics_text(Format::Prometheus)).into_owned();
    assert!(
        after.contains("connectivity_monitor_notifications_sent_total{channel=\"email\"} 1"),
        "{after}"
    );
}

#[test]
fn a_channel_removed_by_a_reload_leaves_the_view_and_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), EMAIL);
    let live = LiveView::new(&c, &c.features.notify, Utc::now(), true);
    assert!(live.view().channels.contains_key("email"));
    let c = config(dir.path(), "");
    live.configure(&c, &c.features.notify);
    assert!(live.view().channels.is_empty());
    let text = String::from_utf8_lossy(&live.metrics_text(Format::Prometheus)).into_owned();
    assert!(!text.contains("channel=\"email\""), "{text}");
}

#[test]
fn the_page_parts_are_kept_once_a_surface_shows_them_and_started_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "");
    let live = LiveView::new(&c, &c.features.notify, Utc::now(), false);
    assert!(!live.page.load(Ordering::Relaxed));
    assert!(live.keep_page(c.monitor.interval, Utc::now()), "started");
    assert!(live.page.load(Ordering::Relaxed));
    assert!(
        !live.keep_page(c.monitor.interval, Utc::now()),
        "already kept: today's figure is not started again"
    );
}
