//! The convolution passes on a validated [`Geometry`], each on two paths:
//!
//! - **im2col + GEMM** (`scratch` is `Some`): per group and chunk of images (as many
//!   as the scratch holds column matrices for, at least one), the stacked
//!   `out_px × k_len` column matrices (each output pixel's receptive field, padding as
//!   zeros) is built in scratch and one GEMM does the rest; when the window is 1×1 with
//!   stride 1 and no padding the column matrix is the input itself and no scratch is used;
//! - **direct** (`scratch` is `None`): per output row and tap, one GEMM over the output
//!   pixels whose tap falls inside the input, reading the input (rows `stride·in_c`
//!   apart) and the tap's weights in place. No scratch at all.
//!
//! All three passes *accumulate* into their outputs (`+=`), except
//! [`forward_overwrite`] (the im2col forward, which writes its output and leaves the bias
//! to the caller); the other public wrappers initialise forward outputs with the bias. Both paths compute the same sums; they
//! differ only in the order in which they are added (per tap, or per `KC` block of
//! `k`), so they agree to f32 rounding, and exactly when every partial sum is exact.
//!
//! Preconditions (checked by the public wrappers): every slice has the length the
//! geometry implies, and scratch, when given, holds at least `scratch_len()` floats.

use super::geometry::{Geometry, INTERNAL, tail, tail_mut};
use mote_core::Result;
use mote_simd::gemm::{MatMut, MatRef, sgemm};
use mote_simd::im2col::{Im2col, Layout};

/// Group `grp`'s weights as the `k_len × og` matrix `Wᵀ`.
fn weights<'a>(g: &Geometry, w: &'a [f32], grp: usize) -> Result<MatRef<'a>> {
    let l = g.layout;
    MatRef::new(
        tail(w, g.group_offset(grp))?,
        g.k_len(),
        g.og(),
        l.k_stride,
        l.o_stride,
    )
}

/// Group `grp`'s weights of one tap as the `cg × og` matrix.
fn tap_weights<'a>(g: &Geometry, w: &'a [f32], grp: usize, tap: usize) -> Result<MatRef<'a>> {
    let l = g.layout;
    MatRef::new(
        tail(w, g.group_offset(grp) + g.k_of_tap(tap) * l.k_stride)?,
        g.cg(),
        g.og(),
        g.k_channel_step() * l.k_stride,
        l.o_stride,
    )
}

/// A run of outputs of one output row that one tap reads from inside the input:
/// outputs `lo..lo + rows` of row `oh` read input row `ih`, columns `iw`, `iw + stride`, …
#[derive(Clone, Copy)]
struct Run {
    tap: usize,
    oh: usize,
    ih: usize,
    lo: usize,
    rows: usize,
    iw: usize,
}

impl Run {
    /// Offset of the run's first input pixel, group `grp`'s first channel.
    fn input_at(&self, g: &Geometry, grp: usize) -> usize {
        (self.ih * g.w.input + self.iw) * g.in_c + grp * g.cg()
    }

    /// Offset of the run's first output pixel, group `grp`'s first channel.
    fn output_at(&self, g: &Geometry, grp: usize) -> usize {
        (self.oh * g.w.output + self.lo) * g.out_c + grp * g.og()
    }
}

