//! The cheap reading against serde's and chrono's, on rows and times both
//! ordinary and odd.

use super::*;
use crate::sink::rows::Rows;
use csv::StringRecord;

/// Rows of every length around the struct's, their fields drawn from
/// values that read and values that do not: whatever [`by_position`]
/// reads, serde reads the same, and a row as the writer writes it is read.
#[test]
fn rows_read_by_position_as_serde_reads_them() {
    // Each kind's values that read, then those that do not.
    let floats: (&[&str], &[&str]) = (
        &["", "0.5", "12.000", "1e3", "inf", "NaN", "-0", "+1.25"],
        &[" 1", "x", "0x10"],
    );
    let counts: (&[&str], &[&str]) = (
        &["0", "3", "+3", "007"],
        &["-1", "0x1f", "", "18446744073709551616", "2 "],
    );
    let flags: (&[&str], &[&str]) = (&["", "true", "false"], &["True", "1"]);
    let words: (&[&str], &[&str]) = (&["", "OK", "2026-11-02T00:00:00+00:00", "a b"], &[]);
    let kinds = "sswwccffwsww".to_owned() + "ccccww";
    let mut rng = fastrand::Rng::with_seed(3);
    let (mut rows, mut record) = (Rows::default(), StringRecord::new());
    let mut read = 0;
    for _ in 0..20_000 {
        let n = rng.usize(8..21);
        let fields: Vec<&str> = kinds
            .chars()
            .chain(std::iter::repeat('s'))
            .take(n)
            .map(|k| {
                let (good, bad) = match k {
                    'w' => floats,
                    'c' => counts,
                    'f' => flags,
                    _ => words,
                };
                match rng.u8(0..30) {
                    0 if !bad.is_empty() => bad[rng.usize(..bad.len())],
                    _ => good[rng.usize(..good.len())],
                }
            })
            .collect();
        rows.clear();
        rows.push_fields(fields.iter().copied(), 2);
        let row = rows.get(0);
        row.to_record(&mut record);
        let serde = record.deserialize::<ConnectionRow<&str>>(None);
        if let Some(ours) = by_position(&row) {
            read += 1;
            let theirs = serde.unwrap_or_else(|e| panic!("{fields:?}: serde says {e}"));
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{fields:?}");
        }
    }
    assert!(read > 1000, "only {read} rows read by position");
    rows.clear();
    let line = "2025-11-01T00:00:10+00:00,OK,0.520,5.100,3,3,true,true,0.0,fine,12.143,30.333";
    assert!(rows.push_split(line, 2, 256));
    let row = by_position(&rows.get(0)).expect("the writer's row");
    assert_eq!(
        (row.gateway_rtt_ms, row.internet_rtt_max_ms),
        (Some(0.52), Some(30.333))
    );
    assert_eq!((row.dns_ok, row.targets_total_v6), (Some(true), 0));
}

/// Times of every shape around the writer's, one after another as a log
/// holds them (the same day again and again, then another), read as chrono
/// reads them: the same instant and offset, or the same error.
#[test]
fn times_read_as_chrono_reads_them() {
    let dates = [
        "2026-11-02",
        "2024-02-29",
        "2025-02-29",
        "2025-12-31",
        "0000-01-01",
        "9999-12-31",
        "2025-13-01",
        "2025-00-10",
        "2025-1-010",
    ];
    let times = [
        "00:00:00",
        "00:00:10",
        "12:34:56",
        "23:59:59",
        "23:59:60",
        "24:00:00",
        "12:60:00",
        "07:05:09",
        "7:05:09.",
        "12:34:56.5",
    ];
    let offsets = [
        "Z", "z", "+00:00", "-00:00", "-03:30", "+05:45", "+14:00", "-12:00", "+23:59", "+24:00",
        "+05:60", "+0530", "",
    ];
    let mut all = Vec::new();
    for date in dates {
        for offset in offsets {
            for sep in ["T", "t", " "] {
                for time in times {
                    all.push(format!("{date}{sep}{time}{offset}"));
                }
            }
        }
    }
    let mut shuffled = all.clone();
    fastrand::Rng::with_seed(5).shuffle(&mut shuffled);
    let mut stamps = Stamps::default();
    for text in all.iter().chain(&shuffled) {
        let theirs = DateTime::parse_from_rfc3339(text);
        let ours = stamps.parse(text);
        assert_eq!(ours, theirs, "{text}");
        if let (Ok(a), Ok(b)) = (ours, theirs) {
            assert_eq!(a.offset(), b.offset(), "{text}");
        }
    }
}

/// A year of the writer's times, every ten seconds across a change of
/// offset, as chrono reads them.
#[test]
fn a_year_of_times_as_chrono_reads_them() {
    let mut stamps = Stamps::default();
    let start = DateTime::parse_from_rfc3339("2025-12-31T23:00:00+01:00").unwrap();
    for i in 0..(40 * 8640) {
        let at = start + TimeDelta::seconds(i * 10 + i % 3);
        let offset = FixedOffset::east_opt(if i < 20 * 8640 { 3600 } else { -9000 }).unwrap();
        let text = at
            .with_timezone(&offset)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let ours = stamps.parse(&text).unwrap();
        assert_eq!((ours, ours.offset()), (at, &offset), "{text}");
    }
}

/// Numbers as the standard parser reads them, to the bit: every value of
/// three decimals below 100, and decimals of every length and point.
#[test]
fn numbers_read_as_the_standard_parser_reads_them() {
    let same = |text: &str| {
        let ours = decimal(text).map(f64::to_bits);
        assert_eq!(ours, text.parse::<f64>().map(f64::to_bits), "{text}");
    };
    for v in 0..100_000 {
        same(&format!("{}.{:03}", v / 1000, v % 1000));
    }
    let mut rng = fastrand::Rng::with_seed(9);
    for _ in 0..200_000 {
        let digits: String = (0..rng.usize(1..18))
            .map(|_| char::from(b'0' + rng.u8(0..10)))
            .collect();
        let point = rng.usize(0..=digits.len());
        same(&format!("{}.{}", &digits[..point], &digits[point..]));
        same(&digits);
    }
    for odd in [
        "",
        ".",
        "1.",
        ".5",
        "1..2",
        "-1.5",
        "+1.5",
        "1e3",
        "inf",
        "NaN",
        " 1",
        "1 ",
        "0x10",
        "9007199254740993",
        "999999999999999.9",
        "0.000000000000001",
        "00000000000000000001",
    ] {
        same(odd);
    }
}
