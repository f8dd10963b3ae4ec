//! The push queue: every batch waits here, on disk in `state_dir/push/`,
//! until the receiver took it, so that a cut of the line or of the receiver,
//! and a restart meanwhile, lose nothing. One file per batch, named by a
//! sequence number: the oldest is sent first, and when the files take more
//! disk than the bound, the oldest go.
//!
//! Memory holds only the numbers of the first and next batch and the bytes
//! used, whatever waits on disk.

use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::encode::Batch;

/// A batch file starts with this, then the samples (u32) and the time (i64),
/// little-endian, then the request body.
const MAGIC: &[u8; 5] = b"CMRW1";
const HEADER: usize = MAGIC.len() + 4 + 8;
const SUFFIX: &str = ".rw";

/// What a push to the queue dropped to stay within its bound.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub batches: u64,
    pub samples: u64,
}

/// The batches on disk, oldest first.
#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    max_bytes: u64,
    /// The oldest batch's number (it may be gone from disk: then the next is tried).
    first: u64,
    /// The number the next batch gets.
    next: u64,
    /// Disk taken by the batch files, in bytes of allocated blocks.
    bytes: u64,
    /// The batch being sent: never dropped under the sender.
    in_flight: Option<u64>,
}

impl Queue {
    /// Opens `dir` (created if missing) with what an earlier run left in it.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Queue> {
        std::fs::create_dir_all(dir)?;
        let mut q = Queue {
            dir: dir.to_owned(),
            max_bytes,
            first: u64::MAX,
            next: 0,
            bytes: 0,
            in_flight: None,
        };
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                // A batch whose write a crash interrupted: it was never in the queue.
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some(seq) = name
                .strip_suffix(SUFFIX)
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            q.first = q.first.min(seq);
            q.next = q.next.max(seq + 1);
            q.bytes += entry.metadata().map_or(0, |m| disk_bytes(&m));
        }
        if q.first == u64::MAX {
            q.first = q.next;
        }
        Ok(q)
    }

    /// Disk taken, bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whether no batch waits.
    pub fn is_empty(&self) -> bool {
        self.first >= self.next
    }

    /// Batches waiting (some may have gone from disk behind the queue's back).
    pub fn len(&self) -> u64 {
        self.next - self.first
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }

    /// Adds `batch` behind the others, written but not synced to disk (see
    /// [`Queue::sync_from`]), then drops the oldest while the queue takes more
    /// than its bound.
    pub fn push(&mut self, batch: &Batch) -> io::Result<Dropped> {
        let seq = self.next;
        let path = self.path(seq);
        let tmp = self.dir.join(format!(".{seq:020}.tmp"));
        let mut head = [0u8; HEADER];
        head[..MAGIC.len()].copy_from_slice(MAGIC);
        head[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&batch.samples.to_le_bytes());
        head[MAGIC.len() + 4..].copy_from_slice(&batch.at_ms.to_le_bytes());
        // Room first, so that the disk never holds more than the bound, not
        // even while the new file is written.
        let mut dropped = self.bound(estimate(HEADER + batch.body.len()));
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| {
                f.write_all(&head)?;
                f.write_all(&batch.body)?;
                f.metadata()
            })
            .and_then(|m| std::fs::rename(&tmp, &path).map(|()| m));
        let meta = match written {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        self.next += 1;
        self.bytes += disk_bytes(&meta);
        let after = self.bound(0);
        dropped.batches += after.batches;
        dropped.samples += after.samples;
        Ok(dropped)
    }

    /// The number the next batch pushed gets.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Syncs to disk the batches from number `first` on that are still
    /// queued, and the folder. Until then a crash can leave one of them cut
    /// short: the next start sets it aside, as any file it cannot read.
    pub fn sync_from(&self, first: u64) -> io::Result<()> {
        for seq in first.max(self.first)..self.next {
            match std::fs::File::open(self.path(seq)) {
                Ok(f) => f.sync_all()?,
                // Sent or dropped meanwhile.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all())
    }

    /// Drops the oldest batches (never the one being sent) until the queue
    /// and `coming` more bytes fit its bound.
    fn bound(&mut self, coming: u64) -> Dropped {
        let mut dropped = Dropped::default();
        let mut seq = self.first;
        while self.bytes + coming > self.max_bytes && seq < self.next {
            if Some(seq) != self.in_flight {
                if let Some(samples) = self.remove(seq) {
                    dropped.batches += 1;
                    dropped.samples += u64::from(samples);
                }
            }
            seq += 1;
        }
        self.advance_first();
        dropped
    }

    /// Removes batch `seq`; its samples, if it was there.
    fn remove(&mut self, seq: u64) -> Option<u32> {
        let samples = read_header(&self.path(seq)).map_or(0, |(s, _)| s);
        self.unlink(seq).then_some(samples)
    }

    /// Deletes batch `seq`'s file, taking its disk off the queue's; whether it was there.
    fn unlink(&mut self, seq: u64) -> bool {
        let path = self.path(seq);
        let Ok(meta) = std::fs::metadata(&path) else {
            return false;
        };
        if std::fs::remove_file(&path).is_err() {
            return false;
        }
        self.bytes = self.bytes.saturating_sub(disk_bytes(&meta));
        true
    }

    /// Moves `first` past batches that are gone.
    fn advance_first(&mut self) {
        while self.first < self.next
            && Some(self.first) != self.in_flight
            && !self.path(self.first).exists()
        {
            self.first += 1;
        }
    }

    /// The oldest batch, marked as being sent; a file that cannot be read as a
    /// batch is set aside (said in the journal) and the next one taken.
    pub fn front(&mut self) -> Option<(u64, Batch)> {
        self.advance_first();
        while self.first < self.next {
            let seq = self.first;
            let path = self.path(seq);
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(parse)
            {
                Ok(batch) => {
                    self.in_flight = Some(seq);
                    return Some((seq, batch));
                }
                Err(why) => {
                    if path.exists() {
                        tracing::warn!(
                            "push: {} is not a batch of samples ({why}); set aside",
                            path.display()
                        );
                        let size = std::fs::metadata(&path).map_or(0, |m| disk_bytes(&m));
                        if crate::util::set_aside(&path, "bad").is_ok() {
                            self.bytes = self.bytes.saturating_sub(size);
                        }
                    }
                    self.first += 1;
                }
            }
        }
        None
    }

    /// The batch being sent is done with (taken, or refused for good): it goes.
    pub fn done(&mut self, seq: u64) {
        if self.in_flight == Some(seq) {
            self.in_flight = None;
        }
        self.unlink(seq);
        self.advance_first();
    }

    /// The batch being sent stays for another try.
    pub fn release(&mut self) {
        self.in_flight = None;
    }
}

/// The disk a file of `len` bytes takes, in whole 4 KiB blocks (what most
/// file systems allocate); corrected with the real figure once written.
fn estimate(len: usize) -> u64 {
    (len as u64).div_ceil(4096) * 4096
}

/// A file's allocated size: what the disk gives up for it.
fn disk_bytes(m: &std::fs::Metadata) -> u64 {
    m.blocks() * 512
}

fn read_header(path: &Path) -> Option<(u32, i64)> {
    use std::io::Read;
    let mut head = [0u8; HEADER];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    header(&head)
}

fn header(bytes: &[u8]) -> Option<(u32, i64)> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let samples = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let at_ms = i64::from_le_bytes(rest.get(4..12)?.try_into().ok()?);
    Some((samples, at_ms))
}

