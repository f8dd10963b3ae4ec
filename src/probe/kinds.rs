//! What a probe kind is ([`Kind`], and [`HostKind`] for one a host is probed
//! with), and the macro that makes [`Spec`](super::Spec) and its dispatch
//! from the list of kinds in `probe/mod.rs`. Every call is resolved at
//! compile time: no boxed future per attempt.

use std::future::Future;
use std::time::Duration;

use super::{Host, ProbeResult, Prober};
use crate::config::Family;

/// One probe kind: a struct holding everything one of its probes needs,
/// and how one attempt of it runs.
pub trait Kind {
    /// Its name in logs and outputs: `icmp`, `tcp:443`, `dns`, `dns:aaaa`,
    /// `http`. For a host kind this is also its word in the config file.
    fn name(&self) -> String;

    /// The host it is sent to, if it is a host probe (`[gateway]`, `[isp]`,
    /// `[[target]]`).
    fn host(&self) -> Option<Host>;

    /// The family its packets travel over; `None` when it may take either.
    /// A host kind's is its host's; a kind with no host says its own.
    fn family(&self) -> Option<Family> {
        self.host().map(Host::family)
    }

    /// Whether it goes to a global IPv6 destination (one that needs this
    /// host's global address and its IPv6 default route), so that a failure
    /// for want of those is said in words. A host kind's is its host's; a
    /// kind with no host says its own.
    fn global_ipv6(&self) -> bool {
        self.host().is_some_and(|h| h.global_ipv6())
    }

    /// One attempt, whose time the caller bounds with `timeout`.
    fn attempt(
        &self,
        prober: &Prober,
        timeout: Duration,
    ) -> impl Future<Output = ProbeResult> + Send;
}

/// A kind that a host can be probed with, asked for by a word in a
/// `probes = [...]` list (`icmp`, `tcp:443`); its [`Kind::name`] is that word.
pub trait HostKind: Kind + Sized {
    /// The words it takes, as an error lists them: `"tcp:PORT" with PORT from 1 to 65535`.
    const FORM: &'static str;

    /// One word it takes, as it writes it (`tcp:443`); the tests try it.
    #[cfg_attr(not(test), allow(dead_code))]
    const EXAMPLE: &'static str;

    /// The probe `word` asks for, sent to `host` (with `pings` echoes for a
    /// kind that counts them), if the word names this kind.
    fn from_word(word: &str, host: Host, pings: u32) -> Option<Self>;
}

/// Makes, from the list of kinds (`module => Variant(Type)`, the host kinds
/// first), their modules, [`Spec`](super::Spec) with a variant per kind, its
/// dispatch, and [`PROBE_WORDS`](super::PROBE_WORDS): the words of the host kinds.
macro_rules! probe_kinds {
    (
        hosts { $($hm:ident => $HVariant:ident($HType:ty),)* }
        others { $($om:ident => $OVariant:ident($OType:ty),)* }
    ) => {
        $( pub mod $hm; )*
        $( pub mod $om; )*

        /// How one probe is carried out: one variant per kind.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Spec {
            $(
                #[doc = concat!("A host probe: `", stringify!($hm), "`.")]
                $HVariant($HType),
            )*
            $(
                #[doc = concat!("`", stringify!($om), "`.")]
                $OVariant($OType),
            )*
        }

        probe_kinds!(@dispatch $($HVariant)* $($OVariant)*);

        impl Spec {
            /// The host probe `word` asks for, sent to `host`, if a host kind takes the word.
            pub fn from_word(word: &str, host: $crate::probe::Host, pings: u32) -> Option<Spec> {
                use $crate::probe::kinds::HostKind;
                $(
                    if let Some(k) = <$HType as HostKind>::from_word(word, host, pings) {
                        return Some(Spec::$HVariant(k));
                    }
                )*
                None
            }
        }

        /// The words of the host kinds, for the config's `probes` lists.
        pub const PROBE_WORDS: $crate::config::ProbeWords = $crate::config::ProbeWords {
            parse: $crate::probe::kinds::canonical_word,
            forms: &[ $( <$HType as $crate::probe::kinds::HostKind>::FORM, )* ],
        };

        /// One word of each host kind, in the list's order.
        #[cfg(test)]
        const WORD_EXAMPLES: &[&str] =
            &[ $( <$HType as $crate::probe::kinds::HostKind>::EXAMPLE, )* ];
    };

    (@dispatch $($Variant:ident)*) => {
        impl Spec {
            /// Short kind name for logs: `icmp`, `tcp:443`, `dns`, `dns:aaaa`, `http`.
            pub fn kind(&self) -> String {
                use $crate::probe::kinds::Kind;
                match self {
                    $( Spec::$Variant(k) => k.name(), )*
                }
            }

            /// Where a host probe is sent.
            pub fn host(&self) -> Option<$crate::probe::Host> {
                use $crate::probe::kinds::Kind;
                match self {
                    $( Spec::$Variant(k) => k.host(), )*
                }
            }

            /// The family its packets travel over; `None` for an HTTP check that may take either.
            pub fn family(&self) -> Option<$crate::config::Family> {
                use $crate::probe::kinds::Kind;
                match self {
                    $( Spec::$Variant(k) => k.family(), )*
                }
            }

            /// Whether it goes to a global IPv6 destination.
            fn global_ipv6(&self) -> bool {
                use $crate::probe::kinds::Kind;
                match self {
                    $( Spec::$Variant(k) => k.global_ipv6(), )*
                }
            }

            /// One attempt of its kind; the caller bounds the time.
            async fn attempt(
                &self,
                prober: &$crate::probe::Prober,
                timeout: std::time::Duration,
            ) -> $crate::probe::ProbeResult {
                use $crate::probe::kinds::Kind;
                match self {
                    $( Spec::$Variant(k) => k.attempt(prober, timeout).await, )*
                }
            }
        }
    };
}

