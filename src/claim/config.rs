//! `[claim]`: the compensation rule the fault tickets are counted under, and
//! its amounts. The section as written, its validation and its typed form, in
//! one place; the whole file lists it among its features.

use std::ops::Range;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

/// `[claim]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaim {
    pub rules: Option<Spanned<String>>,
    pub daily_amount: Option<Spanned<f64>>,
    pub currency: Option<Spanned<String>>,
    pub monthly_fee: Option<Spanned<f64>>,
    pub holidays: Option<Vec<Spanned<String>>>,
}

/// An amount of money in hundredths (pence, cents): sums of them are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(pub i64);

impl Money {
    /// The largest amount the config takes.
    const MAX: f64 = 1_000_000.0;

    /// `p` % of this amount, to the nearest hundredth (a half rounds up).
    pub fn percent(self, p: i64) -> Money {
        Money((self.0 * p + 50).div_euclid(100))
    }

    /// As a number of whole units, for JSON: `9.98`.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:02}",
            self.0.div_euclid(100),
            self.0.rem_euclid(100)
        )
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

/// The rule a claim is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "rules")]
pub enum Rule {
    /// Tickets are kept and listed; nothing is owed.
    #[default]
    #[serde(rename = "none")]
    None,
    /// Ofcom's automatic compensation (UK): a flat amount per calendar day.
    #[serde(rename = "uk-ofcom")]
    UkOfcom {
        /// Paid per compensable day.
        daily_amount: Money,
        /// ISO 4217 code, `GBP` unless given.
        currency: String,
    },
    /// TKG § 58 (3) (Germany): per day, a share of the monthly fee with a floor.
    #[serde(rename = "de-tkg58")]
    DeTkg58 {
        /// The contract's monthly fee, EUR.
        monthly_fee: Money,
    },
}

impl Rule {
    /// Its name in the config, JSON and messages: `uk-ofcom`, `de-tkg58`, `none`.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::None => "none",
            Rule::UkOfcom { .. } => "uk-ofcom",
            Rule::DeTkg58 { .. } => "de-tkg58",
        }
    }

    /// The currency its amounts are in; `None` when nothing is owed.
    pub fn currency(&self) -> Option<&str> {
        match self {
            Rule::None => None,
            Rule::UkOfcom { currency, .. } => Some(currency),
            Rule::DeTkg58 { .. } => Some("EUR"),
        }
    }
}

/// `[claim]`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ClaimConfig {
    /// The rule and its amounts.
    #[serde(flatten)]
    pub rule: Rule,
    /// Days that are not working days besides Saturdays and Sundays, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<NaiveDate>,
}

/// Where a broken rule stands, the key, the value as written, and the rule.
pub type Report<'a> = &'a mut dyn FnMut(Option<Range<usize>>, &str, &str, &str);

/// The most holidays a config lists (a few a year for decades).
const MAX_HOLIDAYS: usize = 1000;

impl crate::config::Section for ClaimConfig {
    type Raw = RawClaim;

    fn read(
        raw: Option<RawClaim>,
        v: &mut crate::config::Validator<'_>,
        _key: &str,
    ) -> ClaimConfig {
        validate(raw, &mut |at, key, value, rule| {
            v.problem(at, key, value, rule)
        })
    }

    fn is_absent(&self) -> bool {
        *self == ClaimConfig::default()
    }
}

/// `[claim]` validated; every broken rule goes to `problem`.
pub fn validate(raw: Option<RawClaim>, problem: Report) -> ClaimConfig {
    let Some(raw) = raw else {
        return ClaimConfig::default();
    };
    let holidays = holidays(raw.holidays.as_deref().unwrap_or_default(), problem);
    let rule = match raw.rules.as_ref().map_or("none", |r| r.get_ref().as_str()) {
        "none" => none(&raw, problem),
        "uk-ofcom" => uk_ofcom(&raw, problem),
        "de-tkg58" => de_tkg58(&raw, problem),
        other => {
            let at = raw.rules.as_ref().map(Spanned::span);
            problem(
                at,
                "claim.rules",
                &format!("{other:?}"),
                "must be \"uk-ofcom\", \"de-tkg58\" or \"none\"",
            );
            Rule::None
        }
    };
    ClaimConfig { rule, holidays }
}

