//! The `.mote` model format (specified in `docs/format.md`): a versioned, little-endian,
//! checksummed file with 16-byte-aligned tensor data, the quantisation parameters and
//! precomputed multipliers of every operator, and the arena plan.
//!
//! [`ModelView::from_bytes`] validates a file once — every offset, length, shape,
//! operator parameter and the plan — and then borrows from it, so a model can run from
//! flash without a copy. Malformed bytes give `Err(Malformed { offset })` naming the
//! field; nothing in the reader panics or reads out of bounds. The writer
//! ([`ModelDef`], feature `alloc`) is what `mote export` uses.
//!
//! ```text
//! header (64 B) | tensor records (64 B each) | op records (96 B each) | data …
//! ```

mod aligned;
mod bytes;
mod crc32;
mod header;
mod lstm;
mod op;
mod reader;
mod tensor;
mod validate;
#[cfg(feature = "alloc")]
mod writer;

#[cfg(feature = "alloc")]
pub use aligned::AlignedBytes;
pub use crc32::crc32;
pub use header::{HEADER, Header, MAGIC, VERSION};
pub use lstm::LstmShape;
pub use op::{MAX_INPUTS, OP_RECORD, OpCode, OpInfo, PARAMS};
pub use reader::ModelView;
pub use tensor::{Quantization, Storage, TENSOR_RECORD, TensorInfo};
#[cfg(feature = "alloc")]
pub use writer::{ModelDef, OpDef, QuantDef, TensorDef};
