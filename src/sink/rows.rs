//! Rows as the log reader hands them from its thread to the one using them:
//! a batch's text in one buffer and each field's end, so that a row is
//! copied once, as one piece, and nothing is allocated per row or field.

use csv::StringRecord;

/// Rows one after another, each with the line it starts on.
#[derive(Default)]
pub struct Rows {
    text: String,
    /// Each field's end in `text`. A field starts one byte past the end of
    /// the field before it in its row (past the separator), the first one
    /// where its row starts. Offsets fit in 32 bits: a batch is bounded.
    ends: Vec<u32>,
    /// Each row: where its text starts, the index of its first field in
    /// `ends`, its line.
    rows: Vec<(u32, u32, u64)>,
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The bytes of text held.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// Room taken, in bytes, whether used or not.
    pub fn capacity(&self) -> usize {
        self.text.capacity() + 4 * self.ends.capacity() + 16 * self.rows.capacity()
    }

    /// Holds no row, keeping its room.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.rows.clear();
    }

    /// Row `i`.
    pub fn get(&self, i: usize) -> Row<'_> {
        let (start, first, line) = self.rows[i];
        let last = self
            .rows
            .get(i + 1)
            .map_or(self.ends.len(), |r| r.1 as usize);
        Row {
            text: &self.text,
            start: start as usize,
            ends: &self.ends[first as usize..last],
            line,
        }
    }

    /// Every row, in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Adds a row written as fields separated by commas (it holds no quote),
    /// on `line`; false, adding nothing, if it has more than `max_fields`.
    pub fn push_split(&mut self, row: &str, line: u64, max_fields: usize) -> bool {
        let (start, first) = (self.text.len(), self.ends.len());
        let ends = &mut self.ends;
        commas(row.as_bytes(), |i| ends.push((start + i) as u32));
        ends.push((start + row.len()) as u32);
        if self.ends.len() - first > max_fields {
            self.ends.truncate(first);
            return false;
        }
        self.text.push_str(row);
        self.rows.push((start as u32, first as u32, line));
        true
    }

    /// Adds a row of `fields`, on `line`.
    pub fn push_fields<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>, line: u64) {
        let (start, first) = (self.text.len(), self.ends.len());
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            self.text.push_str(field);
            self.ends.push(self.text.len() as u32);
        }
        self.rows.push((start as u32, first as u32, line));
    }
}

/// Calls `each` with where each comma in `bytes` is, in order, looking at
/// eight bytes at a time: a row has a comma every few bytes, too close
/// together for memchr, which is made for bytes that are rare.
fn commas(bytes: &[u8], mut each: impl FnMut(usize)) {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const LOW7: u64 = ONES * 0x7f;
    let (words, rest) = bytes.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        // Zero where a byte is a comma; then the high bit of exactly those
        // bytes (adding 0x7f to a byte's low seven bits never carries out).
        let x = u64::from_le_bytes(*word) ^ (ONES * u64::from(b','));
        let mut found = !(((x & LOW7) + LOW7) | x | LOW7);
        while found != 0 {
            each(8 * i + found.trailing_zeros() as usize / 8);
            found &= found - 1;
        }
    }
    let base = 8 * words.len();
    for (i, _) in rest.iter().enumerate().filter(|(_, &b)| b == b',') {
        each(base + i);
    }
}

/// One row of a [`Rows`].
#[derive(Clone, Copy)]
pub struct Row<'a> {
    text: &'a str,
    start: usize,
    ends: &'a [u32],
    line: u64,
}

impl<'a> Row<'a> {
    /// The line the row starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let (text, mut start) = (self.text, self.start);
        self.ends.iter().map(move |&end| {
            let field = &text[start..end as usize];
            start = end as usize + 1;
            field
        })
    }

    /// The row as a record, its line as its position (for serde).
    pub fn to_record(self, record: &mut StringRecord) {
        record.clear();
        for field in self.iter() {
            record.push_field(field);
        }
        let mut position = csv::Position::new();
        position.set_line(self.line);
        record.set_position(Some(position));
    }
}

#[cfg(test)]
mod tests {
    /// Every comma, wherever it falls in a word, and no byte that only
    /// looks like one in some bits.
    #[test]
    fn commas_are_found_a_word_at_a_time() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..rng.usize(0..40))
                .map(|_| [b',', b',', 0xac, 0x2d, 0x2b, 0, 0xff, b'a'][rng.usize(..8)])
                .collect();
            let mut found = Vec::new();
            super::commas(&bytes, |i| found.push(i));
            let want: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b',').collect();
            assert_eq!(found, want, "{bytes:?}");
        }
    }
}
