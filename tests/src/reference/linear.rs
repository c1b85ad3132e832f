//! f64 references of the linear layers: GEMM, dense, convolution (1-D, 2-D, grouped),
//! depthwise and transposed convolution. Direct loops over the definitions, reading
//! the kernels' public `Params` fields and computing sizes with
//! [`mote_core::padding`], nothing else of the code under test.

use mote_core::padding::{Padding, Window, conv_output, conv_transpose_output};
use mote_kernels::f32::{conv, conv_transpose, dense, depthwise};

/// `α·A·B + β·C` for `m × k` `A`, `k × n` `B`, `m × n` `C`, given element by element;
/// row-major `m × n` result. With `β = 0` the `C` closure is not called.
pub fn gemm(
    (m, k, n): (usize, usize, usize),
    alpha: f64,
    a: impl Fn(usize, usize) -> f64,
    b: impl Fn(usize, usize) -> f64,
    beta: f64,
    c: impl Fn(usize, usize) -> f64,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let s: f64 = (0..k).map(|p| a(i, p) * b(p, j)).sum();
            out.push(if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * c(i, j)
            });
        }
    }
    out
}

/// `y[b][o] = bias[o] + Σ_i x[b][i]·w[o][i]`.
pub fn dense(p: &dense::Params, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let mut y = Vec::with_capacity(p.batch * p.outputs);
    for b in 0..p.batch {
        for o in 0..p.outputs {
            let s: f64 = (0..p.inputs)
                .map(|i| x[b * p.inputs + i] * w[o * p.inputs + i])
                .sum();
            y.push(s + bias.map_or(0.0, |bias| bias[o]));
        }
    }
    y
}

/// The input position of output `o`'s tap `k` along an axis, or `None` in the padding.
fn source(o: usize, k: usize, w: Window, pad_before: usize, input: usize) -> Option<usize> {
    let pos = (o * w.stride + k * w.dilation) as i64 - pad_before as i64;
    (0..input as i64).contains(&pos).then_some(pos as usize)
}

/// Output length and padding before along an axis of a convolution.
fn axis(input: usize, w: Window, padding: Padding) -> (usize, usize) {
    let d = conv_output(input, w, padding).expect("reference: valid convolution axis");
    (d.len, d.pad_before)
}

/// 2-D grouped convolution, NHWC input, OHWI weights `[out_c][kh][kw][in_c/groups]`.
pub fn conv2d(p: &conv::Params, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let (oh_n, pt) = axis(p.in_h, p.window_h, p.padding_h);
    let (ow_n, pl) = axis(p.in_w, p.window_w, p.padding_w);
    let (kh_n, kw_n) = (p.window_h.size, p.window_w.size);
    let (cg, og) = (p.in_c / p.groups, p.out_c / p.groups);
    let mut y = vec![0.0; p.batch * oh_n * ow_n * p.out_c];
    for n in 0..p.batch {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                for o in 0..p.out_c {
                    let g = o / og;
                    let mut s = bias.map_or(0.0, |b| b[o]);
                    for kh in 0..kh_n {
                        let Some(ih) = source(oh, kh, p.window_h, pt, p.in_h) else {
                            continue;
                        };
                        for kw in 0..kw_n {
                            let Some(iw) = source(ow, kw, p.window_w, pl, p.in_w) else {
                                continue;
                            };
                            for c in 0..cg {
                                let xi = ((n * p.in_h + ih) * p.in_w + iw) * p.in_c + g * cg + c;
                                let wi = ((o * kh_n + kh) * kw_n + kw) * cg + c;
                                s += x[xi] * w[wi];
                            }
                        }
                    }
                    y[((n * oh_n + oh) * ow_n + ow) * p.out_c + o] = s;
                }
            }
        }
    }
    y
}

