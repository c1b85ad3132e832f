//! The NVIDIA GPU through cudarc: the probe (driver, cuBLAS, NVRTC, a device — each
//! looked for before it is used, since cudarc panics when a library it loads is
//! missing) and cuBLAS's SGEMM on row-major matrices.

use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, sys::cublasOperation_t};
use cudarc::driver::{CudaContext, CudaStream};
use std::sync::Arc;

/// An NVIDIA GPU with its stream and cuBLAS handle.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    name: String,
    memory: usize,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("name", &self.name)
            .field("memory", &self.memory)
            .finish_non_exhaustive()
    }
}

impl Gpu {
    /// GPU 0, when the driver, cuBLAS, NVRTC and a device are all there; else why not,
    /// in one line.
    pub fn probe() -> Result<Self, String> {
        // SAFETY: each call only tries to dlopen the library under its usual names
        // (cudarc's `is_culib_present`), loading nothing else and calling nothing in it.
        let present = |lib: unsafe fn() -> bool| unsafe { lib() };
        if !present(cudarc::driver::sys::is_culib_present) {
            return Err("no NVIDIA driver (libcuda.so) found".into());
        }
        if !present(cudarc::cublas::sys::is_culib_present) {
            return Err("cuBLAS (libcublas.so.13) not found: add its directory to \
                        LD_LIBRARY_PATH"
                .into());
        }
        if !present(cudarc::nvrtc::sys::is_culib_present) {
            return Err("NVRTC (libnvrtc.so.13) not found: add its directory to \
                        LD_LIBRARY_PATH"
                .into());
        }
        let count = CudaContext::device_count().map_err(|e| format!("the driver: {e}"))?;
        if count < 1 {
            return Err("the driver reports no CUDA device".into());
        }
        let ctx = CudaContext::new(0).map_err(|e| format!("GPU 0: {e}"))?;
        let name = ctx.name().map_err(|e| format!("GPU 0: {e}"))?;
        let memory = ctx.total_mem().map_err(|e| format!("GPU 0: {e}"))?;
        let stream = ctx.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(|e| format!("cuBLAS: {e}"))?;
        Ok(Self {
            ctx,
            stream,
            blas,
            name,
            memory,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's memory in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory
    }

    /// The context (for the offload that builds on it).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// `C = A·B` on the GPU for row-major `A` (`m × k`) and `B` (`k × n`), copied in and
    /// out: cuBLAS is column-major, so it computes `Cᵀ = Bᵀ·Aᵀ` on the same bytes.
    ///
    /// Errors: a length that does not match its dimensions, a size over `i32`, or what
    /// the driver or cuBLAS reports.
    pub fn sgemm(
        &self,
        a: &[f32],
        b: &[f32],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<f32>, String> {
        if a.len() != m * k || b.len() != k * n {
            return Err(format!(
                "sgemm: A has {} values and B {}, for {m}×{k} and {k}×{n}",
                a.len(),
                b.len()
            ));
        }
        let int = |v: usize| i32::try_from(v).map_err(|_| format!("sgemm: {v} over i32"));
        let (mi, ki, ni) = (int(m)?, int(k)?, int(n)?);
        let err = |e: &dyn std::fmt::Display| format!("sgemm: {e}");
        let da = self.stream.clone_htod(a).map_err(|e| err(&e))?;
        let db = self.stream.clone_htod(b).map_err(|e| err(&e))?;
        let mut dc = self.stream.alloc_zeros::<f32>(m * n).map_err(|e| err(&e))?;
        let cfg = GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_N,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: ni,
            n: mi,
            k: ki,
            alpha: 1.0f32,
            lda: ni,
            ldb: ki,
            beta: 0.0f32,
            ldc: ni,
        };
        // SAFETY: column-major Bᵀ is n × k with leading dimension n, Aᵀ is k × m with
        // leading dimension k and Cᵀ is n × m with leading dimension n: each buffer holds
        // exactly those m·k, k·n and m·n floats (checked above), on this stream.
        unsafe { self.blas.gemm(cfg, &db, &da, &mut dc) }.map_err(|e| err(&e))?;
        self.stream.clone_dtoh(&dc).map_err(|e| err(&e))
    }
}
