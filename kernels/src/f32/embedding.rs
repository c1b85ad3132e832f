//! Embedding lookup (token ids → rows of a table), its backward as a scatter-add, and
//! the sinusoidal positional encoding of transformers.
//!
//! | buffer | layout |
//! |---|---|
//! | ids | `[tokens]` (`batch·steps` token ids, `u32`) |
//! | table | `[vocab][dim]` (Keras `Embedding`, PyTorch `nn.Embedding.weight`) |
//! | output | `[tokens][dim]` |

use mote_core::error::{check_len, check_nonzero};
use mote_core::{Error, ErrorKind, Result};

/// Geometry of an embedding table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// Rows of the table (distinct token ids).
    pub vocab: usize,
    /// Features per row.
    pub dim: usize,
}

impl Params {
    /// `(table length, output length)` for `tokens` ids, validated.
    fn lens(&self, tokens: usize) -> Result<(usize, usize)> {
        check_nonzero("embedding: vocab", self.vocab)?;
        check_nonzero("embedding: dim", self.dim)?;
        let overflow = Error::new(ErrorKind::Overflow, "embedding: size");
        let table = self.vocab.checked_mul(self.dim).ok_or(overflow)?;
        let out = tokens.checked_mul(self.dim).ok_or(overflow)?;
        Ok((table, out))
    }

    /// Checks every id against the vocabulary.
    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        match ids.iter().position(|&id| id as usize >= self.vocab) {
            Some(i) => Err(Error::element_out_of_range(
                "embedding: ids",
                i,
                ids[i] as i64,
                0,
                self.vocab as i64 - 1,
            )),
            None => Ok(()),
        }
    }
}

/// Forward: `output[k] = table[ids[k]]`.
///
/// Errors: `Zero` for an empty vocabulary or dimension; `ElementOutOfRange` for an id
/// ≥ `vocab` (the first one, with its position); `LengthMismatch` for a table or output
/// of the wrong length; `Overflow` when a length overflows.
///
/// ```
/// use mote_kernels::f32::embedding::{Params, forward};
/// let table = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]; // 3 tokens × 2
/// let mut y = [0.0; 4];
/// forward(&Params { vocab: 3, dim: 2 }, &[2, 0], &table, &mut y)?;
/// assert_eq!(y, [2.0, 2.5, 0.0, 0.5]);
/// # Ok::<(), mote_core::Error>(())
/// ```
pub fn forward(p: &Params, ids: &[u32], table: &[f32], output: &mut [f32]) -> Result<()> {
    let (table_len, out_len) = p.lens(ids.len())?;
    check_len("embedding: table", table_len, table.len())?;
    check_len("embedding: output", out_len, output.len())?;
    p.check_ids(ids)?;
    for (row, &id) in output.chunks_exact_mut(p.dim).zip(ids) {
        let at = id as usize * p.dim;
        row.copy_from_slice(&table[at..at + p.dim]);
    }
    Ok(())
}

/// Backward: `grad_table[ids[k]] += grad_output[k]` for every token (a scatter-add:
/// repeated ids accumulate). Ids carry no gradient.
///
/// Errors: as for [`forward`], checked before anything is written.
pub fn backward(
    p: &Params,
    ids: &[u32],
    grad_output: &[f32],
    grad_table: &mut [f32],
) -> Result<()> {
    let (table_len, out_len) = p.lens(ids.len())?;
    check_len("embedding: grad_table", table_len, grad_table.len())?;
    check_len("embedding: grad_output", out_len, grad_output.len())?;
    p.check_ids(ids)?;
    for (g, &id) in grad_output.chunks_exact(p.dim).zip(ids) {
        let at = id as usize * p.dim;
        grad_table[at..at + p.dim]
            .iter_mut()
            .zip(g)
            .for_each(|(d, &g)| *d += g);
    }
    Ok(())
}

/// The sinusoidal positional encoding of "Attention is all you need", `[steps][dim]`:
/// `PE[t][2i] = sin(t / 10000^(2i/dim))`, `PE[t][2i+1] = cos(t / 10000^(2i/dim))`
/// (an odd `dim` ends with a sine). Added to a sequence's embeddings (its gradient
/// passes through unchanged), so that attention can tell positions apart.
///
/// Errors: `Zero` for a zero `dim`; `LengthMismatch` when `out` is not a whole number of
/// `dim`-wide rows.
pub fn positional_encoding(dim: usize, out: &mut [f32]) -> Result<()> {
    check_nonzero("positional_encoding: dim", dim)?;
    check_len("positional_encoding: out", out.len() / dim * dim, out.len())?;
    for (t, row) in out.chunks_exact_mut(dim).enumerate() {
        for (k, v) in row.iter_mut().enumerate() {
            let pair = (k / 2 * 2) as f64 / dim as f64;
            let angle = t as f64 / libm::pow(10_000.0, pair);
            *v = if k % 2 == 0 {
                libm::sin(angle)
            } else {
                libm::cos(angle)
            } as f32;
        }
    }
    Ok(())
}

/// Adds `pe` (`[steps][dim]`, from [`positional_encoding`]) to every sequence of `x`
/// (`[batch][steps][dim]`).
///
/// Errors: `Zero` for an empty `pe`; `LengthMismatch` when `x` is not a whole number of
/// sequences of `pe`'s length.
pub fn add_positional(pe: &[f32], x: &mut [f32]) -> Result<()> {
    check_nonzero("add_positional: pe", pe.len())?;
    check_len("add_positional: x", x.len() / pe.len() * pe.len(), x.len())?;
    for seq in x.chunks_exact_mut(pe.len()) {
        seq.iter_mut().zip(pe).for_each(|(v, &p)| *v += p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_scatter_and_errors() {
        let p = Params { vocab: 3, dim: 2 };
        let table = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5];
        let mut y = [0.0; 6];
        assert_eq!(forward(&p, &[1, 1, 2], &table, &mut y), Ok(()));
        assert_eq!(y, [1.0, 1.5, 1.0, 1.5, 2.0, 2.5]);
        let mut g = [0.0; 6];
        assert_eq!(
            backward(&p, &[1, 1, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut g),
            Ok(())
        );
        assert_eq!(g, [0.0, 0.0, 4.0, 6.0, 5.0, 6.0]);
        let e = forward(&p, &[0, 3], &table, &mut y[..4]).unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::ElementOutOfRange {
                index: 1,
                value: 3,
                min: 0,
                max: 2
            }
        );
        assert!(forward(&p, &[0], &table[1..], &mut y[..2]).is_err());
        assert!(backward(&Params { vocab: 0, dim: 2 }, &[], &[], &mut []).is_err());
    }

    #[test]
    fn positional_encoding_values() {
        let mut pe = [0.0f32; 3 * 4];
        assert_eq!(positional_encoding(4, &mut pe), Ok(()));
        // t = 0: sin 0, cos 0; t = 2, pair 1: angle 2 / 100.
        assert_eq!(&pe[..4], &[0.0, 1.0, 0.0, 1.0]);
        assert!((pe[8] - libm::sinf(2.0)).abs() < 1e-7);
        assert!((pe[11] - libm::cosf(0.02)).abs() < 1e-7);
        assert!(positional_encoding(4, &mut pe[..5]).is_err());
        let mut x = [1.0f32; 24];
        assert_eq!(add_positional(&pe, &mut x), Ok(()));
        assert_eq!(x[12 + 1], 2.0);
        assert!(add_positional(&pe, &mut x[..13]).is_err());
    }
}