/// `rules = "none"`: no amount may be given.
fn none(raw: &RawClaim, problem: Report) -> Rule {
    for (key, given) in [
        ("daily_amount", raw.daily_amount.as_ref().map(Spanned::span)),
        ("monthly_fee", raw.monthly_fee.as_ref().map(Spanned::span)),
        ("currency", raw.currency.as_ref().map(Spanned::span)),
    ] {
        if let Some(at) = given {
            let why = "rules = \"none\" owes nothing: set rules = \"uk-ofcom\" or \"de-tkg58\", or remove it";
            problem(Some(at), &format!("claim.{key}"), "(given)", why);
        }
    }
    Rule::None
}

/// `rules = "uk-ofcom"`: a daily amount, in GBP unless said.
fn uk_ofcom(raw: &RawClaim, problem: Report) -> Rule {
    let fee = raw.monthly_fee.as_ref();
    unused(
        fee,
        "monthly_fee",
        "only de-tkg58 counts a share of the monthly fee",
        problem,
    );
    let why = "uk-ofcom needs the provider's amount per day (Ofcom raises it every April)";
    let daily_amount = required(raw, raw.daily_amount.as_ref(), "daily_amount", why, problem);
    let currency = currency(raw.currency.as_ref(), problem).unwrap_or_else(|| "GBP".into());
    Rule::UkOfcom {
        daily_amount,
        currency,
    }
}

/// `rules = "de-tkg58"`: the monthly fee; the amounts are in EUR by law.
fn de_tkg58(raw: &RawClaim, problem: Report) -> Rule {
    let daily = raw.daily_amount.as_ref();
    unused(
        daily,
        "daily_amount",
        "de-tkg58's amounts per day follow from monthly_fee",
        problem,
    );
    let why = "de-tkg58 needs the contract's monthly fee (EUR)";
    let monthly_fee = required(raw, raw.monthly_fee.as_ref(), "monthly_fee", why, problem);
    if let Some(c) = raw.currency.as_ref().filter(|c| c.get_ref() != "EUR") {
        problem(
            Some(c.span()),
            "claim.currency",
            &format!("{:?}", c.get_ref()),
            "de-tkg58's amounts are in law in EUR: must be \"EUR\" or left out",
        );
    }
    Rule::DeTkg58 { monthly_fee }
}

/// An amount the rule needs: given, from 0 to [`Money::MAX`], whole hundredths.
fn required(
    raw: &RawClaim,
    v: Option<&Spanned<f64>>,
    key: &str,
    why: &str,
    problem: Report,
) -> Money {
    let key = format!("claim.{key}");
    let Some(v) = v else {
        let at = raw.rules.as_ref().map(Spanned::span);
        problem(at, &key, "(missing)", why);
        return Money::default();
    };
    let x = *v.get_ref();
    let hundredths = (x * 100.0).round();
    if !(0.0..=Money::MAX).contains(&x) {
        problem(
            Some(v.span()),
            &key,
            &x.to_string(),
            "must be an amount from 0 to 1000000",
        );
    } else if (x * 100.0 - hundredths).abs() > 1e-6 {
        problem(
            Some(v.span()),
            &key,
            &x.to_string(),
            "must have at most two decimals (9.98)",
        );
    }
    Money(hundredths as i64)
}

/// A key the chosen rule does not use: an error, so that nothing given is ignored.
fn unused(v: Option<&Spanned<f64>>, key: &str, why: &str, problem: Report) {
    if let Some(v) = v {
        problem(
            Some(v.span()),
            &format!("claim.{key}"),
            &v.get_ref().to_string(),
            why,
        );
    }
}

/// An ISO 4217 code: three capital letters.
fn currency(v: Option<&Spanned<String>>, problem: Report) -> Option<String> {
    let v = v?;
    let code = v.get_ref();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Some(code.clone());
    }
    problem(
        Some(v.span()),
        "claim.currency",
        &format!("{code:?}"),
        "must be a currency code of three capital letters, such as \"GBP\"",
    );
    None
}