/// Calls `f` for every [`Run`] of the direct path: every output row, every tap whose
/// input row is inside the input, with the outputs whose input column is inside too.
fn for_each_run(g: &Geometry, mut f: impl FnMut(Run) -> Result<()>) -> Result<()> {
    for oh in 0..g.h.output {
        for kh in 0..g.h.kernel {
            let Some(ih) = g.h.source(oh, kh) else {
                continue;
            };
            for kw in 0..g.w.kernel {
                let (lo, hi) = g.w.range(kw);
                if let Some(iw) = g.w.source(lo, kw).filter(|_| lo < hi) {
                    f(Run {
                        tap: kh * g.w.kernel + kw,
                        oh,
                        ih,
                        lo,
                        rows: hi - lo,
                        iw,
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// Fills `cols` (`out_px × k_len`, row-major) with group `grp`'s receptive fields of
/// image `x` (zeros in the padding), through the shared
/// [`mote_simd::im2col::im2col`] (columns tap-major or channel-major as the weights are).
fn im2col(g: &Geometry, x: &[f32], grp: usize, cols: &mut [f32]) -> Result<()> {
    let layout = if g.layout.channel_major {
        Layout::ChannelMajor
    } else {
        Layout::TapMajor
    };
    let geometry = Im2col::new(
        [g.h.input, g.w.input, g.in_c],
        [g.h.output, g.w.output],
        [g.h.kernel, g.w.kernel],
    )
    .with_stride([g.h.stride, g.w.stride])
    .with_dilation([g.h.dilation, g.w.dilation])
    .with_pad([g.h.pad, g.w.pad])
    .with_channels(grp * g.cg(), g.cg())
    .with_layout(layout);
    mote_simd::im2col::im2col(&geometry, x, 0.0, 0, cols)
}

/// Adds `cols` (`out_px × k_len`) back onto group `grp`'s channels of image `dx`: the
/// adjoint of [`im2col`] (padding entries are dropped).
fn col2im(g: &Geometry, cols: &[f32], grp: usize, dx: &mut [f32]) -> Result<()> {
    let (cg, taps, kw_n) = (g.cg(), g.taps(), g.w.kernel);
    let step = g.k_channel_step();
    let mut rows = cols.chunks_exact(g.k_len());
    for oh in 0..g.h.output {
        for ow in 0..g.w.output {
            let row = rows.next().ok_or(INTERNAL)?;
            for kh in 0..g.h.kernel {
                let Some(ih) = g.h.source(oh, kh) else {
                    continue;
                };
                for kw in 0..kw_n {
                    let Some(iw) = g.w.source(ow, kw) else {
                        continue;
                    };
                    let at = (ih * g.w.input + iw) * g.in_c + grp * cg;
                    let dst = dx.get_mut(at..at + cg).ok_or(INTERNAL)?;
                    let src = row.get(g.k_of_tap(kh * kw_n + kw)..).ok_or(INTERNAL)?;
                    if step == 1 {
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    } else {
                        let src = src.iter().step_by(taps);
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The scratch an im2col pass uses (as many whole column matrices as it holds), or
/// `None` for the direct path and the identity case.
/// Images whose column matrices fit in `cols` at once (all of them in the identity
/// case, which needs none).
fn images_per_chunk(g: &Geometry, cols: Option<&[f32]>) -> usize {
    match cols {
        Some(c) => (c.len() / g.scratch_len().max(1)).clamp(1, g.batch),
        None => g.batch,
    }
}

/// Builds the stacked column matrices of the images in `xs` (group `grp`) in `cols`.
fn im2col_images(g: &Geometry, xs: &[f32], grp: usize, cols: &mut [f32]) -> Result<usize> {
    let (in_img, per) = (g.input_len / g.batch, g.scratch_len());
    let n = xs.len() / in_img;
    for (xi, ci) in xs.chunks_exact(in_img).zip(cols.chunks_exact_mut(per)) {
        im2col(g, xi, grp, ci)?;
    }
    Ok(n * per)
}

fn columns<'s>(g: &Geometry, scratch: Option<&'s mut [f32]>) -> Result<Option<&'s mut [f32]>> {
    match scratch {
        Some(s) if !g.im2col_is_identity() => {
            let whole = s.len() - s.len() % g.scratch_len().max(1);
            Ok(Some(s.get_mut(..whole).ok_or(INTERNAL)?))
        }
        _ => Ok(None),
    }
}

/// `y += conv(x, w)`.
pub(crate) fn forward(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    scratch: Option<&mut [f32]>,
) -> Result<()> {
    forward_beta(g, x, w, y, scratch, 1.0)
}

/// `y ← conv(x, w)` on the im2col path (`y` is not read): each output element is
/// written by exactly one GEMM there (groups own disjoint columns, image chunks disjoint
/// rows), so the GEMMs overwrite (`β = 0`) and no initialisation pass is needed.
pub(crate) fn forward_overwrite(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> Result<()> {
    forward_beta(g, x, w, y, Some(scratch), 0.0)
}

/// [`forward`] with `y ← conv(x, w) + β·y` on the im2col path (`scratch` given); the
/// direct path always accumulates (`β` must be 1 there).
fn forward_beta(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    scratch: Option<&mut [f32]>,
    beta: f32,
) -> Result<()> {
    let (in_img, out_img) = (g.input_len / g.batch, g.output_len / g.batch);
    let (cg, og, out_px) = (g.cg(), g.og(), g.out_px());
    if scratch.is_none() {
        for (xi, yi) in x.chunks_exact(in_img).zip(y.chunks_exact_mut(out_img)) {
            for_each_run(g, |run| {
                for grp in 0..g.groups {
                    let a = MatRef::new(
                        tail(xi, run.input_at(g, grp))?,
                        run.rows,
                        cg,
                        g.w.stride * g.in_c,
                        1,
                    )?;
                    let c = MatMut::new(
                        tail_mut(yi, run.output_at(g, grp))?,
                        run.rows,
                        og,
                        g.out_c,
                        1,
                    )?;
                    sgemm(1.0, a, tap_weights(g, w, grp, run.tap)?, 1.0, c)?;
                }
                Ok(())
            })?;
        }
        return Ok(());
    }
    let mut cols = columns(g, scratch)?;
    let chunk = images_per_chunk(g, cols.as_deref());
    for (xs, ys) in x.chunks(chunk * in_img).zip(y.chunks_mut(chunk * out_img)) {
        let rows = xs.len() / in_img * out_px;
        for grp in 0..g.groups {
            let a = match cols.as_deref_mut() {
                Some(cols) => {
                    let len = im2col_images(g, xs, grp, cols)?;
                    MatRef::row_major(cols.get(..len).ok_or(INTERNAL)?, rows, g.k_len())?
                }
                None => MatRef::new(tail(xs, grp * cg)?, rows, cg, g.in_c, 1)?,
            };
            let c = MatMut::new(tail_mut(ys, grp * og)?, rows, og, g.out_c, 1)?;
            sgemm(1.0, a, weights(g, w, grp)?, beta, c)?;
        }
    }
    Ok(())
}

/// `dx += ∂(conv)/∂x ᵀ · dy`.
pub(crate) fn grad_input(
    g: &Geometry,
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
    scratch: Option<&mut [f32]>,
) -> Result<()> {
    let (in_img, out_img) = (g.input_len / g.batch, g.output_len / g.batch);
    let (cg, og, out_px) = (g.cg(), g.og(), g.out_px());
    if scratch.is_none() {
        for (dyi, dxi) in dy.chunks_exact(out_img).zip(dx.chunks_exact_mut(in_img)) {
            for_each_run(g, |run| {
                for grp in 0..g.groups {
                    let a =
                        MatRef::new(tail(dyi, run.output_at(g, grp))?, run.rows, og, g.out_c, 1)?;
                    let c = MatMut::new(
                        tail_mut(dxi, run.input_at(g, grp))?,
                        run.rows,
                        cg,
                        g.w.stride * g.in_c,
                        1,
                    )?;
                    sgemm(1.0, a, tap_weights(g, w, grp, run.tap)?.t(), 1.0, c)?;
                }
                Ok(())
            })?;
        }
        return Ok(());
    }
    let mut cols = columns(g, scratch)?;
    let chunk = images_per_chunk(g, cols.as_deref());
    let per = g.scratch_len();
    for (dys, dxs) in dy
        .chunks(chunk * out_img)
        .zip(dx.chunks_mut(chunk * in_img))
    {
        let rows = dys.len() / out_img * out_px;
        for grp in 0..g.groups {
            let a = MatRef::new(tail(dys, grp * og)?, rows, og, g.out_c, 1)?;
            let b = weights(g, w, grp)?.t();
            match cols.as_deref_mut() {
                Some(cols) => {
                    let cols = cols.get_mut(..rows / out_px * per).ok_or(INTERNAL)?;
                    sgemm(
                        1.0,
                        a,
                        b,
                        0.0,
                        MatMut::row_major(&mut *cols, rows, g.k_len())?,
                    )?;
                    for (ci, dxi) in cols.chunks_exact(per).zip(dxs.chunks_exact_mut(in_img)) {
                        col2im(g, ci, grp, dxi)?;
                    }
                }
                None => {
                    let c = MatMut::new(tail_mut(dxs, grp * cg)?, rows, cg, g.in_c, 1)?;
                    sgemm(1.0, a, b, 1.0, c)?;
                }
            }
        }
    }
    Ok(())
}

/// `dw += ∂(conv)/∂w ᵀ · dy`. With `columns_built`, `scratch` already holds the
/// column matrices of the whole batch (left by [`forward`] with one group and scratch
/// for every image), which are then used as they are.
pub(crate) fn grad_weights(
    g: &Geometry,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    scratch: Option<&mut [f32]>,
    columns_built: bool,
) -> Result<()> {
    let (in_img, out_img) = (g.input_len / g.batch, g.output_len / g.batch);
    let (cg, og, out_px) = (g.cg(), g.og(), g.out_px());
    let l = g.layout;
    if scratch.is_none() {
        for (xi, dyi) in x.chunks_exact(in_img).zip(dy.chunks_exact(out_img)) {
            for_each_run(g, |run| {
                for grp in 0..g.groups {
                    let a =
                        MatRef::new(tail(dyi, run.output_at(g, grp))?, run.rows, og, g.out_c, 1)?
                            .t();
                    let b = MatRef::new(
                        tail(xi, run.input_at(g, grp))?,
                        run.rows,
                        cg,
                        g.w.stride * g.in_c,
                        1,
                    )?;
                    let c = MatMut::new(
                        tail_mut(dw, g.group_offset(grp) + g.k_of_tap(run.tap) * l.k_stride)?,
                        og,
                        cg,
                        l.o_stride,
                        g.k_channel_step() * l.k_stride,
                    )?;
                    sgemm(1.0, a, b, 1.0, c)?;
                }
                Ok(())
            })?;
        }
        return Ok(());
    }
    let mut cols = columns(g, scratch)?;
    let chunk = images_per_chunk(g, cols.as_deref());
    let reuse = columns_built && g.groups == 1 && chunk == g.batch;
    for (xs, dys) in x.chunks(chunk * in_img).zip(dy.chunks(chunk * out_img)) {
        let rows = xs.len() / in_img * out_px;
        for grp in 0..g.groups {
            let a = MatRef::new(tail(dys, grp * og)?, rows, og, g.out_c, 1)?.t();
            let b = match cols.as_deref_mut() {
                Some(cols) => {
                    let len = if reuse {
                        rows / out_px * g.scratch_len()
                    } else {
                        im2col_images(g, xs, grp, cols)?
                    };
                    MatRef::row_major(cols.get(..len).ok_or(INTERNAL)?, rows, g.k_len())?
                }
                None => MatRef::new(tail(xs, grp * cg)?, rows, cg, g.in_c, 1)?,
            };
            let c = MatMut::new(
                tail_mut(dw, g.group_offset(grp))?,
                og,
                g.k_len(),
                l.o_stride,
                l.k_stride,
            )?;
            sgemm(1.0, a, b, 1.0, c)?;
        }
    }
    Ok(())
}

/// `out[p][c] = bias[c]` (or 0) for every pixel `p`: the start of a forward pass.
pub(crate) fn init_output(out: &mut [f32], bias: Option<&[f32]>, channels: usize) {
    match bias {
        Some(b) if channels > 0 => out
            .chunks_exact_mut(channels)
            .for_each(|px| px.iter_mut().zip(b).for_each(|(o, &b)| *o = b)),
        Some(_) => {}
        None => out.fill(0.0),
    }
}

/// `db[c] += Σ_p dy[p][c]`.
pub(crate) fn grad_bias(dy: &[f32], db: &mut [f32]) {
    if db.is_empty() {
        return;
    }
    for px in dy.chunks_exact(db.len()) {
        db.iter_mut().zip(px).for_each(|(b, &g)| *b += g);
    }
}
