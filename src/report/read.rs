//! Reading the logs: every file of a log (rotated, compressed, renamed aside),
//! oldest first, row by row through the writers' own row structs; whatever
//! cannot be read is named, with its file and line, and the rest is used.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// At most this many warnings per file; the rest are counted.
const WARNINGS_PER_FILE: usize = 5;

/// The files of log `name` in `dir`: `NAME`, `NAME.1`, `NAME.N.gz` (logrotate)
/// and `NAME.old-*` (renamed aside after a header change).
pub fn files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == name || n.starts_with(&format!("{name}.")))
        })
        .collect();
    out.sort();
    out
}

/// Opens `path`, decompressing a `.gz`.
fn open(path: &Path) -> std::io::Result<Box<dyn Read>> {
    let f = BufReader::with_capacity(1 << 16, File::open(path)?);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    })
}

/// Reads every row of `path` as `R`, calling `each`; problems go to `warnings`.
/// Returns the number of rows read.
pub fn rows<R: DeserializeOwned>(
    path: &Path,
    warnings: &mut Vec<String>,
    mut each: impl FnMut(R),
) -> u64 {
    let shown = path.display();
    let reader = match open(path) {
        Ok(r) => r,
        Err(e) => {
            warnings.push(format!("{shown}: cannot be read: {e}"));
            return 0;
        }
    };
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let mut bad = 0usize;
    let mut read = 0;
    let mut record = csv::StringRecord::new();
    let headers = match csv.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            warnings.push(format!("{shown}: no header: {e}"));
            return 0;
        }
    };
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => match record.deserialize::<R>(Some(&headers)) {
                Ok(row) => {
                    read += 1;
                    each(row);
                }
                Err(e) => {
                    bad += 1;
                    if bad <= WARNINGS_PER_FILE {
                        let line = record.position().map_or(0, |p| p.line());
                        warnings.push(format!("{shown}:{line}: row skipped: {}", reason(&e)));
                    }
                }
            },
            Err(e) => {
                bad += 1;
                if bad <= WARNINGS_PER_FILE {
                    let line = e.position().map_or(0, |p| p.line());
                    warnings.push(format!("{shown}:{line}: unreadable: {e}"));
                }
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    break;
                }
            }
        }
    }
    if bad > WARNINGS_PER_FILE {
        warnings.push(format!(
            "{shown}: {} more rows skipped",
            bad - WARNINGS_PER_FILE
        ));
    }
    read
}

fn reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err
                .field()
                .map(|f| format!("field {} ", f + 1))
                .unwrap_or_default();
            format!("{field}{}", err.kind())
        }
        _ => e.to_string(),
    }
}