/// `word` as the config keeps it, if a host kind takes it: the probe's own
/// name (`tcp:0443` is `tcp:443`). The host does not change what a word means.
pub fn canonical_word(word: &str) -> Option<crate::config::ProbeWord> {
    let any = Host::DefaultGateway(Family::V4);
    super::Spec::from_word(word, any, 1).map(|s| crate::config::ProbeWord::new(s.kind()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::{Spec, PROBE_WORDS, WORD_EXAMPLES};
    use super::*;
    use crate::config::{Core, ProbeWord};

    #[test]
    fn every_host_kind_takes_its_own_word_and_writes_it_back() {
        assert_eq!(WORD_EXAMPLES.len(), PROBE_WORDS.forms.len());
        let host = Host::Ip([192, 0, 2, 1].into());
        for (i, word) in WORD_EXAMPLES.iter().enumerate() {
            let spec = Spec::from_word(word, host, 3).expect("its example parses");
            assert_eq!(spec.kind(), *word, "parsed and written back");
            assert_eq!(spec.host(), Some(host));
            assert_eq!((PROBE_WORDS.parse)(word), Some(ProbeWord::new(*word)));
            // No kind earlier in the list takes a later one's word.
            let earlier = WORD_EXAMPLES[..i].iter();
            assert!(earlier
                .map(|w| (PROBE_WORDS.parse)(w))
                .all(|w| w != Some(ProbeWord::new(*word))));
        }
        let names: HashSet<_> = WORD_EXAMPLES.iter().collect();
        assert_eq!(names.len(), WORD_EXAMPLES.len(), "one name per kind");
        let forms: HashSet<_> = PROBE_WORDS.forms.iter().collect();
        assert_eq!(forms.len(), PROBE_WORDS.forms.len(), "one form per kind");
    }

    #[test]
    fn a_word_is_kept_as_its_kind_writes_it_and_nothing_else_is_taken() {
        let parse = |w: &str| (PROBE_WORDS.parse)(w).map(|w| w.to_string());
        assert_eq!(parse("icmp").as_deref(), Some("icmp"));
        assert_eq!(parse("tcp:0443").as_deref(), Some("tcp:443"));
        for bad in [
            "",
            "ICMP",
            "tcp",
            "tcp:",
            "tcp:0",
            "tcp:65536",
            "dns",
            "http",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(ProbeWord::ICMP, ProbeWord::new(String::from("icmp")));
    }

    #[test]
    fn the_built_in_words_all_name_kinds() {
        let core = Core::built_in();
        let lists = (core.targets.iter().map(|t| &t.probes))
            .chain([&core.gateway.probes, &core.isp.probes]);
        for word in lists.flatten() {
            assert_eq!((PROBE_WORDS.parse)(word.as_str()).as_ref(), Some(word));
        }
        let names: HashSet<String> = (crate::probe::Plan::from_config(&core).probes.iter())
            .map(|p| p.spec.kind())
            .collect();
        assert_eq!(
            names,
            ["icmp", "tcp:443", "dns", "http"].map(String::from).into()
        );
    }

    #[test]
    fn a_spec_stays_small() {
        // Every probe's spec is as large as the largest kind's struct: a
        // large one is boxed in the list, as the HTTP check (its URL alone
        // is larger than a DNS query) is.
        let size = std::mem::size_of::<Spec>();
        assert!(size <= 64, "Spec is {size} bytes");
    }
}