/// A batch file's bytes as the batch, its body moved down in the same
/// buffer rather than copied into a second one.
fn parse(mut bytes: Vec<u8>) -> Result<Batch, String> {
    let (samples, at_ms) = header(&bytes).ok_or("no batch header")?;
    bytes.drain(..HEADER);
    Ok(Batch {
        samples,
        at_ms,
        body: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(i: i64, size: usize) -> Batch {
        Batch {
            samples: 10,
            at_ms: i,
            body: vec![i as u8; size],
        }
    }

    #[test]
    fn batches_come_back_oldest_first_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path(), 1 << 20).unwrap();
        for i in 0..3 {
            assert_eq!(q.push(&batch(i, 100)).unwrap(), Dropped::default());
        }
        let (seq, b) = q.front().unwrap();
        assert_eq!(b, batch(0, 100));
        q.done(seq);
        assert_eq!(q.next_seq(), 3);
        q.sync_from(0).expect("a batch sent meanwhile is passed over");
        drop(q);
        let mut q = Queue::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(q.len(), 2);
        let (seq, b) = q.front().unwrap();
        assert_eq!(b.at_ms, 1);
        q.release();
        assert_eq!(q.front().unwrap().0, seq, "a released batch is sent again");
        q.done(seq);
        q.push(&batch(3, 100)).unwrap();
        let order: Vec<i64> = std::iter::from_fn(|| {
            let (s, b) = q.front()?;
            q.done(s);
            Some(b.at_ms)
        })
        .collect();
        assert_eq!(order, [2, 3]);
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn past_the_bound_the_oldest_go_but_never_the_one_being_sent() {
        let dir = tempfile::tempdir().unwrap();
        // Each file takes at least one 4 KiB block: 64 KiB hold 16 or fewer.
        let mut q = Queue::open(dir.path(), 64 << 10).unwrap();
        let mut dropped = Dropped::default();
        q.push(&batch(0, 3000)).unwrap();
        let (sending, _) = q.front().unwrap();
        for i in 1..100 {
            let d = q.push(&batch(i, 3000)).unwrap();
            dropped.batches += d.batches;
            dropped.samples += d.samples;
            assert!(q.bytes() <= 64 << 10, "{} bytes", q.bytes());
        }
        assert!(dropped.batches > 80, "{dropped:?}");
        assert_eq!(dropped.samples, dropped.batches * 10);
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| disk_bytes(&e.unwrap().metadata().unwrap()))
            .sum();
        assert_eq!(on_disk, q.bytes(), "the count is the disk's");
        q.done(sending);
        let (_, next) = q.front().unwrap();
        assert_eq!(next.at_ms, 100 - q.len() as i64, "the newest are kept");
    }

    #[test]
    fn a_torn_write_is_not_a_batch_and_a_bad_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".00000000000000000007.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join("00000000000000000003.rw"), b"junk").unwrap();
        std::fs::write(dir.path().join("00000000000000000004.rw"), {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&5u32.to_le_bytes());
            b.extend_from_slice(&9i64.to_le_bytes());
            b.extend_from_slice(b"body");
            b
        })
        .unwrap();
        let mut q = Queue::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(q.len(), 2);
        let (seq, b) = q.front().unwrap();
        assert_eq!(
            (seq, b.samples, b.at_ms, b.body.as_slice()),
            (4, 5, 9, &b"body"[..])
        );
        assert!(!dir.path().join(".00000000000000000007.tmp").exists());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("00000000000000000003.rw.bad-")),
            "{names:?}"
        );
        q.push(&batch(1, 10)).unwrap();
        assert_eq!(q.len(), 2, "numbers go on after the highest found");
    }
}
