//! NumPy `.npy` files (format versions 1, 2 and 3), the common way to hand arrays from
//! Python to mote.
//!
//! A file is the magic `\x93NUMPY`, a version `major.minor`, a little-endian header
//! length (`u16` in version 1, `u32` after), a header that is a Python dict literal —
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` — and the elements.
//! The header is parsed by hand (a tiny reader for Python literals). Supported element
//! types are `f4 f8 u1 i1 i2 i4 i8 u2 u4 u8` in either byte order (`<`, `>`, or `=` for
//! this machine's; `|` for one-byte types); every element is converted to `f32`. Only
//! C (row-major) order is read: a Fortran-ordered array of rank ≥ 2 is an error that
//! says how to fix it.
//!
//! Every malformation — bad magic, unknown version, a header that is not the dict
//! numpy writes, a shape whose size overflows, data shorter or longer than the shape —
//! is an [`Error::Format`] naming the file and the byte offset.

use super::csv::Task;
use super::dataset::{Dataset, Targets};
use crate::error::{Error, Result};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An array read from a `.npy` file, converted to `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first (empty for a 0-d array, which holds one value).
    pub shape: Vec<usize>,
    /// The elements in C (row-major) order, converted to `f32`.
    pub data: Vec<f32>,
}

/// Reads the `.npy` file at `path`.
pub fn read(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes).map_err(|e| Error::format(path, e))
}

/// Parses the bytes of a `.npy` file; the error says what is wrong and at which byte.
pub fn parse(bytes: &[u8]) -> std::result::Result<NpyArray, String> {
    let raw = Raw::parse(bytes)?;
    Ok(NpyArray {
        data: raw.map(|n| n.to_f32()),
        shape: raw.shape,
    })
}

/// Writes `data` with dimensions `shape` as a version-1 `.npy` file of `<f4` (version 2
/// if the header would not fit version 1's 64 KiB), as `numpy.save` would.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(data.len()) {
        return Err(Error::Mismatch {
            detail: format!(
                "cannot write {}: shape {shape:?} does not hold the {} values given",
                path.display(),
                data.len()
            ),
        });
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad with spaces so that the data starts on a 64-byte boundary, header ending in '\n'.
    let padded = |prefix: usize| (prefix + header.len() + 1).next_multiple_of(64) - prefix;
    let (version, prefix) = if padded(10) <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let unpadded = prefix + header.len() + 1;
    header.extend(std::iter::repeat_n(
        ' ',
        unpadded.next_multiple_of(64) - unpadded,
    ));
    header.push('\n');
    let mut out = Vec::with_capacity(prefix + header.len() + 4 * data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let len = u32::try_from(header.len()).map_err(|_| Error::Mismatch {
            detail: format!(
                "cannot write {}: shape {shape:?} is too long",
                path.display()
            ),
        })?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}

