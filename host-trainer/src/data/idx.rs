//! The IDX format (MNIST's): a 4-byte magic `00 00 <type> <rank>`, `rank` big-endian
//! `u32` dimensions, then the elements big-endian in row-major order. Files may be
//! gzip-compressed (detected from the gzip magic, not the name).
//!
//! Every malformation — short header, unknown type, a length that disagrees with the
//! dimensions, trailing bytes — is an [`Error::Format`] naming the file and the byte
//! offset or counts involved.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The element type of an IDX file (its third magic byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// `0x08`: unsigned byte.
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: big-endian i16.
    I16,
    /// `0x0C`: big-endian i32.
    I32,
    /// `0x0D`: big-endian f32.
    F32,
    /// `0x0E`: big-endian f64.
    F64,
}

impl ElementType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x08 => Self::U8,
            0x09 => Self::I8,
            0x0B => Self::I16,
            0x0C => Self::I32,
            0x0D => Self::F32,
            0x0E => Self::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// An IDX array: its dimensions, element type and raw (big-endian) element bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Element type.
    pub element: ElementType,
    /// `product(dims) · element.size()` bytes, big-endian elements.
    pub bytes: Vec<u8>,
}

impl IdxArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Whether the array has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element converted to f32, row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        let b = &self.bytes;
        match self.element {
            ElementType::U8 => b.iter().map(|&v| v as f32).collect(),
            ElementType::I8 => b.iter().map(|&v| v as i8 as f32).collect(),
            ElementType::I16 => b
                .chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]) as f32)
                .collect(),
            ElementType::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            ElementType::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            ElementType::F64 => b
                .chunks_exact(8)
                .map(|c| {
                    f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
        }
    }
}

/// Reads an IDX file, gzip-compressed or not.
pub fn read(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1F, 0x8B]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("gzip: {e}")))?;
        out
    } else {
        raw
    };
    parse(&bytes).map_err(|detail| Error::format(path, detail))
}

/// Parses IDX bytes (already decompressed). The error is a description of what is wrong
/// and where, for [`read`] to attach the file name to.
pub fn parse(bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    let Some(magic) = bytes.get(..4) else {
        return Err(format!(
            "IDX: {} bytes, too short for the 4-byte magic",
            bytes.len()
        ));
    };
    if magic[0] != 0 || magic[1] != 0 {
        return Err(format!(
            "IDX: bad magic {:02x} {:02x} {:02x} {:02x} at byte 0 (expected 00 00 <type> <rank>)",
            magic[0], magic[1], magic[2], magic[3]
        ));
    }
    let element = ElementType::from_code(magic[2])
        .ok_or_else(|| format!("IDX: unknown element type 0x{:02x} at byte 2", magic[2]))?;
    let rank = magic[3] as usize;
    if rank == 0 {
        return Err("IDX: rank 0 at byte 3".into());
    }
    let header = 4 + 4 * rank;
    let Some(dim_bytes) = bytes.get(4..header) else {
        return Err(format!(
            "IDX: header needs {header} bytes for rank {rank}, file has {}",
            bytes.len()
        ));
    };
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×");
    let expected = dims
        .iter()
        .try_fold(element.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("IDX: dimensions {shape} overflow"))?;
    let body = &bytes[header..];
    if body.len() != expected {
        let what = if body.len() < expected {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(format!(
            "IDX: {what}: header (bytes 0..{header}) declares {shape} {element:?} = {expected} bytes of data, found {}",
            body.len()
        ));
    }
    Ok(IdxArray {
        dims,
        element,
        bytes: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn parses_u8_and_i16() {
        let a = parse(&idx(0x08, &[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(a.dims, [2, 3]);
        assert_eq!(a.to_f32(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let a = parse(&idx(0x0B, &[2], &[0xFF, 0xFE, 0x01, 0x00])).unwrap();
        assert_eq!(a.to_f32(), [-2.0, 256.0]);
    }

    #[test]
    fn malformed_files_say_what_and_where() {
        let e = parse(&idx(0x08, &[2, 3], &[1, 2, 3])).unwrap_err();
        assert!(
            e.contains("truncated") && e.contains("2×3") && e.contains("found 3"),
            "{e}"
        );
        let e = parse(&idx(0x08, &[1], &[1, 2])).unwrap_err();
        assert!(e.contains("trailing"), "{e}");
        assert!(parse(&[0, 0]).unwrap_err().contains("too short"));
        assert!(parse(&[1, 0, 8, 1]).unwrap_err().contains("bad magic"));
        assert!(
            parse(&[0, 0, 0x42, 1])
                .unwrap_err()
                .contains("unknown element type 0x42")
        );
        assert!(
            parse(&[0, 0, 8, 2, 0, 0, 0, 1])
                .unwrap_err()
                .contains("header needs 12 bytes")
        );
        let e = parse(&idx(0x0E, &[u32::MAX, u32::MAX, u32::MAX], &[])).unwrap_err();
        assert!(e.contains("overflow") || e.contains("truncated"), "{e}");
    }

    #[test]
    fn reads_gzip_and_reports_missing_files() {
        let dir = std::env::temp_dir().join(format!("mote-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.idx.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &idx(0x08, &[3], &[7, 8, 9])).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert_eq!(read(&path).unwrap().bytes, [7, 8, 9]);

        let missing = dir.join("missing.idx");
        let e = read(&missing).unwrap_err();
        assert!(
            e.to_string().starts_with(&missing.display().to_string()),
            "{e}"
        );

        std::fs::write(&path, [0x1F, 0x8B, 0, 1, 2]).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("gzip"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