/// 1-D grouped convolution, input `[batch][len][in_c]`, weights
/// `[out_c][kernel][in_c/groups]`.
pub fn conv1d(p: &conv::Params1d, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let (out_n, pad) = axis(p.len, p.window, p.padding);
    let k_n = p.window.size;
    let (cg, og) = (p.in_c / p.groups, p.out_c / p.groups);
    let mut y = Vec::with_capacity(p.batch * out_n * p.out_c);
    for n in 0..p.batch {
        for t in 0..out_n {
            for o in 0..p.out_c {
                let g = o / og;
                let mut s = bias.map_or(0.0, |b| b[o]);
                for k in 0..k_n {
                    if let Some(i) = source(t, k, p.window, pad, p.len) {
                        for c in 0..cg {
                            s += x[(n * p.len + i) * p.in_c + g * cg + c]
                                * w[(o * k_n + k) * cg + c];
                        }
                    }
                }
                y.push(s);
            }
        }
    }
    y
}

/// Depthwise 2-D convolution: output channel `c·multiplier + m` filters input channel
/// `c` with weights `[kh][kw][channels·multiplier]`.
pub fn depthwise(p: &depthwise::Params, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let (oh_n, pt) = axis(p.in_h, p.window_h, p.padding_h);
    let (ow_n, pl) = axis(p.in_w, p.window_w, p.padding_w);
    let (kh_n, kw_n) = (p.window_h.size, p.window_w.size);
    let out_c = p.channels * p.multiplier;
    let mut y = Vec::with_capacity(p.batch * oh_n * ow_n * out_c);
    for n in 0..p.batch {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                for o in 0..out_c {
                    let c = o / p.multiplier;
                    let mut s = bias.map_or(0.0, |b| b[o]);
                    for kh in 0..kh_n {
                        for kw in 0..kw_n {
                            if let (Some(ih), Some(iw)) = (
                                source(oh, kh, p.window_h, pt, p.in_h),
                                source(ow, kw, p.window_w, pl, p.in_w),
                            ) {
                                s += x[((n * p.in_h + ih) * p.in_w + iw) * p.channels + c]
                                    * w[(kh * kw_n + kw) * out_c + o];
                            }
                        }
                    }
                    y.push(s);
                }
            }
        }
    }
    y
}

/// Transposed 2-D convolution by its definition: input pixel `(ih, iw)` adds
/// `x·w[o][kh][kw][c]` to output `(ih·sh − pt + kh·dh, iw·sw − pl + kw·dw)` when that is
/// inside the output. Weights OHWI `[out_c][kh][kw][in_c]`.
pub fn conv_transpose(
    p: &conv_transpose::Params,
    x: &[f64],
    w: &[f64],
    bias: Option<&[f64]>,
) -> Vec<f64> {
    let dh = conv_transpose_output(p.in_h, p.window_h, p.padding_h, p.output_padding_h)
        .expect("reference: valid transposed axis");
    let dw = conv_transpose_output(p.in_w, p.window_w, p.padding_w, p.output_padding_w)
        .expect("reference: valid transposed axis");
    let (oh_n, ow_n) = (dh.len, dw.len);
    let (kh_n, kw_n) = (p.window_h.size, p.window_w.size);
    let mut y = vec![0.0; p.batch * oh_n * ow_n * p.out_c];
    for n in 0..p.batch {
        for px in y[n * oh_n * ow_n * p.out_c..][..oh_n * ow_n * p.out_c].chunks_exact_mut(p.out_c)
        {
            for (o, v) in px.iter_mut().enumerate() {
                *v = bias.map_or(0.0, |b| b[o]);
            }
        }
        for ih in 0..p.in_h {
            for iw in 0..p.in_w {
                for kh in 0..kh_n {
                    let oh = (ih * p.window_h.stride + kh * p.window_h.dilation) as i64
                        - dh.pad_before as i64;
                    if !(0..oh_n as i64).contains(&oh) {
                        continue;
                    }
                    for kw in 0..kw_n {
                        let ow = (iw * p.window_w.stride + kw * p.window_w.dilation) as i64
                            - dw.pad_before as i64;
                        if !(0..ow_n as i64).contains(&ow) {
                            continue;
                        }
                        let (oh, ow) = (oh as usize, ow as usize);
                        for o in 0..p.out_c {
                            let mut s = 0.0;
                            for c in 0..p.in_c {
                                s += x[((n * p.in_h + ih) * p.in_w + iw) * p.in_c + c]
                                    * w[((o * kh_n + kh) * kw_n + kw) * p.in_c + c];
                            }
                            y[((n * oh_n + oh) * ow_n + ow) * p.out_c + o] += s;
                        }
                    }
                }
            }
        }
    }
    y
}
