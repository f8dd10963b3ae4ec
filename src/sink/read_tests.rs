//! Tests of the log reader: which names are a log, bounded rows, order and warnings.

use super::*;
use crate::sink::split::MAX_FIELDS;

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

/// Rows prepared on either thread arrive in order, each once, and the
/// refused ones are named as [`records`] names them; a consumer that falls
/// behind has the reading thread prepare batches for it.
#[test]
fn prepared_rows_arrive_in_order_whichever_thread_prepared_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut text = b"n,text\n".to_vec();
    let rows = 12 * BATCH + 5;
    for i in 0..rows {
        text.extend_from_slice(format!("{i},fine\n").as_bytes());
    }
    std::fs::write(&path, text).unwrap();
    let refuse = |i: usize| i % 997 == 5;
    let prepare = || {
        move |row: &Row, _: &StringRecord| {
            let i: usize = row.iter().next().unwrap().parse().unwrap();
            match refuse(i) {
                true => Err(format!("refused {i}")),
                false => Ok((i, std::thread::current().id())),
            }
        }
    };
    let (mut warnings, mut seen) = (Vec::new(), Vec::new());
    let n = prepared(&path, None, &mut warnings, prepare, |(i, by)| {
        // Falling behind at the start of every other batch fills the queue.
        if i % (2 * BATCH) == 0 {
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
        seen.push((i, by));
    });
    let want: Vec<usize> = (0..rows).filter(|&i| !refuse(i)).collect();
    assert_eq!(n as usize, want.len());
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), want);
    let here = std::thread::current().id();
    assert!(seen.iter().any(|s| s.1 == here), "none prepared here");
    assert!(seen.iter().any(|s| s.1 != here), "none prepared ahead");
    let mut by_records = Vec::new();
    records(&path, &mut by_records, |r, _| {
        let i: usize = r.get(0).unwrap().parse().unwrap();
        match refuse(i) {
            true => Err(format!("refused {i}")),
            false => Ok(()),
        }
    });
    assert_eq!(warnings, by_records);
    assert_eq!(warnings.len(), WARNINGS_PER_FILE + 1, "{warnings:?}");
}

/// What splitting gave for one row: its line, and its fields, or which
/// field is not text (0: too long).
type Split = (u64, Result<Vec<String>, usize>);

