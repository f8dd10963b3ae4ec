//! The whole config file: the core sections ([`Core`], which every part
//! reads), the sections the features own, listed once in [`Features`], and
//! the live surfaces' (listed in `daemon/mod.rs`). Each feature's module
//! holds its section's raw form, its rules and its typed form; a list names
//! them, so that a new section is its module plus one entry. The whole file
//! lives here, above every feature, so that `config` (what they all share)
//! depends on none of them and none of them on anything above its layer.
//!
//! The words a `probes = [...]` list takes are the probe kinds', handed to
//! the core's rules from here (`probe::PROBE_WORDS`), so that `config`
//! keeps the words and `probe` what they mean.
//!
//! The file is read in one pass: each top-level key goes to the core, a
//! feature or a surface ([`Spliced`]), every value keeps its place in the
//! file, and a key nobody takes is refused. It is then validated whole,
//! every broken rule said at once.

use std::ops::Deref;
use std::path::Path;

use serde::Serialize;

use super::{RawSurfaces, SurfacesConfig};
use crate::alert::NotifyConfig;
use crate::claim::ClaimConfig;
use crate::config::raw::RawCore;
use crate::config::{self, ConfigError, Core, Section, Source, Spliced, Validator};
use crate::sensor::logwatch::LogWatchConfig;
use crate::sensor::SensorsConfig;

sections! {
    /// The sections the features own, at the top of the file beside the core ones.
    pub struct Features / RawFeatures {
        /// `[notify]`: the channels alerts go to.
        notify: NotifyConfig,
        /// `[[log_watch]]`: logs that must keep growing.
        log_watch: Vec<LogWatchConfig>,
        /// `[sensors]`: the host itself.
        sensors: SensorsConfig,
        /// `[claim]`: the compensation rule fault tickets are counted under.
        claim: ClaimConfig,
    }
}

/// The file as written: the core sections, the features' and the
/// surfaces', side by side.
pub type RawFile = Spliced<(RawCore, (RawFeatures, RawSurfaces))>;

/// The validated configuration the daemon runs on. It reads as its core
/// (`config.monitor`, `config.targets`: what nearly every part wants), and
/// the features' sections are `config.features`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Where this config came from.
    #[serde(skip)]
    pub source: Source,
    /// The core sections.
    #[serde(flatten)]
    pub core: Core,
    /// The features' sections; secrets are redacted when shown.
    #[serde(flatten)]
    pub features: Features,
    /// The live surfaces' sections (listed in `daemon/mod.rs`).
    #[serde(flatten)]
    pub surfaces: SurfacesConfig,
    /// What `check-config` should say besides "valid" (credentials it cannot read here).
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Deref for Config {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Config {
    /// Loads `explicit` if given, else [`config::DEFAULT_PATH`] if it exists,
    /// else the built-in default.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match config::load::read(explicit)? {
            Some((path, text)) => Config::parse(path, &text),
            None => Ok(Config::built_in()),
        }
    }

    /// Parses and validates `text`, naming `path` in every error.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw = config::load::deserialize::<RawFile>(path, text)?;
        let Spliced((core, (features, surfaces))) = raw;
        let mut v = Validator::new(text);
        let core = v.core(core, &crate::probe::PROBE_WORDS);
        let features = Features::read(Some(features), &mut v, "");
        let surfaces = SurfacesConfig::read(Some(surfaces), &mut v, "");
        let notes = v.finish(path)?;
        Ok(Config {
            source: Source::File(path.to_owned()),
            core,
            features,
            surfaces,
            notes,
        })
    }

    /// The built-in default: gateway from the default route, three public
    /// resolvers as ICMP, TCP/443 and DNS targets, one HTTPS check, no feature.
    pub fn built_in() -> Config {
        let mut none = Validator::new("");
        Config {
            source: Source::BuiltIn,
            core: Core::built_in(),
            features: Features::read(None, &mut none, ""),
            surfaces: SurfacesConfig::read(None, &mut none, ""),
            notes: Vec::new(),
        }
    }

    /// The secrets given as systemd credential names that cannot be read
    /// here, as `(section, credential name)`, e.g. `("email", "smtp")`.
    pub fn pending_credentials(&self) -> Vec<(&'static str, &str)> {
        let mut secrets = Vec::new();
        self.features.secrets("", &mut secrets);
        self.surfaces.secrets("", &mut secrets);
        secrets
            .into_iter()
            .filter_map(|(section, s)| Some((section, s.pending()?)))
            .collect()
    }

    /// The sections that differ from `old`'s, by key.
    pub fn changed(&self, old: &Config) -> Vec<&'static str> {
        [
            self.core.changed(&old.core),
            self.features.changed(&old.features),
            self.surfaces.changed(&old.surfaces),
        ]
        .concat()
    }

    /// The effective config as TOML, secrets redacted.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_names_every_section_that_changed_whatever_owns_it() {
        let base = "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n";
        let parse = |extra: &str| {
            Config::parse(Path::new("/etc/cm.toml"), &format!("{base}{extra}")).unwrap()
        };
        let old = parse("");
        let new = parse(
            "[monitor]\ninterval = \"20s\"\n[sensors.memory]\n[serve]\nlisten = \"127.0.0.1:9790\"\n",
        );
        assert_eq!(new.changed(&old), ["monitor", "sensors", "serve"]);
        assert!(old.changed(&old).is_empty());
    }
}
