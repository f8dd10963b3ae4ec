//! A log's bytes cut into rows, each held only while it is at most
//! [`MAX_ROW_BYTES`]. The rows are read as csv_core reads them (`\r`, `\n`
//! and `\r\n` each end a row, empty lines are skipped, a line is counted at
//! each `\n`), but a line holding no quote, which is nearly every line the
//! writers make (they quote a field only when they must), is cut at its
//! commas here: the same fields at a fraction of the cost. Any other line
//! goes through csv_core.

use std::io::{BufRead, ErrorKind};

use super::rows::Rows;

/// The longest row read; a longer one is skipped and named, so that no file
/// (a corrupt one, or one gigabyte of a single field behind a small `.gz`)
/// can make a reader hold more than this.
pub const MAX_ROW_BYTES: usize = 1 << 20;
/// The most fields a row may have (a log row has a dozen).
pub const MAX_FIELDS: usize = 256;

/// The room for bytes read and not yet cut.
const BLOCK: usize = 1 << 18;
/// A line longer than this that is not whole in the room goes through
/// csv_core, which bounds it; the room always has space for a line this
/// long and more bytes read after it.
const FAST_MAX: usize = 1 << 16;
const _: () = assert!(FAST_MAX < MAX_ROW_BYTES && 2 * FAST_MAX <= BLOCK);

/// Where reading rows stopped; a row not read is named with the line it
/// starts on.
pub enum Next {
    /// At the number of rows or bytes asked for.
    Full,
    /// A row longer than [`MAX_ROW_BYTES`] or with more than [`MAX_FIELDS`]
    /// fields, skipped.
    TooLong(u64),
    /// A row whose field (1-based) is not UTF-8, skipped.
    NotUtf8(u64, usize),
    /// The file cannot be read on from here.
    Failed(u64, std::io::Error),
    End,
}

/// Where cutting plain lines stopped.
enum Cut {
    /// After one row or more.
    Rows,
    /// At a line that is not whole in the room.
    Incomplete,
    /// At a line that holds a quote, is not text, or has too many fields.
    NotPlain,
}

/// CSV rows of one file, each held only while it is at most [`MAX_ROW_BYTES`].
pub struct Bounded {
    input: Box<dyn BufRead + Send>,
    /// Bytes read; those from `pos` to `end` are not cut yet.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// The line at `pos`.
    line: u64,
    /// Whether the start of the file was looked at for a byte order mark.
    started: bool,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Bounded {
    pub fn new(input: Box<dyn BufRead + Send>) -> Bounded {
        // csv_core strips a byte order mark on its first call only, and may
        // first be called for a row in the middle of the file: that call is
        // spent here, on an empty line (the file's own mark is stripped in
        // `next`).
        let mut core = csv_core::Reader::new();
        core.read_record(b"\n", &mut [0], &mut [0]);
        Bounded {
            input,
            buf: vec![0; BLOCK],
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            started: false,
            core,
            out: vec![0; 1024],
            ends: vec![0; 32],
        }
    }

    /// Reads rows onto the end of `rows` until it holds `max_rows` rows or
    /// `max_bytes` bytes of text ([`Next::Full`]), up to a row that cannot
    /// be read, or to the end.
    pub fn read(&mut self, rows: &mut Rows, max_rows: usize, max_bytes: usize) -> Next {
        if !self.started {
            self.started = true;
            while self.end < 3 && !self.eof {
                if let Err(e) = self.fill() {
                    return Next::Failed(self.line, e);
                }
            }
            // As csv_core would on its first call.
            if self.buf[..self.end].starts_with(b"\xef\xbb\xbf") {
                self.pos = 3;
            }
        }
        loop {
            if rows.len() >= max_rows || rows.bytes() >= max_bytes {
                return Next::Full;
            }
            let line = self.line;
            if let Err(e) = self.skip_empty_lines() {
                return Next::Failed(line, e);
            }
            if self.pos == self.end {
                return Next::End;
            }
            match self.cut_plain(rows, max_rows, max_bytes) {
                Cut::Rows => {}
                Cut::Incomplete if self.end - self.pos <= FAST_MAX => {
                    if let Err(e) = self.fill() {
                        return Next::Failed(self.line, e);
                    }
                }
                // Quoted, not text, too many fields, or too long to wait
                // for here: csv_core reads it and says which.
                Cut::Incomplete | Cut::NotPlain => {
                    if let Some(next) = self.through_core(rows) {
                        return next;
                    }
                }
            }
        }
    }

    /// Cuts the lines from `pos` that are whole in the room, hold no quote
    /// and are text onto `rows`, each of at most [`MAX_FIELDS`] fields; none
    /// is started once `rows` holds `max_rows` rows or `max_bytes` bytes.
    /// The room is checked as UTF-8 in one go, and only as far as the rows
    /// will take: that is what makes cutting cheap.
    fn cut_plain(&mut self, rows: &mut Rows, max_rows: usize, max_bytes: usize) -> Cut {
        let last_end = |b: &[u8]| memchr::memrchr2(b'\n', b'\r', b);
        let buf = &self.buf[self.pos..self.end];
        let cap = (max_bytes - rows.bytes()).min(buf.len());
        let whole = match last_end(&buf[..cap]) {
            _ if self.eof && cap == buf.len() => Some(buf.len()),
            Some(i) => Some(i),
            None => memchr::memchr2(b'\n', b'\r', &buf[cap..])
                .map(|i| cap + i)
                .or(self.eof.then_some(buf.len())),
        };
        let Some(whole) = whole else {
            return Cut::Incomplete;
        };
        let plain = match memchr::memchr(b'"', &buf[..whole]) {
            Some(quote) => last_end(&buf[..quote]),
            None => Some(whole),
        };
        let text = plain.and_then(|n| match std::str::from_utf8(&buf[..n]) {
            Ok(text) => Some(text),
            Err(e) => {
                last_end(&buf[..e.valid_up_to()]).and_then(|n| std::str::from_utf8(&buf[..n]).ok())
            }
        });
        let Some(text) = text else {
            return Cut::NotPlain;
        };
        let (bytes, mut start, mut line, mut cut) = (text.as_bytes(), 0, self.line, Cut::NotPlain);
        for stop in memchr::memchr2_iter(b'\n', b'\r', bytes).chain([bytes.len()]) {
            if start < stop {
                let full = rows.len() >= max_rows || rows.bytes() >= max_bytes;
                if full || !rows.push_split(&text[start..stop], line, MAX_FIELDS) {
                    break;
                }
                cut = Cut::Rows;
            }
            line += u64::from(bytes.get(stop) == Some(&b'\n'));
            start = stop + 1;
        }
        self.pos += start.min(bytes.len());
        self.line = line;
        cut
    }

    /// Steps past the ends of lines at `pos`, reading on as needed.
    fn skip_empty_lines(&mut self) -> std::io::Result<()> {
        loop {
            while let Some(&b) = self.buf[..self.end].get(self.pos) {
                match b {
                    b'\n' => self.line += 1,
                    b'\r' => {}
                    _ => return Ok(()),
                }
                self.pos += 1;
            }
            if self.eof {
                return Ok(());
            }
            self.fill()?;
        }
    }

    /// Moves the bytes not cut yet to the front and reads once after them
    /// (`eof` when that reads nothing). Called only with room to read into.
    fn fill(&mut self) -> std::io::Result<()> {
        self.buf.copy_within(self.pos..self.end, 0);
        (self.end, self.pos) = (self.end - self.pos, 0);
        debug_assert!(self.end < self.buf.len());
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            return Ok(());
        }
    }

