//! The [`Validator`]: what every section's rules use to turn raw values into
//! typed ones, collecting every broken rule (file place, key, value, rule)
//! rather than stopping at the first.

use std::num::NonZeroU32;
use std::ops::{Range, RangeInclusive};
use std::path::Path;
use std::time::Duration;

use toml::Spanned;
use url::Url;

use super::error::{ConfigError, Location, Problem};
use super::raw::{RawWindow, SpannedStr};
use super::{secret, Secret, Severity, Window};

mod alerts;
mod network;

/// The durations a key takes: wide enough for any real use, narrow enough
/// that no arithmetic on them overflows and no timer is absurd.
pub type Span = RangeInclusive<Duration>;

const SEC: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(86_400);

/// Zero (at once; never) up to 30 days: warn_after, critical_after, repeat_every.
pub const UP_TO_30_DAYS: Span = Duration::ZERO..=Duration::from_secs(30 * 86_400);
/// A second to a day: how often a sensor looks, and the windows it counts in.
pub const SECOND_TO_DAY: Span = SEC..=DAY;
/// A second to 30 days.
pub const SECOND_TO_30_DAYS: Span = SEC..=Duration::from_secs(30 * 86_400);

/// Turns raw values into typed ones, noting every broken rule.
pub struct Validator<'a> {
    text: &'a str,
    problems: Vec<Problem>,
    /// Things worth saying that are not errors.
    notes: Vec<String>,
}

impl<'a> Validator<'a> {
    /// Validates values read from `text`, whose offsets place the problems.
    pub fn new(text: &'a str) -> Validator<'a> {
        Validator {
            text,
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The notes, if no rule was broken; else every problem, against `path`.
    pub fn finish(self, path: &Path) -> Result<Vec<String>, ConfigError> {
        if self.problems.is_empty() {
            Ok(self.notes)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems: self.problems,
            })
        }
    }
}

impl Validator<'_> {
    /// A broken rule: `key = value` at `at` (a byte range of the file; the
    /// default when `None`) breaks `rule`.
    pub fn problem(&mut self, at: Option<Range<usize>>, key: &str, value: &str, rule: &str) {
        self.problems.push(Problem {
            location: at
                .map(|r| Location::of_offset(self.text, r.start))
                .unwrap_or_default(),
            key: key.to_owned(),
            value: value.to_owned(),
            rule: rule.to_owned(),
        });
    }

    /// Something worth saying that breaks no rule (`check-config` prints it).
    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// A name that ends up in CSV cells, journal lines and messages: no line
    /// breaks or other control characters, which would forge lines there.
    pub fn plain_name(&mut self, v: &SpannedStr, key: &str) {
        if v.get_ref().chars().any(char::is_control) {
            self.problem(
                Some(v.span()),
                key,
                &format!("{:?}", v.get_ref().escape_default().to_string()),
                "must not contain line breaks, tabs or other control characters",
            );
        }
    }

    /// An http:// or https:// URL; a bad one is shown redacted in the problem.
    pub fn web_url(&mut self, v: &SpannedStr, key: &str) -> Option<Url> {
        let shown = format!("{:?}", crate::util::redact(v.get_ref()));
        let rule = match Url::parse(v.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => return Some(u),
            Ok(_) => "must be an http:// or https:// URL".to_owned(),
            Err(e) => format!("must be a URL ({e})"),
        };
        self.problem(Some(v.span()), key, &shown, &rule);
        None
    }

    /// One of a fixed set of words; absent is the first.
    pub fn choice<T: Copy>(
        &mut self,
        v: Option<&SpannedStr>,
        key: &str,
        options: &[(&str, T)],
    ) -> T {
        let Some(given) = v else {
            return options[0].1;
        };
        if let Some((_, t)) = options.iter().find(|(w, _)| *w == given.get_ref().as_str()) {
            return *t;
        }
        let words: Vec<String> = options.iter().map(|(w, _)| format!("\"{w}\"")).collect();
        let rule = match words.split_last() {
            Some((last, [])) => format!("must be {last}"),
            Some((last, rest)) => format!("must be {} or {last}", rest.join(", ")),
            None => "has no valid value".into(),
        };
        self.problem(Some(given.span()), key, &quoted(Some(given)), &rule);
        options[0].1
    }