/// Loads a data set from an inputs file and a labels file.
///
/// `inputs` has shape `[samples, …]`; the rest of its shape is the sample shape (`[1]`
/// for a 1-d array). Its values must be finite. `labels` depends on `task`:
/// - classification: `[samples]` (or `[samples, 1]`) non-negative integers (an integer
///   dtype, or floats with integral values), below `classes` when it is given, which is
///   otherwise the largest label + 1;
/// - regression: `[samples]` (width 1) or `[samples, width]` finite values.
pub fn load(inputs: &Path, labels: &Path, task: Task) -> Result<Dataset> {
    let read_bytes = |path: &Path| std::fs::read(path).map_err(|e| Error::io(path, e));
    let in_bytes = read_bytes(inputs)?;
    let x = Raw::parse(&in_bytes).map_err(|e| Error::format(inputs, e))?;
    let Some((&n, rest)) = x.shape.split_first() else {
        return Err(Error::format(
            inputs,
            "a 0-d array: inputs need a first axis of samples",
        ));
    };
    if n == 0 {
        return Err(Error::format(
            inputs,
            "the array holds no samples (shape [0, …])",
        ));
    }
    let sample_shape = if rest.is_empty() {
        vec![1]
    } else {
        rest.to_vec()
    };
    let sample_len: usize = sample_shape.iter().product();
    if sample_len == 0 {
        return Err(Error::format(
            inputs,
            format!("samples of shape {sample_shape:?} hold no value"),
        ));
    }
    let values = x.map(|v| v.to_f32());
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::format(
            inputs,
            format!(
                "element {i} (sample {}, byte {}) is {v}, not a finite number",
                i / sample_len,
                x.data_start + i * x.dtype.size
            ),
        ));
    }

    let label_bytes = read_bytes(labels)?;
    let y = Raw::parse(&label_bytes).map_err(|e| Error::format(labels, e))?;
    let (m, width) = match (task, y.shape.as_slice()) {
        (_, &[m]) => (m, 1),
        (Task::Classification { .. }, &[m, 1]) => (m, 1),
        (Task::Regression, &[m, w]) if w > 0 => (m, w),
        (Task::Classification { .. }, s) => {
            return Err(Error::format(
                labels,
                format!("class labels must have shape [samples], found {s:?}"),
            ));
        }
        (Task::Regression, s) => {
            return Err(Error::format(
                labels,
                format!(
                    "regression targets must have shape [samples] or [samples, width ≥ 1], found {s:?}"
                ),
            ));
        }
    };
    if m != n {
        return Err(Error::Mismatch {
            detail: format!(
                "{} holds {n} samples but {} holds {m} targets",
                inputs.display(),
                labels.display()
            ),
        });
    }
    let at = |i: usize| y.data_start + i * y.dtype.size;
    let targets = match task {
        Task::Classification { classes } => {
            let mut out = Vec::with_capacity(m);
            for (i, v) in y.map(|v| v).into_iter().enumerate() {
                let l = v.to_label().ok_or_else(|| {
                    Error::format(
                        labels,
                        format!(
                            "label {} of sample {i} (byte {}) is not a class label (an \
                             integer in 0..{})",
                            v.shown(),
                            at(i),
                            u32::MAX
                        ),
                    )
                })?;
                if let Some(c) = classes.filter(|&c| l >= c) {
                    return Err(Error::format(
                        labels,
                        format!(
                            "label {l} of sample {i} (byte {}) is not below the {c} classes",
                            at(i)
                        ),
                    ));
                }
                out.push(l);
            }
            let classes = classes.unwrap_or_else(|| out.iter().max().map_or(0, |&max| max + 1));
            Targets::Classes {
                labels: out,
                classes,
            }
        }
        Task::Regression => {
            let values = y.map(|v| v.to_f32());
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(Error::format(
                    labels,
                    format!(
                        "target {i} (sample {}, byte {}) is {v}, not a finite number",
                        i / width,
                        at(i)
                    ),
                ));
            }
            Targets::Values { values, width }
        }
    };
    Ok(Dataset {
        inputs: values,
        sample_shape,
        targets,
    })
}

/// An element type: kind, size and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Signed,
    Unsigned,
}

impl Dtype {
    /// Parses a `descr` string such as `<f4` or `|u1`.
    fn parse(descr: &str) -> Option<Self> {
        let mut chars = descr.chars();
        let order = chars.next()?;
        let kind = match chars.next()? {
            'f' => Kind::Float,
            'i' => Kind::Signed,
            'u' => Kind::Unsigned,
            _ => return None,
        };
        let size: usize = chars.as_str().parse().ok()?;
        let legal = match kind {
            Kind::Float => matches!(size, 4 | 8),
            Kind::Signed | Kind::Unsigned => matches!(size, 1 | 2 | 4 | 8),
        };
        let big_endian = match order {
            '<' => false,
            '>' => true,
            '=' => cfg!(target_endian = "big"),
            // '|' means "byte order does not apply", which is only true of bytes.
            '|' if size == 1 => false,
            _ => return None,
        };
        legal.then_some(Self {
            kind,
            size,
            big_endian,
        })
    }

