//! Config errors that name the file, the place, the key, the value and the rule.

use std::fmt;
use std::path::PathBuf;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("{}:{location}: {key}: {message}", path.display())]
    Parse {
        path: PathBuf,
        location: Location,
        key: String,
        message: String,
    },
    /// The file parsed, but values break the rules.
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

/// A 1-based line and column in the config file; unknown when a default value broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line, 0 when not known.
    pub line: usize,
    /// 1-based column, 0 when not known.
    pub column: usize,
}

impl Location {
    /// The line and column of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str("(default)")
        } else {
            write!(f, "{}:{}", self.line, self.column)
        }
    }
}

/// One broken rule: which key, which value, and what the rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the value stands in the file.
    pub location: Location,
    /// Dotted key, e.g. `monitor.interval` or `target[2].address`.
    pub key: String,
    /// The offending value as written.
    pub value: String,
    /// The rule it breaks, in words.
    pub rule: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} = {}: {}",
            self.location, self.key, self.value, self.rule
        )
    }
}

fn render_problems(path: &std::path::Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}:{p}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}
