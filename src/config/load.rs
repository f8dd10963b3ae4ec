//! The loader's shared part: which file, its text, and serde's reading of it
//! into raw structs, with every error naming the file, the place and the key.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::error::{ConfigError, Location};

/// Where the daemon looks for its config when no `-c` is given.
pub const DEFAULT_PATH: &str = "/etc/connectivity-monitor/config.toml";

/// The file to read and its text: `explicit` if given, else [`DEFAULT_PATH`]
/// if it exists; `None` when neither is there (the built-in default runs).
pub fn read(explicit: Option<&Path>) -> Result<Option<(&Path, String)>, ConfigError> {
    let path = match explicit {
        Some(p) => p,
        None if Path::new(DEFAULT_PATH).exists() => Path::new(DEFAULT_PATH),
        None => return Ok(None),
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Some((path, text)))
}

/// Reads TOML `text` into `R`; an error names `path`, the line and column,
/// and the dotted key, and never echoes a secret.
pub fn deserialize<R: DeserializeOwned>(path: &Path, text: &str) -> Result<R, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // Spanned values add a private segment to the path; it is not a key of the file.
        let key = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let offset = inner.span().map(|s| s.start);
        let location = offset
            .map(|o| Location::of_offset(text, o))
            .unwrap_or_default();
        // A value TOML itself refuses (a number too large) has no serde path:
        // the key is read from the file at the error's place.
        let key = match (key.as_str(), offset) {
            (".", Some(o)) => key_at(text, o).unwrap_or_else(|| "(top level)".into()),
            (".", None) => "(top level)".into(),
            _ => key,
        };
        // A secret's value must never be echoed, not even in a type error.
        let message = if is_secret_key(&key) {
            "must be a string (the value is not shown: it is a secret)".to_owned()
        } else {
            inner.message().trim().to_owned()
        };
        ConfigError::Parse {
            path: path.to_owned(),
            location,
            key,
            message,
        }
    })
}

/// `section.key` of the `key = value` line at byte `offset`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim();
    let section = before[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[')
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    });
    Some(match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_owned(),
    })
}

/// Whether `key` (a dotted path) holds a secret: a password, a token or a
/// webhook URL, whatever section it stands in, or the heartbeat's URL.
fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    key == "heartbeat.url"
        || ["password", "token", "webhook_url"]
            .iter()
            .any(|s| last == *s || last.ends_with(&format!("_{s}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_known_by_their_names_in_any_section() {
        for key in [
            "notify.email.password",
            "notify.telegram.bot_token",
            "notify.teams.webhook_url",
            "serve.basic_auth_password",
            "notify.ntfy.token",
            "mqtt.password",
            "push.bearer_token",
            "heartbeat.url",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "notify.email.username",
            "serve.basic_auth_user",
            "tokens",
            "mqtt.url",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }
}