    /// Decodes one element from exactly `size` bytes.
    fn decode(self, b: &[u8]) -> Num {
        fn arr<const N: usize>(b: &[u8], big: bool) -> [u8; N] {
            let mut a = [0u8; N];
            for (d, s) in a.iter_mut().zip(b) {
                *d = *s;
            }
            if big {
                a.reverse();
            }
            a
        }
        let be = self.big_endian;
        match (self.kind, self.size) {
            (Kind::Float, 4) => Num::F(f32::from_le_bytes(arr(b, be)) as f64),
            (Kind::Float, _) => Num::F(f64::from_le_bytes(arr(b, be))),
            (Kind::Signed, 1) => Num::I(i8::from_le_bytes(arr(b, be)) as i64),
            (Kind::Signed, 2) => Num::I(i16::from_le_bytes(arr(b, be)) as i64),
            (Kind::Signed, 4) => Num::I(i32::from_le_bytes(arr(b, be)) as i64),
            (Kind::Signed, _) => Num::I(i64::from_le_bytes(arr(b, be))),
            (Kind::Unsigned, 1) => Num::U(u8::from_le_bytes(arr(b, be)) as u64),
            (Kind::Unsigned, 2) => Num::U(u16::from_le_bytes(arr(b, be)) as u64),
            (Kind::Unsigned, 4) => Num::U(u32::from_le_bytes(arr(b, be)) as u64),
            (Kind::Unsigned, _) => Num::U(u64::from_le_bytes(arr(b, be))),
        }
    }
}

/// One decoded element, before conversion.
#[derive(Debug, Clone, Copy)]
enum Num {
    F(f64),
    I(i64),
    U(u64),
}

impl Num {
    fn to_f32(self) -> f32 {
        match self {
            Self::F(v) => v as f32,
            Self::I(v) => v as f32,
            Self::U(v) => v as f32,
        }
    }

    /// The value as a class label in `0..u32::MAX`, if it is one.
    fn to_label(self) -> Option<usize> {
        let v = match self {
            Self::F(v) if v.is_finite() && v.fract() == 0.0 && (0.0..4.3e9).contains(&v) => {
                v as u64
            }
            Self::F(_) => return None,
            Self::I(v) => u64::try_from(v).ok()?,
            Self::U(v) => v,
        };
        usize::try_from(v).ok().filter(|&v| v < u32::MAX as usize)
    }

    fn shown(self) -> String {
        match self {
            Self::F(v) => v.to_string(),
            Self::I(v) => v.to_string(),
            Self::U(v) => v.to_string(),
        }
    }
}

/// A parsed file: its header and where its (length-checked) data lies.
struct Raw<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data_start: usize,
    data: &'a [u8],
}

impl<'a> Raw<'a> {
    fn parse(bytes: &'a [u8]) -> std::result::Result<Self, String> {
        if bytes.get(..6) != Some(MAGIC.as_slice()) {
            return Err("byte 0: not a .npy file (the magic \\x93NUMPY is missing)".into());
        }
        let (Some(&major), Some(&minor)) = (bytes.get(6), bytes.get(7)) else {
            return Err("byte 6: the file ends inside the version".into());
        };
        let (len_size, utf8) = match major {
            1 => (2, false),
            2 => (4, false),
            3 => (4, true),
            _ => {
                return Err(format!(
                    "byte 6: unsupported .npy version {major}.{minor} (1, 2 and 3 are read)"
                ));
            }
        };
        let header_start = 8 + len_size;
        let Some(len_bytes) = bytes.get(8..header_start) else {
            return Err("byte 8: the file ends inside the header length".into());
        };
        let header_len = len_bytes
            .iter()
            .rev()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        let data_start = header_start.saturating_add(header_len);
        let Some(header) = bytes.get(header_start..data_start) else {
            return Err(format!(
                "byte {header_start}: the header of {header_len} bytes runs past the end of \
                 the file ({} bytes)",
                bytes.len()
            ));
        };
        if utf8 && std::str::from_utf8(header).is_err() {
            return Err(format!(
                "byte {header_start}: a version 3 header must be UTF-8"
            ));
        }
        let (dtype, shape, fortran) = parse_header(header, header_start)?;
        if fortran && shape.len() > 1 {
            return Err(format!(
                "byte {header_start}: the array is in Fortran order (fortran_order: True); \
                 only C order is read: save np.ascontiguousarray(a) instead"
            ));
        }
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let Some(nbytes) = count.and_then(|c| c.checked_mul(dtype.size)) else {
            return Err(format!(
                "byte {header_start}: shape {shape:?} has too many elements to address"
            ));
        };
        let have = bytes.len().saturating_sub(data_start);
        if have < nbytes {
            return Err(format!(
                "byte {}: the data is truncated: shape {shape:?} needs {nbytes} bytes from \
                 byte {data_start} but the file holds {have}",
                bytes.len()
            ));
        }
        if have > nbytes {
            return Err(format!(
                "byte {}: {} unexpected bytes after the data of shape {shape:?}",
                data_start + nbytes,
                have - nbytes
            ));
        }
        Ok(Self {
            dtype,
            shape,
            data_start,
            data: bytes.get(data_start..).unwrap_or_default(),
        })
    }