/// The holidays as dates, sorted, each once.
fn holidays(raw: &[Spanned<String>], problem: Report) -> Vec<NaiveDate> {
    if raw.len() > MAX_HOLIDAYS {
        problem(
            raw.get(MAX_HOLIDAYS).map(Spanned::span),
            "claim.holidays",
            &format!("{} dates", raw.len()),
            &format!("must list at most {MAX_HOLIDAYS} dates"),
        );
    }
    let mut days: Vec<NaiveDate> = raw
        .iter()
        .take(MAX_HOLIDAYS)
        .filter_map(
            |d| match NaiveDate::parse_from_str(d.get_ref(), "%Y-%m-%d") {
                Ok(day) => Some(day),
                Err(_) => {
                    problem(
                        Some(d.span()),
                        "claim.holidays",
                        &format!("{:?}", d.get_ref()),
                        "must be dates written YYYY-MM-DD, such as \"2026-12-25\"",
                    );
                    None
                }
            },
        )
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (ClaimConfig, Vec<String>) {
        #[derive(Deserialize)]
        struct File {
            claim: Option<RawClaim>,
        }
        let raw: File = toml::from_str(text).unwrap();
        let mut problems = Vec::new();
        let c = validate(raw.claim, &mut |at, key, value, rule| {
            let line = at.map_or(0, |r| text[..r.start].matches('\n').count() + 1);
            problems.push(format!("{line}: {key} = {value}: {rule}"));
        });
        (c, problems)
    }

    #[test]
    fn each_rule_takes_its_own_keys() {
        let (c, p) = check("[claim]\nrules = \"uk-ofcom\"\ndaily_amount = 9.98\nholidays = [\"2026-12-28\", \"2026-12-25\", \"2026-12-25\"]\n");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            c.rule,
            Rule::UkOfcom {
                daily_amount: Money(998),
                currency: "GBP".into()
            }
        );
        let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(c.holidays, [day("2026-12-25"), day("2026-12-28")]);
        let (c, p) = check("[claim]\nrules = \"de-tkg58\"\nmonthly_fee = 40\n");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            c.rule,
            Rule::DeTkg58 {
                monthly_fee: Money(4000)
            }
        );
        assert_eq!(check("").0, ClaimConfig::default());
    }

    #[test]
    fn each_broken_rule_names_its_line_key_and_value() {
        let (_, p) =
            check("[claim]\nrules = \"uk-ofcom\"\nmonthly_fee = 30.0\ncurrency = \"pounds\"\n");
        assert_eq!(
            p,
            [
                "3: claim.monthly_fee = 30: only de-tkg58 counts a share of the monthly fee",
                "2: claim.daily_amount = (missing): uk-ofcom needs the provider's amount per day (Ofcom raises it every April)",
                "4: claim.currency = \"pounds\": must be a currency code of three capital letters, such as \"GBP\"",
            ]
        );
        let (_, p) = check("[claim]\nrules = \"de-tkg58\"\nmonthly_fee = 39.999\ncurrency = \"GBP\"\nholidays = [\"25.12.2026\"]\n");
        assert_eq!(
            p,
            [
                "5: claim.holidays = \"25.12.2026\": must be dates written YYYY-MM-DD, such as \"2026-12-25\"",
                "3: claim.monthly_fee = 39.999: must have at most two decimals (9.98)",
                "4: claim.currency = \"GBP\": de-tkg58's amounts are in law in EUR: must be \"EUR\" or left out",
            ]
        );
        let (_, p) = check("[claim]\nrules = \"uk\"\n");
        assert_eq!(
            p,
            ["2: claim.rules = \"uk\": must be \"uk-ofcom\", \"de-tkg58\" or \"none\""]
        );
        let (_, p) = check("[claim]\ndaily_amount = -1.0\n");
        assert_eq!(p, ["2: claim.daily_amount = (given): rules = \"none\" owes nothing: set rules = \"uk-ofcom\" or \"de-tkg58\", or remove it"]);
        let (_, p) = check("[claim]\nrules = \"uk-ofcom\"\ndaily_amount = 1e9\n");
        assert_eq!(
            p,
            ["3: claim.daily_amount = 1000000000: must be an amount from 0 to 1000000"]
        );
    }

    #[test]
    fn the_config_file_names_file_line_and_key() {
        let text =
            "[[target]]\nname = \"a\"\naddress = \"192.0.2.1\"\n[claim]\nrules = \"de-tkg58\"\n";
        let e = crate::daemon::config::Config::parse(std::path::Path::new("/etc/cm.toml"), text)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "/etc/cm.toml:5:9: claim.monthly_fee = (missing): de-tkg58 needs the contract's monthly fee (EUR)"
        );
        let text = "[claim]\nrule = \"uk-ofcom\"\n";
        let e = crate::daemon::config::Config::parse(std::path::Path::new("/etc/cm.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/etc/cm.toml:2:1: claim.rule: unknown field `rule`"),
            "{e}"
        );
    }

    #[test]
    fn money_is_exact_and_rounds_percentages_half_up() {
        assert_eq!(Money(3999).percent(10), Money(400));
        assert_eq!(Money(3999).percent(20), Money(800));
        assert_eq!(Money(2025).percent(10), Money(203));
        assert_eq!((Money(998) + Money(998)).to_string(), "19.96");
        assert_eq!(Money(5).to_string(), "0.05");
    }
}
