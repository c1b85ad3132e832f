//! Where training runs: the CPU, or an NVIDIA GPU through cuBLAS when `mote` is built
//! with the cargo feature `cuda` (cudarc, loading the driver and libraries at run time:
//! building needs no CUDA toolkit).
//!
//! `--device cpu` (the default) never looks for a GPU. `--device cuda` probes for the
//! driver, cuBLAS, NVRTC and a device and stops with one clear error when any is
//! missing; `--device auto` falls back to the CPU with a one-line notice.
//!
//! What runs on the GPU so far: the probe and a cuBLAS self-check
//! ([`Gpu::sgemm`], used by the GPU tests and `scripts/gpu-check.sh`). The training step
//! itself still runs on the CPU, so a run asked for with `--device cuda` on a machine
//! with a GPU stops with an error that says so rather than silently using the CPU.

#[cfg(feature = "cuda")]
mod cuda;

#[cfg(feature = "cuda")]
pub use cuda::Gpu;

use crate::{Error, Result};

/// The device asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Request {
    /// The CPU; no GPU is probed.
    #[default]
    Cpu,
    /// An NVIDIA GPU, or an error.
    Cuda,
    /// The GPU when one is usable, else the CPU with a notice.
    Auto,
}

impl std::str::FromStr for Request {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            "auto" => Ok(Self::Auto),
            _ => Err(Error::spec(
                "--device",
                format!("'{s}' is not one of cpu, cuda, auto"),
            )),
        }
    }
}

/// The device a run uses.
#[derive(Debug)]
pub enum Device {
    /// The CPU.
    Cpu,
    /// An NVIDIA GPU.
    #[cfg(feature = "cuda")]
    Cuda(Gpu),
}

/// The device chosen for a request, and the one-line notice to print when the choice
/// differs from what was asked.
#[derive(Debug)]
pub struct Selected {
    /// Where to run.
    pub device: Device,
    /// Why `auto` fell back to the CPU.
    pub notice: Option<String>,
}

/// Why no GPU can be used: this build has no `cuda` feature, or the probe's reason.
fn probe() -> std::result::Result<Device, String> {
    #[cfg(feature = "cuda")]
    {
        cuda::Gpu::probe().map(Device::Cuda)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err("this mote was built without GPU support (rebuild with \
             `cargo build --release -p mote-trainer --features cuda`)"
            .into())
    }
}

/// Resolves `request`: probes for a GPU unless the CPU was asked for.
///
/// Errors: `Error::Device` for `Request::Cuda` when no GPU is usable (the reason in one
/// line).
pub fn select(request: Request) -> Result<Selected> {
    match request {
        Request::Cpu => Ok(Selected {
            device: Device::Cpu,
            notice: None,
        }),
        Request::Cuda => match probe() {
            Ok(device) => Ok(Selected {
                device,
                notice: None,
            }),
            Err(why) => Err(Error::Device(format!("--device cuda: {why}"))),
        },
        Request::Auto => Ok(match probe() {
            Ok(device) => Selected {
                device,
                notice: None,
            },
            Err(why) => Selected {
                device: Device::Cpu,
                notice: Some(format!("--device auto: training on the CPU ({why})")),
            },
        }),
    }
}

/// Checks that a run on `device` can go ahead: the CPU always; the GPU not yet (the
/// training step has no GPU path so far, and a run asked for on the GPU must not
/// silently take the CPU).
///
/// Errors: `Error::Device` naming what is missing.
pub fn check_trainable(device: &Device) -> Result<()> {
    match device {
        Device::Cpu => Ok(()),
        #[cfg(feature = "cuda")]
        Device::Cuda(gpu) => Err(Error::Device(format!(
            "found {} ({} MiB), but training on the GPU is not implemented yet; \
             use --device cpu (or auto)",
            gpu.name(),
            gpu.memory_bytes() >> 20
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!("cpu".parse::<Request>().unwrap(), Request::Cpu);
        assert_eq!("cuda".parse::<Request>().unwrap(), Request::Cuda);
        assert_eq!("auto".parse::<Request>().unwrap(), Request::Auto);
        assert!("tpu".parse::<Request>().is_err());
    }

    #[test]
    fn cpu_never_probes_and_auto_always_answers() {
        let s = select(Request::Cpu).unwrap();
        assert!(matches!(s.device, Device::Cpu) && s.notice.is_none());
        let s = select(Request::Auto).unwrap();
        match s.device {
            Device::Cpu => assert!(s.notice.is_some_and(|n| n.starts_with("--device auto"))),
            #[cfg(feature = "cuda")]
            Device::Cuda(_) => assert!(s.notice.is_none()),
        }
    }
}
