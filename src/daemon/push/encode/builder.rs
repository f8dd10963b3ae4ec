//! The protobuf of a `WriteRequest`, written by hand from borrowed labels
//! (no message struct, no `String` per label per sample), and snappy.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};

use super::{Batch, BATCH_BYTES};

/// A `WriteRequest` being written, series by series. Its buffer, its
/// compressor and the sealed batch's are reused from batch to batch and
/// from snapshot to snapshot.
pub struct Builder {
    buf: Vec<u8>,
    samples: u32,
    snappy: snap::raw::Encoder,
    /// The last sealed batch.
    out: Batch,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            buf: Vec::with_capacity(BATCH_BYTES + BATCH_BYTES / 8),
            samples: 0,
            snappy: snap::raw::Encoder::new(),
            out: Batch::default(),
        }
    }

    /// Starts the batches of a snapshot at `at_ms`.
    pub fn start(&mut self, at_ms: i64) {
        self.buf.clear();
        self.samples = 0;
        self.out.at_ms = at_ms;
    }

    /// Writes one `TimeSeries` of one sample straight from borrowed labels.
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64, sealed: &mut dyn FnMut(&Batch)) {
        let at_ms = self.out.at_ms;
        let label_len = |(k, v): &(&str, &str)| field_len(k.len()) + field_len(v.len());
        let sample_len = 1 + 8 + 1 + encoded_len_varint(at_ms as u64);
        let series_len: usize = labels
            .iter()
            .map(|l| field_len(label_len(l)))
            .sum::<usize>()
            + field_len(sample_len);
        encode_key(1, WireType::LengthDelimited, &mut self.buf);
        encode_varint(series_len as u64, &mut self.buf);
        for l in labels {
            encode_key(1, WireType::LengthDelimited, &mut self.buf);
            encode_varint(label_len(l) as u64, &mut self.buf);
            for (tag, text) in [(1, l.0), (2, l.1)] {
                encode_key(tag, WireType::LengthDelimited, &mut self.buf);
                encode_varint(text.len() as u64, &mut self.buf);
                self.buf.extend_from_slice(text.as_bytes());
            }
        }
        encode_key(2, WireType::LengthDelimited, &mut self.buf);
        encode_varint(sample_len as u64, &mut self.buf);
        encode_key(1, WireType::SixtyFourBit, &mut self.buf);
        self.buf.extend_from_slice(&value.to_le_bytes());
        encode_key(2, WireType::Varint, &mut self.buf);
        encode_varint(at_ms as u64, &mut self.buf);
        self.samples += 1;
        if self.buf.len() >= BATCH_BYTES {
            if let Some(b) = self.seal() {
                sealed(b);
            }
        }
    }

    /// The compressed batch of what was added since the last one, if any.
    pub fn seal(&mut self) -> Option<&Batch> {
        if self.samples == 0 {
            return None;
        }
        let body = &mut self.out.body;
        body.resize(snap::raw::max_compress_len(self.buf.len()), 0);
        let n = self
            .snappy
            .compress(&self.buf, body)
            .expect("a batch is far below snappy's size limit");
        body.truncate(n);
        self.out.samples = self.samples;
        self.buf.clear();
        self.samples = 0;
        Some(&self.out)
    }
}

/// The length of a length-delimited field of `len` bytes (tags below 16 take one byte).
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}


