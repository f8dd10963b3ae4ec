//! What a reader read of a file, so that a copy can be checked later: its
//! rows, its bytes and their SHA-256, taken from exactly the bytes read (a
//! live log that has grown since is checked on its first `bytes` bytes).

use std::io::Read;
use std::sync::{Arc, Mutex};

use ring::digest::{Context, SHA256};
use serde::Serialize;

/// One file as a reader read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRead {
    /// The file's name in its folder, e.g. `connection_log.csv.1.gz`.
    pub file: String,
    /// Rows read from it (its header and the rows that could not be read not counted).
    pub rows: u64,
    /// Bytes read, as stored (compressed for a `.gz`).
    pub bytes: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
}

/// The running sum of the bytes read through a [`Hashing`] reader.
#[derive(Clone)]
pub struct Sum(Arc<Mutex<(Context, u64)>>);

impl Sum {
    /// Nothing read yet.
    pub fn new() -> Sum {
        Sum(Arc::new(Mutex::new((Context::new(&SHA256), 0))))
    }

    /// Bytes read so far and their SHA-256 in hex.
    pub fn finish(&self) -> (u64, String) {
        let (ctx, bytes) = self.0.lock().expect("sum lock").clone();
        let hex = ctx
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (bytes, hex)
    }

    /// What was read of `path`, `rows` rows.
    pub fn file_read(&self, path: &std::path::Path, rows: u64) -> FileRead {
        let (bytes, sha256) = self.finish();
        FileRead {
            file: path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            rows,
            bytes,
            sha256,
        }
    }
}

/// A reader that adds every byte it reads to a [`Sum`].
pub struct Hashing<R> {
    inner: R,
    sum: Sum,
}

impl<R: Read> Hashing<R> {
    /// Reads `inner`, summing into `sum`.
    pub fn new(inner: R, sum: Sum) -> Hashing<R> {
        Hashing { inner, sum }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut sum = self.sum.0.lock().expect("sum lock");
        sum.0.update(&buf[..n]);
        sum.1 += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_is_sha256_of_exactly_the_bytes_read() {
        let sum = Sum::new();
        let mut r = Hashing::new(&b"abc"[..], sum.clone());
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sum.finish(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into()
            )
        );
        assert_eq!(
            Sum::new().finish().1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "nothing read"
        );
    }
}