    /// Reads the row at `pos` with csv_core onto `rows`, bounded: past the
    /// bound the row is read on to its end, into the same room, and
    /// skipped. `None` when the row was read.
    fn through_core(&mut self, rows: &mut Rows) -> Option<Next> {
        use csv_core::ReadRecordResult as R;
        let line = self.line;
        self.core.set_line(line);
        let (mut outlen, mut endlen, mut over) = (0, 0, false);
        loop {
            if self.pos == self.end && !self.eof {
                if let Err(e) = self.fill() {
                    return Some(Next::Failed(line, e));
                }
            }
            let (res, nin, nout, nend) = self.core.read_record(
                &self.buf[self.pos..self.end],
                &mut self.out[outlen..],
                &mut self.ends[endlen..],
            );
            self.pos += nin;
            self.line = self.core.line();
            outlen += nout;
            endlen += nend;
            match res {
                R::InputEmpty => {}
                R::OutputFull if self.out.len() >= MAX_ROW_BYTES => (over, outlen) = (true, 0),
                R::OutputFull => self.out.resize((self.out.len() * 2).min(MAX_ROW_BYTES), 0),
                R::OutputEndsFull if self.ends.len() >= MAX_FIELDS => (over, endlen) = (true, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record if over => return Some(Next::TooLong(line)),
                R::Record => {
                    let ends = &self.ends[..endlen];
                    return match text(&self.out, ends) {
                        Ok(text) => {
                            let mut start = 0;
                            rows.push_fields(
                                ends.iter().map(|&end| {
                                    let field = &text[start..end];
                                    start = end;
                                    field
                                }),
                                line,
                            );
                            None
                        }
                        Err(field) => Some(Next::NotUtf8(line, field)),
                    };
                }
                R::End => return Some(Next::End),
            }
        }
    }
}

/// The text of a row whose fields end at `ends` in `out`, or which field
/// (1-based) is not UTF-8. The row is checked in one go, then cut at the
/// fields' ends; a cut that is no character boundary means that field is
/// not text.
fn text<'a>(out: &'a [u8], ends: &[usize]) -> Result<&'a str, usize> {
    let len = ends.last().copied().unwrap_or(0);
    let text = std::str::from_utf8(&out[..len]).map_err(|e| {
        ends.iter()
            .take_while(|&&end| end <= e.valid_up_to())
            .count()
            + 1
    })?;
    match ends.iter().position(|&end| !text.is_char_boundary(end)) {
        Some(i) => Err(i + 1),
        None => Ok(text),
    }
}
