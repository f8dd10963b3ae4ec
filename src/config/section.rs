//! How a module owns its part of the config file.
//!
//! A [`Section`] is read from its raw form (serde structs that refuse unknown
//! keys and keep values `Spanned`, so that a problem names its line) into the
//! typed form its module runs with; the module writes both, and its rules.
//! `sections!` declares a group of sections from a list,
//! one entry a section: a table of its own such as `[notify]` or
//! `[sensors]`, or keys that stand beside others at the top of the file,
//! which [`Spliced`] reads as one level.

use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Secret, Validator};

/// A part of the config file, raw and typed.
pub trait Section: Sized {
    /// The section as written.
    type Raw: DeserializeOwned;

    /// The typed section from `raw` (`None`: the file does not have it);
    /// every broken rule is said to `v` against `key`, e.g. `notify.email`.
    fn read(raw: Option<Self::Raw>, v: &mut Validator<'_>, key: &str) -> Self;

    /// Adds the secrets it holds to `out`, each with the name of the section
    /// that holds it (`name` is its own).
    fn secrets<'a>(&'a self, _name: &'static str, _out: &mut Vec<(&'static str, &'a Secret)>) {}

    /// Whether it is absent, and left out of the effective config.
    fn is_absent(&self) -> bool {
        false
    }
}

/// A table the file may hold once, off unless present (`[serve]`,
/// `[notify.email]`: `Option<T>` is the section), or any number of times
/// (`[[log_watch]]`: `Vec<T>`).
pub trait Table: Sized {
    /// The table as written.
    type Raw: DeserializeOwned;

    /// The typed table, or `None` when a broken rule (said to `v`) leaves
    /// nothing to run.
    fn read(raw: Self::Raw, v: &mut Validator<'_>, key: &str) -> Option<Self>;

    /// The secrets it holds.
    fn secrets(&self) -> Vec<&Secret> {
        Vec::new()
    }
}

impl<T: Table> Section for Option<T> {
    type Raw = T::Raw;

    fn read(raw: Option<T::Raw>, v: &mut Validator<'_>, key: &str) -> Option<T> {
        T::read(raw?, v, key)
    }

    fn secrets<'a>(&'a self, name: &'static str, out: &mut Vec<(&'static str, &'a Secret)>) {
        let secrets = self.iter().flat_map(T::secrets);
        out.extend(secrets.map(|s| (name, s)));
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T: Table> Section for Vec<T> {
    type Raw = Vec<T::Raw>;

    /// Each entry under `key[i]`.
    fn read(raw: Option<Vec<T::Raw>>, v: &mut Validator<'_>, key: &str) -> Vec<T> {
        let raw = raw.unwrap_or_default().into_iter().enumerate();
        raw.filter_map(|(i, r)| T::read(r, v, &format!("{key}[{i}]")))
            .collect()
    }

    fn secrets<'a>(&'a self, name: &'static str, out: &mut Vec<(&'static str, &'a Secret)>) {
        let secrets = self.iter().flat_map(T::secrets);
        out.extend(secrets.map(|s| (name, s)));
    }

    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}

/// The key of `name` within the section at `key` (the top level when empty).
pub fn subkey(key: &str, name: &str) -> String {
    if key.is_empty() {
        name.to_owned()
    } else {
        format!("{key}.{name}")
    }
}

/// A raw group whose keys can stand beside other groups' at one level.
pub trait Slots: Default {
    /// Every key it takes.
    fn keys() -> Vec<&'static str>;

    /// Reads the value of `key` from `map`, if `key` is one of its keys.
    fn take<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

impl<A: Slots, B: Slots> Slots for (A, B) {
    fn keys() -> Vec<&'static str> {
        [A::keys(), B::keys()].concat()
    }

