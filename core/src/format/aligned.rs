//! 16-byte-aligned model bytes: what [`ModelView::from_bytes`](super::ModelView::from_bytes)
//! requires so constant tensors (int32 biases, multiplier tables) can be borrowed in
//! place.

/// Embeds a `.mote` file at a 16-byte-aligned address, as a `&'static [u8]`.
///
/// ```ignore
/// static MODEL: &[u8] = mote_core::include_model!("model.mote");
/// ```
#[macro_export]
macro_rules! include_model {
    ($path:expr) => {{
        #[repr(C, align(16))]
        struct Aligned<B: ?Sized>(B);
        static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!($path));
        &ALIGNED.0
    }};
}

/// Sixteen bytes at a 16-byte-aligned address: the unit of [`AlignedBytes`].
#[cfg(feature = "alloc")]
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Block([u8; 16]);

// SAFETY: `Block` is `repr(C)` around `[u8; 16]`: size 16, alignment 16, no padding,
// and every bit pattern is a valid `[u8; 16]`, so it is plain old data.
#[cfg(feature = "alloc")]
#[allow(unsafe_code)]
unsafe impl bytemuck::Zeroable for Block {}
// SAFETY: as above.
#[cfg(feature = "alloc")]
#[allow(unsafe_code)]
unsafe impl bytemuck::Pod for Block {}

/// An owned copy of model bytes at a 16-byte-aligned address (for files read at run
/// time on the host).
#[cfg(feature = "alloc")]
#[derive(Clone)]
pub struct AlignedBytes {
    blocks: alloc::vec::Vec<Block>,
    len: usize,
}

#[cfg(feature = "alloc")]
impl AlignedBytes {
    /// Copies `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let mut blocks = alloc::vec![Block([0; 16]); bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<Block, u8>(&mut blocks)[..bytes.len()].copy_from_slice(bytes);
        Self {
            blocks,
            len: bytes.len(),
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<Block, u8>(&self.blocks)[..self.len]
    }

    /// The bytes, mutably (for tests that corrupt a model).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<Block, u8>(&mut self.blocks)[..self.len]
    }
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for AlignedBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AlignedBytes({} bytes)", self.len)
    }
}