    /// `section.every` and `section.timeout` of a part that calls out on a
    /// period (each from 1 s to a day), or `defaults` for what is not given.
    pub fn period(
        &mut self,
        (every, timeout): (Option<&SpannedStr>, Option<&SpannedStr>),
        section: &str,
        defaults: (Duration, Duration),
    ) -> (Duration, Duration) {
        let mut read = |v, k: &str, default| {
            self.duration(v, &format!("{section}.{k}"), SECOND_TO_DAY)
                .unwrap_or(default)
        };
        (
            read(every, "every", defaults.0),
            read(timeout, "timeout", defaults.1),
        )
    }

    /// A duration within `span`; a problem stating the span otherwise.
    pub fn duration(&mut self, v: Option<&SpannedStr>, key: &str, span: Span) -> Option<Duration> {
        let v = v?;
        let d = match humantime::parse_duration(v.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                self.problem(
                    Some(v.span()),
                    key,
                    &quoted(Some(v)),
                    &format!("must be a duration such as \"10s\" or \"2m\" ({e})"),
                );
                return None;
            }
        };
        if span.contains(&d) {
            return Some(d);
        }
        let (min, max) = span.into_inner();
        let rule = if min.is_zero() {
            format!("must be at most {}", written(max))
        } else {
            format!("must be from {} to {}", written(min), written(max))
        };
        self.problem(Some(v.span()), key, &quoted(Some(v)), &rule);
        None
    }

    /// A whole number from 1 to `max`.
    pub fn count(&mut self, v: Option<&Spanned<i64>>, key: &str, max: u32) -> Option<NonZeroU32> {
        let v = v?;
        match u32::try_from(*v.get_ref()).ok().and_then(NonZeroU32::new) {
            Some(n) if n.get() <= max => Some(n),
            _ => {
                let rule = format!("must be a whole number from 1 to {max}");
                self.problem(Some(v.span()), key, &v.get_ref().to_string(), &rule);
                None
            }
        }
    }

    /// A percentage from 1 to 100; `default` when absent or broken.
    pub fn pct(&mut self, v: Option<&Spanned<i64>>, key: &str, default: u8) -> u8 {
        let Some(v) = v else { return default };
        match u8::try_from(*v.get_ref()) {
            Ok(p @ 1..=100) => p,
            _ => {
                self.problem(
                    Some(v.span()),
                    key,
                    &v.get_ref().to_string(),
                    "must be a whole percentage from 1 to 100",
                );
                default
            }
        }
    }

    /// A TCP port; `default` when absent or broken.
    pub fn port(&mut self, v: Option<&Spanned<i64>>, key: &str, default: u16) -> u16 {
        let Some(p) = v else { return default };
        match u16::try_from(*p.get_ref()) {
            Ok(port) if port > 0 => port,
            _ => {
                self.problem(
                    Some(p.span()),
                    key,
                    &p.get_ref().to_string(),
                    "must be a port from 1 to 65535",
                );
                default
            }
        }
    }

    /// `WARNING` or `CRITICAL`, written `warning` or `critical`; absent is warning.
    pub fn severity(&mut self, v: Option<&SpannedStr>, key: &str) -> Severity {
        self.choice(
            v,
            key,
            &[
                ("warning", Severity::Warning),
                ("critical", Severity::Critical),
            ],
        )
    }

    /// A secret given as `key` or as `key_file` (a path, or a systemd
    /// credential name); absent is a problem if it is `required`.
    pub fn secret(
        &mut self,
        key: &str,
        inline: Option<SpannedStr>,
        file: Option<SpannedStr>,
        required: bool,
    ) -> Option<Secret> {
        match (inline, file) {
            (Some(_), Some(f)) => {
                let rule = format!("give {key} or {key}_file, not both");
                self.problem(
                    Some(f.span()),
                    &format!("{key}_file"),
                    &quoted(Some(&f)),
                    &rule,
                );
                None
            }
            (Some(v), None) => Some(secret::inline(v.get_ref())),
            (None, Some(f)) => self.secret_file(key, &f),
            (None, None) => {
                if required {
                    let rule = format!("is required: give {key} or {key}_file");
                    self.problem(None, key, "(none)", &rule);
                }
                None
            }
        }
    }

    /// The secret in the file `f` names, or the credential it names, kept
    /// pending outside systemd (with a note saying so).
    fn secret_file(&mut self, key: &str, f: &SpannedStr) -> Option<Secret> {
        let Some(path) = secret::secret_path(f.get_ref()) else {
            let name = f.get_ref();
            self.note(format!(
                "{key}_file = {name:?} is a systemd credential: the service reads it from $CREDENTIALS_DIRECTORY (LoadCredential={name}:/path/to/file in the unit); it cannot be read here"
            ));
            return Some(secret::pending(name));
        };
        match secret::read_secret(&path) {
            Ok(s) => Some(s),
            Err(rule) => {
                self.problem(
                    Some(f.span()),
                    &format!("{key}_file"),
                    &quoted(Some(f)),
                    &rule,
                );
                None
            }
        }
    }

    /// Maintenance windows under `prefix` (e.g. `alerts.maintenance`).
    pub fn windows(&mut self, raw: Vec<RawWindow>, prefix: &str) -> Vec<Window> {
        let mut out = Vec::new();
        for (i, w) in raw.into_iter().enumerate() {
            let key = |k: &str| format!("{prefix}[{i}].{k}");
            let from = self.time_of_day(&w.from, &key("from"));
            let to = self.time_of_day(&w.to, &key("to"));
            let days = w
                .days
                .unwrap_or_default()
                .iter()
                .filter_map(|d| self.weekday(d, &key("days")))
                .collect();
            if let (Some(from), Some(to)) = (from, to) {
                if from == to {
                    self.problem(
                        Some(w.to.span()),
                        &key("to"),
                        &quoted(Some(&w.to)),
                        "must differ from `from` (a window may cross midnight)",
                    );
                }
                out.push(Window { from, to, days });
            }
        }
        out
    }

    fn weekday(&mut self, d: &SpannedStr, key: &str) -> Option<chrono::Weekday> {
        let day = d.get_ref().parse::<chrono::Weekday>().ok();
        if day.is_none() {
            self.problem(
                Some(d.span()),
                key,
                &quoted(Some(d)),
                "must be a weekday: mon, tue, wed, thu, fri, sat or sun",
            );
        }
        day
    }

    fn time_of_day(&mut self, v: &SpannedStr, key: &str) -> Option<chrono::NaiveTime> {
        let t = chrono::NaiveTime::parse_from_str(v.get_ref(), "%H:%M").ok();
        if t.is_none() {
            self.problem(
                Some(v.span()),
                key,
                &quoted(Some(v)),
                "must be a local time of day as HH:MM",
            );
        }
        t
    }
}

/// A value as a problem shows it: quoted, or `(default)` when not given.
pub fn quoted(v: Option<&SpannedStr>) -> String {
    v.map_or_else(|| "(default)".to_owned(), |s| format!("{:?}", s.get_ref()))
}

/// A round duration as it is written in the file: `100ms`, `1m`, `30d`.
fn written(d: Duration) -> String {
    let ms = d.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    units
        .iter()
        .find(|(n, _)| ms.is_multiple_of(*n))
        .map_or_else(|| format!("{ms}ms"), |(n, u)| format!("{}{u}", ms / n))
}
