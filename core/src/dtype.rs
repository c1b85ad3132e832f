//! The element types a mote model stores.

/// An element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// Signed 8-bit integer (quantised activations and weights).
    I8,
    /// Unsigned 8-bit integer (raw image data).
    U8,
    /// Signed 16-bit integer (16×8 activations, recurrent state).
    I16,
    /// Signed 32-bit integer (int8 biases, accumulators).
    I32,
    /// Signed 64-bit integer (16×8 biases).
    I64,
}

impl DType {
    /// Every element type, in the order of their codes.
    pub const ALL: [DType; 6] = [
        Self::F32,
        Self::I8,
        Self::U8,
        Self::I16,
        Self::I32,
        Self::I64,
    ];

    /// Size of one element in bytes.
    pub const fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 => 2,
            Self::F32 | Self::I32 => 4,
            Self::I64 => 8,
        }
    }

    /// The representable range of an integer type, `None` for `F32`.
    pub const fn int_range(self) -> Option<(i64, i64)> {
        match self {
            Self::F32 => None,
            Self::I8 => Some((i8::MIN as i64, i8::MAX as i64)),
            Self::U8 => Some((0, u8::MAX as i64)),
            Self::I16 => Some((i16::MIN as i64, i16::MAX as i64)),
            Self::I32 => Some((i32::MIN as i64, i32::MAX as i64)),
            Self::I64 => Some((i64::MIN, i64::MAX)),
        }
    }

    /// The stable one-byte code used in model files.
    pub const fn code(self) -> u8 {
        match self {
            Self::F32 => 0,
            Self::I8 => 1,
            Self::U8 => 2,
            Self::I16 => 3,
            Self::I32 => 4,
            Self::I64 => 5,
        }
    }

    /// The type with code `code`, or `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::F32),
            1 => Some(Self::I8),
            2 => Some(Self::U8),
            3 => Some(Self::I16),
            4 => Some(Self::I32),
            5 => Some(Self::I64),
            _ => None,
        }
    }

    /// A short lower-case name (`"f32"`, `"i8"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::I8 => "i8",
            Self::U8 => "u8",
            Self::I16 => "i16",
            Self::I32 => "i32",
            Self::I64 => "i64",
        }
    }
}

impl core::fmt::Display for DType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for t in DType::ALL {
            assert_eq!(DType::from_code(t.code()), Some(t));
        }
        assert_eq!(DType::from_code(200), None);
        assert_eq!(DType::I16.size(), 2);
        assert_eq!(DType::I8.int_range(), Some((-128, 127)));
        assert_eq!(DType::F32.int_range(), None);
    }
}