    /// Every element decoded and converted with `f`, in C order.
    fn map<T>(&self, f: impl Fn(Num) -> T) -> Vec<T> {
        self.data
            .chunks_exact(self.dtype.size)
            .map(|c| f(self.dtype.decode(c)))
            .collect()
    }
}

/// A Python literal of the kinds a `.npy` header holds.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Int(i128),
    Seq(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    None,
}

/// Parses the header dict; returns the element type, the shape and `fortran_order`.
fn parse_header(
    header: &[u8],
    offset: usize,
) -> std::result::Result<(Dtype, Vec<usize>, bool), String> {
    let mut p = Parser {
        s: header,
        pos: 0,
        offset,
    };
    let dict = p.value(0)?;
    p.skip_space();
    if p.pos < header.len() {
        return Err(p.error("unexpected text after the header dict"));
    }
    let Value::Dict(entries) = dict else {
        return Err(format!("byte {offset}: the header is not a dict"));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("byte {offset}: the header has no '{key}' entry"))
    };
    let dtype = match get("descr")? {
        Value::Str(d) => Dtype::parse(d).ok_or_else(|| {
            format!("byte {offset}: unsupported dtype '{d}' (read: f4 f8 i1 i2 i4 i8 u1 u2 u4 u8)")
        })?,
        _ => {
            return Err(format!(
                "byte {offset}: structured dtypes (a 'descr' list) are not supported"
            ));
        }
    };
    let Value::Bool(fortran) = *get("fortran_order")? else {
        return Err(format!(
            "byte {offset}: 'fortran_order' is not True or False"
        ));
    };
    let Value::Seq(dims) = get("shape")? else {
        return Err(format!("byte {offset}: 'shape' is not a tuple"));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Value::Int(i) => usize::try_from(*i).ok(),
            _ => None,
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            format!(
                "byte {offset}: 'shape' must be a tuple of non-negative integers that fit memory"
            )
        })?;
    Ok((dtype, shape, fortran))
}

/// A reader for the Python literals of a `.npy` header.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// Where the header starts in the file, for error offsets.
    offset: usize,
}