    fn take<'de, M: MapAccess<'de>>(&mut self, key: &str, map: &mut M) -> Result<bool, M::Error> {
        Ok(self.0.take(key, map)? || self.1.take(key, map)?)
    }
}

/// Groups read as one level of the file: each key goes to the group that
/// takes it; a key none takes is refused as serde refuses an unknown field,
/// at its place in the file.
#[derive(Debug, Default)]
pub struct Spliced<T>(pub T);

impl<'de, T: Slots> Deserialize<'de> for Spliced<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Level(std::marker::PhantomData))
    }
}

struct Level<T>(std::marker::PhantomData<T>);

impl<'de, T: Slots> Visitor<'de> for Level<T> {
    type Value = Spliced<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spliced<T>, A::Error> {
        let mut groups = T::default();
        let keys = T::keys();
        while let Some(key) = map.next_key_seed(Known(&keys))? {
            groups.take(&key, &mut map)?;
        }
        Ok(Spliced(groups))
    }
}

/// A key, refused while it is read (so that the error carries its place)
/// unless it is one of these.
struct Known<'k>(&'k [&'static str]);

impl<'de> DeserializeSeed<'de> for Known<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Known<'_> {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<String, E> {
        if self.0.contains(&key) {
            return Ok(key.to_owned());
        }
        // serde's own words for an unknown field, which its derive gives nested tables.
        let quoted: Vec<String> = self.0.iter().map(|k| format!("`{k}`")).collect();
        let expected = match quoted.as_slice() {
            [] => "there are no fields".to_owned(),
            [one] => format!("expected {one}"),
            [a, b] => format!("expected {a} or {b}"),
            all => format!("expected one of {}", all.join(", ")),
        };
        Err(E::custom(format_args!("unknown field `{key}`, {expected}")))
    }
}

/// Declares a group of sections from a list, one `key: Type` a section
/// (`Type: Section`): the raw struct serde reads (every key optional,
/// unknown ones refused), the typed struct, its [`Section`] reading (each
/// entry under `group.key`), its [`Slots`] (to stand beside other groups at
/// the top of the file), and which entries differ between two configs.
macro_rules! sections {
    (
        $(#[$meta:meta])*
        pub struct $Name:ident / $Raw:ident {
            $( $(#[$field_meta:meta])* $key:ident: $Type:ty, )*
        }
    ) => {
        #[doc = concat!("The raw form of [`", stringify!($Name), "`].")]
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $Raw {
            $( pub $key: Option<<$Type as $crate::config::Section>::Raw>, )*
        }

        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        pub struct $Name {
            $(
                $(#[$field_meta])*
                #[serde(skip_serializing_if = "crate::config::Section::is_absent")]
                pub $key: $Type,
            )*
        }

        impl $crate::config::Section for $Name {
            type Raw = $Raw;

            fn read(
                raw: Option<$Raw>,
                v: &mut $crate::config::Validator<'_>,
                key: &str,
            ) -> $Name {
                let raw = raw.unwrap_or_default();
                $Name {
                    $( $key: <$Type as $crate::config::Section>::read(
                        raw.$key,
                        v,
                        &$crate::config::subkey(key, stringify!($key)),
                    ), )*
                }
            }

            fn secrets<'a>(
                &'a self,
                _name: &'static str,
                out: &mut Vec<(&'static str, &'a $crate::config::Secret)>,
            ) {
                $( $crate::config::Section::secrets(&self.$key, stringify!($key), out); )*
            }

            fn is_absent(&self) -> bool {
                true $( && $crate::config::Section::is_absent(&self.$key) )*
            }
        }

        impl $crate::config::Slots for $Raw {
            fn keys() -> Vec<&'static str> {
                vec![$(stringify!($key)),*]
            }

            fn take<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                match key {
                    $( stringify!($key) => self.$key = Some(map.next_value()?), )*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }

        impl $Name {
            /// The entries that differ from `old`'s, by key.
            #[allow(dead_code, reason = "only some groups are compared by key")]
            pub fn changed(&self, old: &$Name) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$key != old.$key { out.push(stringify!($key)); } )*
                out
            }
        }
    };
}
