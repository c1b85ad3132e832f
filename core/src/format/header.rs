//! The fixed 64-byte header at the start of a `.mote` file.

use super::bytes::{Bytes, malformed};
use super::crc32::crc32;
use crate::error::{Error, ErrorKind, Result};

/// The first eight bytes of every `.mote` file: `MOTE`, then CR LF SUB LF, which
/// text-mode transfers and `type`/`cat` mangle detectably (the PNG trick).
pub const MAGIC: [u8; 8] = *b"MOTE\r\n\x1a\n";
/// The format version this reader understands.
pub const VERSION: u16 = 1;
/// Bytes of the header.
pub const HEADER: usize = 64;
/// Offset of the CRC-32 field; the checksum covers every byte after it.
pub const CRC_FIELD: usize = 20;

/// The validated header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Total length of the file in bytes.
    pub file_bytes: usize,
    /// The stored CRC-32.
    pub crc32: u32,
    /// Bytes of arena the model needs (activations, input and output).
    pub arena_bytes: usize,
    /// Number of tensor records.
    pub tensors: usize,
    /// Number of operator records.
    pub ops: usize,
    /// File offset of the tensor table.
    pub tensors_offset: usize,
    /// File offset of the operator table.
    pub ops_offset: usize,
    /// Index of the model's input tensor.
    pub input: usize,
    /// Index of the model's output tensor.
    pub output: usize,
    /// File offset of the input transform (0: none).
    pub input_affine_offset: usize,
    /// Channels of the input transform (0: none).
    pub input_affine_channels: usize,
}

/// Reads the header of `file` and checks its magic, version, length and checksum.
pub(crate) fn read(file: Bytes<'_>) -> Result<Header> {
    if file.0.len() < HEADER {
        return Err(Error::new(
            ErrorKind::Malformed {
                offset: file.0.len(),
            },
            "header: file shorter than the 64-byte header",
        ));
    }
    if file.slice("header: magic", 0, 8)? != MAGIC {
        return Err(malformed("header: magic (not a .mote file)", 0));
    }
    let version = file.u16("header: version", 8)?;
    if version != VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "header: version (this reader reads version 1)",
        ));
    }
    if file.u16("header: header size", 10)? as usize != HEADER {
        return Err(malformed("header: header size", 10));
    }
    if file.u32("header: flags", 12)? != 0 {
        return Err(malformed("header: flags (must be 0)", 12));
    }
    let file_bytes = file.usize("header: file size", 16)?;
    if file_bytes != file.0.len() {
        return Err(malformed(
            "header: file size (truncated or padded file)",
            16,
        ));
    }
    let stored = file.u32("header: crc32", CRC_FIELD)?;
    if crc32(&file.0[CRC_FIELD + 4..]) != stored {
        return Err(malformed("header: crc32 (corrupted file)", CRC_FIELD));
    }
    let h = Header {
        version,
        file_bytes,
        crc32: stored,
        arena_bytes: file.usize("header: arena size", 24)?,
        tensors: file.u16("header: tensor count", 28)? as usize,
        ops: file.u16("header: op count", 30)? as usize,
        tensors_offset: file.usize("header: tensor table", 32)?,
        ops_offset: file.usize("header: op table", 36)?,
        input: file.u16("header: input", 40)? as usize,
        output: file.u16("header: output", 42)? as usize,
        input_affine_offset: file.usize("header: input transform", 44)?,
        input_affine_channels: file.usize("header: input transform channels", 48)?,
    };
    for r in (52..HEADER).step_by(4) {
        if file.u32("header: reserved", r)? != 0 {
            return Err(malformed("header: reserved (must be 0)", r));
        }
    }
    Ok(h)
}