impl Parser<'_> {
    const MAX_DEPTH: usize = 8;

    fn error(&self, what: &str) -> String {
        format!("byte {}: malformed header: {what}", self.offset + self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<Value, String> {
        if depth > Self::MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_space();
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'{') => self.dict(depth),
            Some(b'(') => self.seq(b')', depth),
            Some(b'[') => self.seq(b']', depth),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.pos += 1;
                }
                match self.s.get(start..self.pos) {
                    Some(b"True") => Ok(Value::Bool(true)),
                    Some(b"False") => Ok(Value::Bool(false)),
                    Some(b"None") => Ok(Value::None),
                    _ => {
                        self.pos = start;
                        Err(self.error("unknown name"))
                    }
                }
            }
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("the header ends early")),
        }
    }

    fn string(&mut self, quote: u8) -> std::result::Result<Value, String> {
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'\\') => return Err(self.error("escapes in strings are not supported")),
                Some(c) if c == quote => break,
                Some(_) => self.pos += 1,
            }
        }
        let text = String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default());
        self.pos += 1;
        Ok(Value::Str(text.into_owned()))
    }

    fn int(&mut self) -> std::result::Result<Value, String> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        let mut v: i128 = 0;
        let mut digits = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(c - b'0')))
                .ok_or_else(|| self.error("integer too large"))?;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            self.pos = start;
            return Err(self.error("expected an integer"));
        }
        // Python 2 wrote long integers as `3L`.
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.pos += 1;
        }
        Ok(Value::Int(if negative { -v } else { v }))
    }

    /// A comma-separated list of values up to `close`, with an optional trailing comma.
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        self.pos += 1;
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(());
            }
            item(self)?;
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.error("expected ',' or a closing bracket")),
            }
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> std::result::Result<Value, String> {
        let mut out = Vec::new();
        self.items(close, |p| {
            out.push(p.value(depth + 1)?);
            Ok(())
        })?;
        Ok(Value::Seq(out))
    }

    fn dict(&mut self, depth: usize) -> std::result::Result<Value, String> {
        let mut out = Vec::new();
        self.items(b'}', |p| {
            let key = p.value(depth + 1)?;
            p.skip_space();
            if p.peek() != Some(b':') {
                return Err(p.error("expected ':' after a dict key"));
            }
            p.pos += 1;
            let value = p.value(depth + 1)?;
            out.push((key, value));
            Ok(())
        })?;
        Ok(Value::Dict(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "mote-npy-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A `.npy` file with the given version, header text and data bytes (no padding).
    fn npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[version, 0]);
        if version == 1 {
            v.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            v.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn hdr(descr: &str, shape: &str) -> String {
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n")
    }

    /// `np.save(f, np.arange(6, dtype='<i8').reshape(2, 3))` from numpy 2.4, verbatim.
    #[test]
    fn reads_what_numpy_writes() {
        let mut file = npy(
            1,
            &format!(
                "{:<117}\n",
                "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }"
            ),
            &[],
        );
        assert_eq!(file.len(), 128);
        for i in 0..6i64 {
            file.extend_from_slice(&i.to_le_bytes());
        }
        let a = parse(&file).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.data, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn every_dtype_and_version() {
        let cases: [(&str, Vec<u8>, f32); 14] = [
            ("<f4", 1.5f32.to_le_bytes().to_vec(), 1.5),
            (">f4", 1.5f32.to_be_bytes().to_vec(), 1.5),
            ("<f8", (-2.25f64).to_le_bytes().to_vec(), -2.25),
            (">f8", (-2.25f64).to_be_bytes().to_vec(), -2.25),
            ("|u1", vec![200], 200.0),
            ("<u1", vec![200], 200.0),
            ("|i1", vec![0xFF], -1.0),
            ("<i2", (-300i16).to_le_bytes().to_vec(), -300.0),
            ("<i4", (-70000i32).to_le_bytes().to_vec(), -70000.0),
            ("<i8", (-5i64).to_le_bytes().to_vec(), -5.0),
            ("<u2", 60000u16.to_le_bytes().to_vec(), 60000.0),
            ("<u4", 70000u32.to_le_bytes().to_vec(), 70000.0),
            ("<u8", 9u64.to_le_bytes().to_vec(), 9.0),
            ("=u4", 7u32.to_ne_bytes().to_vec(), 7.0),
        ];
        for (descr, bytes, want) in cases {
            for version in [1, 2, 3] {
                let mut data = bytes.clone();
                data.extend_from_slice(&bytes);
                let a = parse(&npy(version, &hdr(descr, "(2,)"), &data)).unwrap();
                assert_eq!(
                    (a.shape.as_slice(), a.data.as_slice()),
                    (&[2][..], &[want, want][..]),
                    "{descr} v{version}"
                );
            }
        }
        // A 0-d array holds one value; an empty one none.
        let a = parse(&npy(1, &hdr("<f4", "()"), &3.0f32.to_le_bytes())).unwrap();
        assert_eq!((a.shape, a.data), (vec![], vec![3.0]));
        let a = parse(&npy(1, &hdr("<f4", "(0, 5)"), &[])).unwrap();
        assert_eq!((a.shape, a.data), (vec![0, 5], vec![]));
        // Python 2 long integers.
        let a = parse(&npy(1, &hdr("|u1", "(1L, 2L)"), &[1, 2])).unwrap();
        assert_eq!(a.shape, [1, 2]);
    }

    #[test]
    fn write_then_read() {
        let dir = TempDir::new("roundtrip");
        let path = dir.0.join("a.npy");
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        for shape in [vec![2, 3, 4], vec![24], vec![1, 24, 1]] {
            write_f32(&path, &shape, &data).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!((bytes.len() - 24 * 4) % 64, 0, "header padded to 64 bytes");
            let a = read(&path).unwrap();
            assert_eq!((a.shape, a.data), (shape, data.clone()));
        }
        // Byte for byte what numpy 2.4 writes for np.zeros((2, 3), '<f4').
        write_f32(&path, &[2, 3], &[0.0; 6]).unwrap();
        let want = npy(
            1,
            &format!(
                "{:<117}\n",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
            ),
            &[0; 24],
        );
        assert_eq!(std::fs::read(&path).unwrap(), want);
        write_f32(&path, &[], &[7.0]).unwrap();
        assert_eq!(read(&path).unwrap().data, [7.0]);
        let e = write_f32(&path, &[2, 2], &data).unwrap_err();
        assert!(matches!(e, Error::Mismatch { .. }), "{e}");
        let e = read(&dir.0.join("missing.npy")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }) && e.to_string().contains("missing.npy"));
    }

    #[test]
    fn malformed_files_name_the_byte() {
        let ok = npy(1, &hdr("<f4", "(2,)"), &[0; 8]);
        assert!(parse(&ok).is_ok());
        let check = |bytes: &[u8], want: &str| {
            let e = parse(bytes).unwrap_err();
            assert!(e.contains(want), "wanted {want:?} in {e:?}");
        };
        check(b"", "byte 0: not a .npy file");
        check(b"\x93NUMPX\x01\x00", "byte 0: not a .npy file");
        check(b"\x93NUMPY\x01", "byte 6: the file ends inside the version");
        check(
            b"\x93NUMPY\x04\x00\x00\x00",
            "byte 6: unsupported .npy version 4.0",
        );
        check(
            b"\x93NUMPY\x01\x00\x05",
            "byte 8: the file ends inside the header length",
        );
        check(&ok[..20], "byte 10: the header of");
        // Truncated and overlong data.
        check(&ok[..ok.len() - 1], "the data is truncated");
        let mut long = ok.clone();
        long.push(0);
        check(&long, &format!("byte {}: 1 unexpected bytes", ok.len()));
        // Shapes.
        check(
            &npy(1, &hdr("<f4", "(4294967296, 4294967296, 4294967296)"), &[]),
            "too many elements",
        );
        check(&npy(1, &hdr("<f4", "(-1,)"), &[]), "non-negative integers");
        check(
            &npy(
                1,
                &hdr("<f4", "(99999999999999999999999999999999999999999,)"),
                &[],
            ),
            "integer too large",
        );
        // Dtypes and order.
        check(
            &npy(1, &hdr("<f2", "(1,)"), &[0, 0]),
            "unsupported dtype '<f2'",
        );
        check(
            &npy(1, &hdr("|i4", "(1,)"), &[0; 4]),
            "unsupported dtype '|i4'",
        );
        check(&npy(1, &hdr("<U3", "(1,)"), &[0; 12]), "unsupported dtype");
        check(
            &npy(
                1,
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                &[0; 4],
            ),
            "structured dtypes",
        );
        check(
            &npy(
                1,
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1)}",
                &[0; 8],
            ),
            "Fortran order",
        );
        // Fortran order is the same layout for rank 1.
        assert!(
            parse(&npy(
                1,
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}",
                &[0; 8]
            ))
            .is_ok()
        );
        // Malformed dicts: the offset is inside the header (which starts at byte 10).
        check(
            &npy(1, "{'descr': '<f4', 'shape': (1,)}", &[0; 4]),
            "no 'fortran_order' entry",
        );
        check(
            &npy(1, "{'descr': '<f4' 'shape': (1,)}", &[0; 4]),
            "byte 26: malformed header: expected ','",
        );
        check(&npy(1, "{'descr: '<f4'}", &[]), "malformed header");
        check(&npy(1, "[1, 2]", &[]), "not a dict");
        check(
            &npy(1, "{'shape': (1,)} x", &[]),
            "byte 26: malformed header: unexpected text",
        );
        check(&npy(1, &"(".repeat(100), &[]), "nested too deeply");
        check(
            &npy(
                1,
                "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
                &[0; 4],
            ),
            "unknown name",
        );
        check(
            &npy(3, "{'descr': '\u{00e9}'}", &[])
                .iter()
                .map(|&b| if b == 0xc3 { 0xff } else { b })
                .collect::<Vec<_>>(),
            "must be UTF-8",
        );
    }

    #[test]
    fn load_classification_and_regression() {
        let dir = TempDir::new("load");
        let x = dir.0.join("x.npy");
        let y = dir.0.join("y.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
        write_f32(&x, &[3, 2, 2], &data).unwrap();
        let labels: Vec<u8> = [0i64, 4, 2].iter().flat_map(|l| l.to_le_bytes()).collect();
        std::fs::write(&y, npy(1, &hdr("<i8", "(3,)"), &labels)).unwrap();
        let cls = Task::Classification { classes: None };
        let ds = load(&x, &y, cls).unwrap();
        assert_eq!(ds.sample_shape, [2, 2]);
        assert_eq!(ds.inputs, data);
        assert_eq!(
            ds.targets,
            Targets::Classes {
                labels: vec![0, 4, 2],
                classes: 5
            }
        );
        let e = load(&x, &y, Task::Classification { classes: Some(4) })
            .unwrap_err()
            .to_string();
        let at = 10 + hdr("<i8", "(3,)").len() + 8;
        assert!(
            e.contains(&format!(
                "label 4 of sample 1 (byte {at}) is not below the 4 classes"
            )),
            "{e}"
        );

        // Float labels with integral values are labels; others are not.
        write_f32(&y, &[3], &[1.0, 0.0, 2.0]).unwrap();
        assert!(load(&x, &y, cls).is_ok());
        write_f32(&y, &[3], &[1.0, 0.5, 2.0]).unwrap();
        let e = load(&x, &y, cls).unwrap_err().to_string();
        assert!(
            e.contains("label 0.5 of sample 1") && e.contains("not a class label"),
            "{e}"
        );
        let neg: Vec<u8> = [0i32, -1, 2].iter().flat_map(|l| l.to_le_bytes()).collect();
        std::fs::write(&y, npy(1, &hdr("<i4", "(3,)"), &neg)).unwrap();
        assert!(
            load(&x, &y, cls)
                .unwrap_err()
                .to_string()
                .contains("label -1 of sample 1")
        );

        // Regression: [n] or [n, w].
        write_f32(&y, &[3, 2], &[0.5; 6]).unwrap();
        let ds = load(&x, &y, Task::Regression).unwrap();
        assert_eq!(
            ds.targets,
            Targets::Values {
                values: vec![0.5; 6],
                width: 2
            }
        );
        let e = load(&x, &y, cls).unwrap_err().to_string();
        assert!(e.contains("must have shape [samples]"), "{e}");
        write_f32(&y, &[3], &[0.5, f32::NAN, 1.0]).unwrap();
        let e = load(&x, &y, Task::Regression).unwrap_err().to_string();
        assert!(
            e.contains("target 1 (sample 1, byte") && e.contains("NaN"),
            "{e}"
        );

        // Sample counts must agree; inputs must be finite and have a sample axis.
        write_f32(&y, &[2], &[0.0, 1.0]).unwrap();
        let e = load(&x, &y, cls).unwrap_err();
        assert!(
            matches!(e, Error::Mismatch { .. }) && e.to_string().contains("3 samples"),
            "{e}"
        );
        write_f32(&y, &[3], &[0.0, 1.0, 1.0]).unwrap();
        write_f32(&x, &[3], &[1.0, f32::INFINITY, 0.0]).unwrap();
        let e = load(&x, &y, cls).unwrap_err().to_string();
        assert!(
            e.contains("x.npy") && e.contains("element 1 (sample 1, byte 132) is inf"),
            "{e}"
        );
        write_f32(&x, &[3], &[1.0, 2.0, 0.0]).unwrap();
        assert_eq!(load(&x, &y, cls).unwrap().sample_shape, [1]);
        write_f32(&x, &[], &[1.0]).unwrap();
        assert!(
            load(&x, &y, cls)
                .unwrap_err()
                .to_string()
                .contains("0-d array")
        );
        write_f32(&x, &[0, 2], &[]).unwrap();
        assert!(
            load(&x, &y, cls)
                .unwrap_err()
                .to_string()
                .contains("no samples")
        );
        write_f32(&x, &[3, 0], &[]).unwrap();
        assert!(
            load(&x, &y, cls)
                .unwrap_err()
                .to_string()
                .contains("hold no value")
        );
    }
}
