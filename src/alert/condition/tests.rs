use super::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn policy() -> Policy {
    Policy {
        warn_after: Duration::from_secs(10),
        critical_after: Duration::from_secs(100),
        repeat_every: Duration::ZERO,
        maintenance: Vec::new(),
    }
}

fn active(id: &str, now: i64) -> Observation {
    Observation {
        id: id.into(),
        name: id.to_uppercase(),
        now: t(now),
        state: ConditionState::Active {
            since: t(0),
            detail: "d".into(),
            level: None,
        },
    }
}

fn cleared(id: &str, now: i64) -> Observation {
    Observation {
        state: ConditionState::Cleared {
            at: t(now),
            detail: "d".into(),
        },
        ..active(id, now)
    }
}

fn kinds(c: &mut Conditions, obs: &[Observation]) -> Vec<Kind> {
    let got = obs
        .iter()
        .filter_map(|o| c.observe(&policy(), o).map(|(d, _)| d.kind))
        .collect();
    c.save();
    got
}

#[test]
fn one_driver_escalates_and_recovers_each_condition_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Conditions::load(dir.path().into(), |_| true);
    let got = kinds(
        &mut c,
        &[
            active("a", 5),
            active("a", 10),
            active("b", 20),
            active("a", 100),
            cleared("a", 110),
            cleared("b", 120),
            cleared("c", 130),
        ],
    );
    use Severity::*;
    assert_eq!(
        got,
        vec![
            Kind::Alert(Warning),
            Kind::Alert(Warning),
            Kind::Alert(Critical),
            Kind::Recovered(Critical),
            Kind::Recovered(Warning),
        ]
    );
    assert!(c.ids().is_empty());
}

#[test]
fn a_restart_neither_repeats_the_alert_nor_loses_its_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Conditions::load(dir.path().into(), |_| true);
    assert_eq!(kinds(&mut c, &[active("a", 10)]).len(), 1);
    drop(c);
    let mut c = Conditions::load(dir.path().into(), |_| true);
    assert!(c.holds("a"));
    assert!(
        kinds(&mut c, &[active("a", 20)]).is_empty(),
        "no second WARNING"
    );
    let (_, msg) = c.observe(&policy(), &cleared("a", 30)).unwrap();
    assert_eq!(msg.label(), "RECOVERED");
    assert_eq!(msg.lasted_secs, 30, "measured from the first start");
    c.save();
    drop(c);
    assert!(!Conditions::load(dir.path().into(), |_| true).holds("a"));
}

#[test]
fn a_condition_that_raised_nothing_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Conditions::load(dir.path().into(), |_| true);
    assert!(kinds(&mut c, &[active("a", 1)]).is_empty());
    assert!(!dir.path().join(FILE).exists());
}

fn raised(id: &str) -> (String, Alerting) {
    let mut a = Alerting::new(t(0));
    a.raised = Some(Severity::Warning);
    a.name = Some(id.to_uppercase());
    (id.to_owned(), a)
}

fn asides(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("alerts.json.bad-"))
        .collect();
    v.sort();
    v
}

#[test]
fn unknown_conditions_are_set_aside_whole_and_the_known_kept() {
    // Regression: 300,000 unknown conditions were replayed one by one at
    // start, each rewriting the file: ten minutes without a check.
    let dir = tempfile::tempdir().unwrap();
    let mut all: BTreeMap<String, Alerting> =
        (0..5_000).map(|i| raised(&format!("bogus:{i}"))).collect();
    all.extend([raised("outage")]);
    let text = serde_json::to_vec(&all).unwrap();
    std::fs::write(dir.path().join(FILE), &text).unwrap();
    let started = std::time::Instant::now();
    let c = Conditions::load(dir.path().into(), |id| !id.starts_with("bogus:"));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(
        c.ids(),
        vec![("outage".to_owned(), Some("OUTAGE".to_owned()))]
    );
    let aside = asides(dir.path());
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read(dir.path().join(&aside[0])).unwrap(),
        text,
        "kept whole"
    );
    let now: BTreeMap<String, Alerting> =
        serde_json::from_slice(&std::fs::read(dir.path().join(FILE)).unwrap()).unwrap();
    assert_eq!(now.keys().collect::<Vec<_>>(), ["outage"]);
}

#[test]
fn an_oversized_or_corrupt_file_is_set_aside_unread_and_never_over_an_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE);
    std::fs::write(&file, vec![b' '; (MAX_FILE_BYTES + 1) as usize]).unwrap();
    assert!(Conditions::load(dir.path().into(), |_| true)
        .ids()
        .is_empty());
    std::fs::write(&file, b"{").unwrap();
    assert!(Conditions::load(dir.path().into(), |_| true)
        .ids()
        .is_empty());
    assert_eq!(asides(dir.path()).len(), 2, "both kept");
    assert!(!file.exists(), "nothing to write: a fresh start");
}