/// `input` cut into rows by [`Bounded`], read `chunk` bytes at a time,
/// in batches of at most `max_rows` rows and about `max_bytes` bytes.
fn split(input: &[u8], chunk: usize, max_rows: usize, max_bytes: usize) -> Vec<Split> {
    struct Trickle(Vec<u8>, usize, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.2.min(buf.len()).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let input = BufReader::with_capacity(1, Trickle(input.to_vec(), 0, chunk));
    let mut reader = Bounded::new(Box::new(input));
    let mut out = Vec::new();
    loop {
        let mut rows = Rows::default();
        let next = reader.read(&mut rows, max_rows, max_bytes);
        assert!(rows.len() <= max_rows);
        out.extend(
            rows.iter()
                .map(|row| (row.line(), Ok(row.iter().map(str::to_owned).collect()))),
        );
        match next {
            Next::Full => assert!(rows.len() == max_rows || rows.bytes() >= max_bytes),
            Next::TooLong(line) => out.push((line, Err(0))),
            Next::NotUtf8(line, field) => out.push((line, Err(field))),
            Next::Failed(_, e) => panic!("{e}"),
            Next::End => return out,
        }
    }
}

/// `input` as csv_core reads it fed a byte at a time, each row with the
/// line its first byte is on and its fields as text (checked as the reader
/// did before it cut lines itself).
fn csv_core_reads(input: &[u8]) -> Vec<Split> {
    use csv_core::ReadRecordResult as R;
    let mut core = csv_core::Reader::new();
    let (mut out, mut ends) = (vec![0; 1 << 16], vec![0; 1 << 10]);
    let (mut outlen, mut endlen, mut start, mut rows) = (0, 0, None, Vec::new());
    let mut i = if input.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    loop {
        let byte = &input[i.min(input.len())..(i + 1).min(input.len())];
        if start.is_none() && byte.first().is_some_and(|b| !b"\r\n".contains(b)) {
            start = Some(core.line());
        }
        let (res, nin, nout, nend) =
            core.read_record(byte, &mut out[outlen..], &mut ends[endlen..]);
        (i, outlen, endlen) = (i + nin, outlen + nout, endlen + nend);
        match res {
            R::InputEmpty => {}
            R::Record => {
                let ends = &ends[..endlen];
                let text = std::str::from_utf8(&out[..ends.last().copied().unwrap_or(0)]);
                let fields = match text {
                    Err(e) => Err(ends.iter().take_while(|&&n| n <= e.valid_up_to()).count() + 1),
                    Ok(text) => {
                        let mut from = 0;
                        ends.iter()
                            .enumerate()
                            .map(|(i, &to)| {
                                let field = text.get(from..to).ok_or(i + 1);
                                from = to;
                                field.map(str::to_owned)
                            })
                            .collect()
                    }
                };
                rows.push((start.take().unwrap(), fields));
                (outlen, endlen) = (0, 0);
            }
            R::End => return rows,
            R::OutputFull | R::OutputEndsFull => unreachable!("rows are short"),
        }
    }
}

/// Random text of line ends, commas, quotes, text and bytes that are not:
/// every row is as csv_core reads it, on the line csv_core counts, however
/// the bytes arrive.
#[test]
fn rows_are_cut_as_csv_core_cuts_them() {
    let pieces: [&[u8]; 12] = [
        b"a",
        b"12.5",
        b",",
        b",",
        b"\"",
        b"\r",
        b"\n",
        b"\r\n",
        b"\xc3\xa9",
        b"\xc3",
        b"\xa9",
        b"\xff",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for case in 0..3000 {
        let mut input = Vec::new();
        if case % 7 == 0 {
            input.extend_from_slice(b"\xef\xbb\xbf");
        }
        // Mostly plain rows, now and then anything.
        let odd = [0, 4, 8, 9, 10, 11].map(|i| pieces[i]);
        for _ in 0..rng.usize(0..60) {
            let piece = match rng.u8(0..10) {
                0 => odd[rng.usize(..odd.len())],
                _ => pieces[rng.usize(..4)],
            };
            input.extend_from_slice(piece);
            if rng.u8(0..6) == 0 {
                input.extend_from_slice(pieces[rng.usize(5..8)]);
            }
        }
        let want = csv_core_reads(&input);
        let batches = [
            (1, 1, 1),
            (2, 3, 10),
            (5, 1000, 40),
            (1 << 20, 1 << 20, 1 << 20),
        ];
        for (chunk, max_rows, max_bytes) in batches {
            let got = split(&input, chunk, max_rows, max_bytes);
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&input));
        }
    }
}

#[test]
fn ends_of_lines_quotes_and_the_last_line() {
    let row =
        |line: u64, fields: &[&str]| (line, Ok(fields.iter().map(|f| f.to_string()).collect()));
    // \r\n, a bare \r (no new line counted), empty lines, a quoted field
    // over two lines after unquoted rows, a last line without its end.
    let input = b"a,b\r\n1,2\r\n\r\n3,4\r5\n\n6,\"x\ny\",7\n8,\"\"\"q\"\"\"\n,\n9";
    let want = vec![
        row(1, &["a", "b"]),
        row(2, &["1", "2"]),
        row(4, &["3", "4"]),
        row(4, &["5"]),
        row(6, &["6", "x\ny", "7"]),
        row(8, &["8", "\"q\""]),
        row(9, &["", ""]),
        row(10, &["9"]),
    ];
    for (chunk, max_rows) in [(1, 1), (3, 2), (1 << 20, 1 << 20)] {
        assert_eq!(split(input, chunk, max_rows, 1 << 20), want);
    }
    assert_eq!(csv_core_reads(input), want);
}

#[test]
fn a_row_of_too_many_fields_is_too_long_quoted_or_not() {
    let commas = |n: usize| vec![b','; n];
    let mut input = commas(MAX_FIELDS - 1);
    input.push(b'\n');
    input.extend(commas(MAX_FIELDS));
    input.extend(b"\n\"q\"");
    input.extend(commas(MAX_FIELDS));
    input.extend(b"\nlast");
    let got = split(&input, 1 << 20, 1 << 20, 1 << 20);
    let fields: Vec<_> = got
        .iter()
        .map(|(l, r)| (*l, r.as_ref().map(Vec::len).map_err(|e| *e)))
        .collect();
    assert_eq!(
        fields,
        vec![(1, Ok(MAX_FIELDS)), (2, Err(0)), (3, Err(0)), (4, Ok(1))]
    );
}
