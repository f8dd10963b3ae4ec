//! Tests of the log reader: which names are a log, bounded rows, order and warnings.

use super::*;

#[test]
fn only_the_names_logrotate_and_the_writer_make_are_the_log() {
    let n = "connection_log.csv";
    let k = |f: &str| kind(f, n);
    assert_eq!(k(n), Some(Kind::Live));
    assert_eq!(
        k("connection_log.csv.3"),
        Some(Kind::Numbered(std::cmp::Reverse(3)))
    );
    assert_eq!(
        k("connection_log.csv.12.gz"),
        Some(Kind::Numbered(std::cmp::Reverse(12)))
    );
    assert!(matches!(
        k("connection_log.csv-20261101"),
        Some(Kind::Dated(_))
    ));
    assert!(matches!(
        k("connection_log.csv-20261101.gz"),
        Some(Kind::Dated(_))
    ));
    assert!(matches!(
        k("connection_log.csv.old-20261102T101500"),
        Some(Kind::Aside(_))
    ));
    for not in [
        "connection_log.csv.bak",
        "connection_log.csv.1.bak",
        "connection_log.csv.old-20261102T101500.bak",
        "connection_log.csv~",
        "connection_log.csv.swp",
        "connection_log.csv.gz",
        "connection_log.csv-2026110",
        "connection_log.csv-20261399",
        "connection_log.csvx",
        "outage_log.csv",
    ] {
        assert_eq!(k(not), None, "{not}");
    }
    // Oldest first: aside, then higher numbers, then the live file.
    let mut names = vec![
        k(n),
        k("connection_log.csv.1"),
        k("connection_log.csv.old-1"),
        k("connection_log.csv.2.gz"),
    ];
    names.sort();
    assert_eq!(
        names,
        vec![
            k("connection_log.csv.old-1"),
            k("connection_log.csv.2.gz"),
            k("connection_log.csv.1"),
            k(n)
        ]
    );
}

/// A row of one field far past the bound, inside a small `.gz`: skipped
/// and named, the rows around it read, and the reader never held it.
#[test]
fn a_row_past_the_bound_is_skipped_and_named_not_held() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv.1.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b"a,b\n1,2\n3,\"").unwrap();
    let chunk = vec![b'x'; 1 << 16];
    for _ in 0..(4 * MAX_ROW_BYTES / chunk.len()) {
        gz.write_all(&chunk).unwrap();
    }
    gz.write_all(b"\nmore\"\n5,6\n").unwrap();
    gz.finish().unwrap();
    let mut warnings = Vec::new();
    let mut seen = Vec::new();
    let n = records(&path, &mut warnings, |r, h| {
        assert_eq!(h.get(0), Some("a"));
        seen.push(r.get(0).unwrap().to_owned());
        Ok(())
    });
    assert_eq!((n, seen), (2, vec!["1".to_owned(), "5".to_owned()]));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("x.csv.1.gz:3: row skipped: longer than"),
        "{warnings:?}"
    );
}

/// Rows over several read-ahead batches, with a stretch of bytes that is
/// not UTF-8 and a row `each` refuses: every other row arrives, in file
/// order, and both bad ones are named with their lines.
#[test]
fn every_row_arrives_in_order_across_batches_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut text = b"n,text\n".to_vec();
    let rows = 3 * BATCH + 7;
    for i in 0..rows {
        text.extend_from_slice(format!("{i},").as_bytes());
        if i == BATCH + 1 {
            text.extend_from_slice(b"\xff\xfe");
        }
        text.extend_from_slice(b"fine\n");
    }
    std::fs::write(&path, text).unwrap();
    let mut warnings = Vec::new();
    let mut seen = Vec::new();
    let n = records(&path, &mut warnings, |r, _| {
        let i: usize = r.get(0).unwrap().parse().unwrap();
        if i == 2 * BATCH + 3 {
            return Err("refused".into());
        }
        seen.push(i);
        Ok(())
    });
    assert_eq!(n as usize, rows - 2);
    assert_eq!(seen.len(), rows - 2);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "out of order");
    let shown = path.display();
    // Line 1 is the header, so row i is on line i + 2.
    assert_eq!(
        warnings,
        vec![
            format!(
                "{shown}:{}: row skipped: field 2 is not UTF-8 text",
                BATCH + 3
            ),
            format!("{shown}:{}: row skipped: refused", 2 * BATCH + 5),
        ]
    );
}
