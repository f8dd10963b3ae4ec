//! Maintenance windows: spans of local time in which alerts are held back.

use chrono::{NaiveTime, Weekday};

/// A maintenance window in local time; may cross midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Start, local time of day.
    pub from: NaiveTime,
    /// End, local time of day; before `from` means the next day.
    pub to: NaiveTime,
    /// Days the window starts on; empty is every day.
    pub days: Vec<Weekday>,
}

impl Window {
    /// Whether local time `t` (a weekday and time of day) falls inside.
    pub fn contains(&self, day: Weekday, t: NaiveTime) -> bool {
        let starts_on = |d: Weekday| self.days.is_empty() || self.days.contains(&d);
        if self.from <= self.to {
            starts_on(day) && t >= self.from && t < self.to
        } else {
            // Crosses midnight: the evening part belongs to today, the morning part to yesterday.
            (starts_on(day) && t >= self.from) || (starts_on(day.pred()) && t < self.to)
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
