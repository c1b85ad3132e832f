//! Element-wise binary operations (`a + b`, `a − b`, `a·b`) with broadcasting of `b`,
//! forward and backward, for residual connections, gating and scaling; and
//! concatenation along channels ([`mod@concat`]).
//!
//! `a` and the output always have the full shape (any shape, e.g. NHWC `[N][H][W][C]`);
//! `b` is one of ([`Broadcast`]):
//! - [`Same`](Broadcast::Same): the same shape as `a`;
//! - [`Channels`](Broadcast::Channels): a vector `[C]` over the last axis, repeated over
//!   every `N·H·W` position (`b.len()` must divide `a.len()`; a per-channel bias or
//!   scale);
//! - [`Scalar`](Broadcast::Scalar): one value.
//!
//! Other broadcasts (e.g. `[N][1][1][C]`, or `b` larger than `a`) are not supported:
//! reshape or swap the operands. Backward reduces the gradient of a broadcast `b` by
//! summing over the positions it was repeated at. No scratch memory.

pub mod concat;

use mote_core::{Error, ErrorKind, Result, error::check_len};

/// The operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Op {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
}

/// The shape of `b` relative to `a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Broadcast {
    /// `b` has `a`'s shape.
    Same,
    /// `b` is `[C]`, repeated along every position of `a` = `[…][C]`.
    Channels,
    /// `b` is a single value.
    Scalar,
}

/// Parameters of an element-wise layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params {
    /// What to compute.
    pub op: Op,
    /// How `b` is broadcast over `a`.
    pub broadcast: Broadcast,
}

