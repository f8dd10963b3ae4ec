//! The protobuf of a `WriteRequest`, written by hand from borrowed labels
//! (no message struct, no `String` per label per sample), and snappy.
//!
//! A request is compressed a fragment at a time, as snappy itself does it:
//! its compressor works on blocks of 64 KiB that refer to nothing outside
//! themselves, and a raw snappy stream is the whole length followed by those
//! blocks' elements. So only one fragment of a request is ever held
//! uncompressed, and a request can carry many fragments: fewer requests and
//! queue files per sample, for the same memory.

use prost::encoding::{encode_varint, encoded_len_varint, WireType};

use super::{Batch, BATCH_BYTES};

/// The protobuf compressed at a time: a quarter of snappy's own block, as
/// small as compresses about as well (the labels a fragment repeats are
/// those of neighbouring series), since it and its compressed copy are
/// what a request holds beyond its compressed bytes.
const FRAGMENT_BYTES: usize = 16 << 10;

/// Room kept at the front of a request's body for its length (a varint of a `u32`).
const LENGTH_ROOM: usize = 5;

/// A `WriteRequest` being written, series by series. Its buffer, its
/// compressor and the sealed batch's are reused from batch to batch and
/// from snapshot to snapshot.
pub struct Builder {
    /// The fragment being written, uncompressed.
    buf: Vec<u8>,
    /// The request's protobuf bytes so far, the fragment's included.
    len: usize,
    samples: u32,
    snappy: snap::raw::Encoder,
    /// The fragment compressed.
    compressed: Vec<u8>,
    /// The request being written (its body: [`LENGTH_ROOM`], then the
    /// compressed fragments), then sealed.
    out: Batch,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            buf: Vec::with_capacity(FRAGMENT_BYTES + FRAGMENT_BYTES / 8),
            len: 0,
            samples: 0,
            snappy: snap::raw::Encoder::new(),
            compressed: Vec::new(),
            out: Batch::default(),
        }
    }

    /// Starts the batches of a snapshot at `at_ms`.
    pub fn start(&mut self, at_ms: i64) {
        self.restart();
        self.out.at_ms = at_ms;
    }

    fn restart(&mut self) {
        self.buf.clear();
        self.len = 0;
        self.samples = 0;
        self.out.body.clear();
        self.out.body.resize(LENGTH_ROOM, 0);
    }

    /// Writes one `TimeSeries` of one sample straight from borrowed labels,
    /// which come sorted by name.
    pub fn add<'l>(
        &mut self,
        labels: impl Iterator<Item = (&'l str, &'l str)> + Clone,
        value: f64,
        sealed: &mut dyn FnMut(&Batch),
    ) {
        let labels_len = labels.clone().map(|(k, v)| label_field_len(k, v)).sum();
        self.series(labels_len, value, sealed, |buf| {
            for (k, v) in labels {
                label_field(k, v, buf);
            }
        });
    }

    /// Writes one `TimeSeries` of one sample from its labels' fields, each
    /// written by [`label_field`], in the order of their names.
    pub fn add_fields(&mut self, fields: &[&[u8]], value: f64, sealed: &mut dyn FnMut(&Batch)) {
        let labels_len = fields.iter().map(|f| f.len()).sum();
        self.series(labels_len, value, sealed, |buf| {
            for f in fields {
                buf.extend_from_slice(f);
            }
        });
    }

    /// A `TimeSeries` whose label fields `labels` writes (`labels_len` bytes).
    fn series(
        &mut self,
        labels_len: usize,
        value: f64,
        sealed: &mut dyn FnMut(&Batch),
        labels: impl FnOnce(&mut Vec<u8>),
    ) {
        let at_ms = self.out.at_ms;
        let sample_len = 1 + 8 + 1 + encoded_len_varint(at_ms as u64);
        let series_len = labels_len + field_len(sample_len);
        let before = self.buf.len();
        let buf = &mut self.buf;
        buf.reserve(field_len(series_len));
        // `WriteRequest.timeseries`, then its `labels`.
        buf.push(key(1, WireType::LengthDelimited));
        length(series_len, buf);
        labels(buf);
        // Its one sample: the value and the time.
        buf.push(key(2, WireType::LengthDelimited));
        length(sample_len, buf);
        buf.push(key(1, WireType::SixtyFourBit));
        buf.extend_from_slice(&value.to_le_bytes());
        buf.push(key(2, WireType::Varint));
        encode_varint(at_ms as u64, buf);
        self.len += self.buf.len() - before;
        self.samples += 1;
        if self.buf.len() >= FRAGMENT_BYTES {
            self.compress_fragment();
        }
        if self.len >= BATCH_BYTES {
            self.seal(sealed);
        }
    }

    /// Appends the fragment's compressed elements to the body: snappy's
    /// output for it without the length it starts with.
    fn compress_fragment(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        // Grown to size, not doubled: both buffers live as long as push.
        let room = snap::raw::max_compress_len(self.buf.len());
        if self.compressed.len() < room {
            self.compressed.reserve_exact(room - self.compressed.len());
            self.compressed.resize(room, 0);
        }
        let n = self
            .snappy
            .compress(&self.buf, &mut self.compressed)
            .expect("a fragment is far below snappy's size limit");
        let own_length = encoded_len_varint(self.buf.len() as u64);
        let elements = &self.compressed[own_length..n];
        let body = &mut self.out.body;
        if body.capacity() - body.len() < elements.len() {
            body.reserve_exact(elements.len().max(FRAGMENT_BYTES / 2));
        }
        body.extend_from_slice(elements);
        self.buf.clear();
    }

    /// Hands what was added since the last batch, if anything, to `sealed`
    /// as a compressed batch, and starts the next.
    pub fn seal(&mut self, sealed: &mut dyn FnMut(&Batch)) {
        if self.samples == 0 {
            return;
        }
        self.compress_fragment();
        // The whole length, just before the elements.
        let mut length = Vec::with_capacity(LENGTH_ROOM);
        encode_varint(self.len as u64, &mut length);
        let start = LENGTH_ROOM - length.len();
        self.out.body[start..LENGTH_ROOM].copy_from_slice(&length);
        self.out.body.drain(..start);
        self.out.samples = self.samples;
        sealed(&self.out);
        self.restart();
    }
}

/// One `Label` of a `TimeSeries` (its field 1): `name` and `value`.
pub fn label_field(name: &str, value: &str, buf: &mut Vec<u8>) {
    buf.push(key(1, WireType::LengthDelimited));
    length(field_len(name.len()) + field_len(value.len()), buf);
    for (tag, text) in [(1, name), (2, value)] {
        buf.push(key(tag, WireType::LengthDelimited));
        length(text.len(), buf);
        buf.extend_from_slice(text.as_bytes());
    }
}

/// The bytes [`label_field`] writes.
fn label_field_len(name: &str, value: &str) -> usize {
    field_len(field_len(name.len()) + field_len(value.len()))
}

/// The key of field `tag` (below 16: one byte) of wire type `wire`.
const fn key(tag: u8, wire: WireType) -> u8 {
    tag << 3 | wire as u8
}

/// A length as a varint: one byte, for a label's, as a rule.
fn length(len: usize, buf: &mut Vec<u8>) {
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => buf.push(short),
        _ => encode_varint(len as u64, buf),
    }
}

/// The length of a length-delimited field of `len` bytes (tags below 16 take one byte).
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}