/// Checks `b`'s length against `a`'s for the broadcast.
fn check_b(broadcast: Broadcast, a: usize, b: usize) -> Result<()> {
    match broadcast {
        Broadcast::Same => check_len("elementwise: b", a, b),
        Broadcast::Scalar => check_len("elementwise: b (scalar)", 1, b),
        Broadcast::Channels => {
            if b == 0 {
                Err(Error::zero("elementwise: b (channels)"))
            } else if !a.is_multiple_of(b) {
                Err(Error::new(
                    ErrorKind::ShapeMismatch,
                    "elementwise: b (channels) must divide a",
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// Forward: `out = a ∘ b` with `b` broadcast (see the [module docs](self)); `out` has
/// `a`'s length.
pub fn forward(params: &Params, a: &[f32], b: &[f32], out: &mut [f32]) -> Result<()> {
    check_b(params.broadcast, a.len(), b.len())?;
    check_len("elementwise: out", a.len(), out.len())?;
    let f = match params.op {
        Op::Add => |x: f32, y: f32| x + y,
        Op::Sub => |x: f32, y: f32| x - y,
        Op::Mul => |x: f32, y: f32| x * y,
    };
    match params.broadcast {
        Broadcast::Same => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *o = f(x, y);
            }
        }
        Broadcast::Scalar => {
            let y = b.first().copied().unwrap_or(0.0);
            for (o, &x) in out.iter_mut().zip(a) {
                *o = f(x, y);
            }
        }
        Broadcast::Channels => {
            let c = b.len();
            for (o_row, a_row) in out.chunks_exact_mut(c).zip(a.chunks_exact(c)) {
                for ((o, &x), &y) in o_row.iter_mut().zip(a_row).zip(b) {
                    *o = f(x, y);
                }
            }
        }
    }
    Ok(())
}

/// Backward: accumulates the gradients of `out = a ∘ b` given `grad_out` (`a`'s
/// length):
/// - add: `grad_a += g`, `grad_b += Σ g`;
/// - sub: `grad_a += g`, `grad_b −= Σ g`;
/// - mul: `grad_a += g·b`, `grad_b += Σ g·a`,
///
/// where `Σ` sums over the positions `b` was broadcast to (nothing for `Same`).
/// `a` and `b` are the forward's operands (only their lengths matter for add and sub).
pub fn backward(
    params: &Params,
    a: &[f32],
    b: &[f32],
    grad_out: &[f32],
    grad_a: Option<&mut [f32]>,
    grad_b: Option<&mut [f32]>,
) -> Result<()> {
    check_b(params.broadcast, a.len(), b.len())?;
    check_len("elementwise: grad_out", a.len(), grad_out.len())?;
    if let Some(ga) = &grad_a {
        check_len("elementwise: grad_a", a.len(), ga.len())?;
    }
    if let Some(gb) = &grad_b {
        check_len("elementwise: grad_b", b.len(), gb.len())?;
    }
    if let Some(ga) = grad_a {
        match (params.op, params.broadcast) {
            (Op::Add | Op::Sub, _) => {
                for (d, &g) in ga.iter_mut().zip(grad_out) {
                    *d += g;
                }
            }
            (Op::Mul, Broadcast::Same) => {
                for ((d, &g), &y) in ga.iter_mut().zip(grad_out).zip(b) {
                    *d += g * y;
                }
            }
            (Op::Mul, Broadcast::Scalar) => {
                let y = b.first().copied().unwrap_or(0.0);
                for (d, &g) in ga.iter_mut().zip(grad_out) {
                    *d += g * y;
                }
            }
            (Op::Mul, Broadcast::Channels) => {
                let c = b.len();
                for (d_row, g_row) in ga.chunks_exact_mut(c).zip(grad_out.chunks_exact(c)) {
                    for ((d, &g), &y) in d_row.iter_mut().zip(g_row).zip(b) {
                        *d += g * y;
                    }
                }
            }
        }
    }
    if let Some(gb) = grad_b {
        // The per-position gradient of b before reduction: g, −g or g·a.
        let mul = params.op == Op::Mul;
        let sign = if params.op == Op::Sub { -1.0 } else { 1.0 };
        let term = |g: f32, x: f32| if mul { g * x } else { sign * g };
        match params.broadcast {
            Broadcast::Same => {
                for ((d, &g), &x) in gb.iter_mut().zip(grad_out).zip(a) {
                    *d += term(g, x);
                }
            }
            Broadcast::Scalar => {
                let total: f32 = grad_out.iter().zip(a).map(|(&g, &x)| term(g, x)).sum();
                if let Some(d) = gb.first_mut() {
                    *d += total;
                }
            }
            Broadcast::Channels => {
                let c = gb.len();
                for (g_row, a_row) in grad_out.chunks_exact(c).zip(a.chunks_exact(c)) {
                    for ((d, &g), &x) in gb.iter_mut().zip(g_row).zip(a_row) {
                        *d += term(g, x);
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_broadcast() {
        let p = Params {
            op: Op::Mul,
            broadcast: Broadcast::Channels,
        };
        let a = [1.0, 2.0, 3.0, 4.0];
        let mut out = [0.0; 4];
        forward(&p, &a, &[10.0, -1.0], &mut out).unwrap();
        assert_eq!(out, [10.0, -2.0, 30.0, -4.0]);
        let (mut ga, mut gb) = ([0.0; 4], [0.0; 2]);
        backward(
            &p,
            &a,
            &[10.0, -1.0],
            &[1.0; 4],
            Some(&mut ga),
            Some(&mut gb),
        )
        .unwrap();
        assert_eq!(ga, [10.0, -1.0, 10.0, -1.0]);
        assert_eq!(gb, [4.0, 6.0]);
        let p = Params {
            op: Op::Sub,
            broadcast: Broadcast::Scalar,
        };
        let mut gb = [0.0];
        backward(&p, &a, &[1.0], &[1.0, 2.0, 3.0, 4.0], None, Some(&mut gb)).unwrap();
        assert_eq!(gb, [-10.0]);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let p = Params {
            op: Op::Add,
            broadcast: Broadcast::Channels,
        };
        assert!(forward(&p, &[0.0; 4], &[0.0; 3], &mut [0.0; 4]).is_err());
        assert!(forward(&p, &[0.0; 4], &[], &mut [0.0; 4]).is_err());
        assert!(forward(&p, &[0.0; 4], &[0.0; 2], &mut [0.0; 3]).is_err());
        let p = Params {
            op: Op::Add,
            broadcast: Broadcast::Scalar,
        };
        assert!(forward(&p, &[0.0; 4], &[0.0; 2], &mut [0.0; 4]).is_err());
        let r = backward(&p, &[0.0; 4], &[0.0], &[0.0; 4], None, Some(&mut [0.0; 2]));
        assert!(r.is_err());
    }
}
