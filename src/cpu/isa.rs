//! Which vector instructions the CPU path's kernels use on this processor, detected at run
//! time so that one binary runs everywhere: AVX-512F where the processor has it (gemm's
//! `x86-v4` kernels and this crate's own), else AVX2 with FMA, else plain scalar code (and
//! NEON on aarch64, where gemm picks it).

use std::sync::OnceLock;

/// The widest vector instruction set the kernels run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// 512-bit vectors (AVX-512F), 16 f32 lanes.
    Avx512,
    /// 256-bit vectors with fused multiply-add (AVX2 + FMA), 8 f32 lanes.
    Avx2Fma,
    /// No x86 vector kernels: gemm's portable code (NEON on aarch64).
    Portable,
}

impl Isa {
    /// What this processor offers, detected once.
    pub fn detected() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(detect)
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "AVX-512F",
            Isa::Avx2Fma => "AVX2+FMA",
            Isa::Portable if cfg!(target_arch = "aarch64") => "NEON",
            Isa::Portable => "scalar",
        }
    }
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn detect() -> Isa {
    // The same tests gemm makes before it picks its avx512f or fma kernels.
    if std::arch::is_x86_feature_detected!("avx512f") {
        Isa::Avx512
    } else if std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("avx2")
    {
        Isa::Avx2Fma
    } else {
        Isa::Portable
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn detect() -> Isa {
    Isa::Portable
}

/// The processor's model name as the OS reports it (Linux: /proc/cpuinfo), if it can be read.
pub fn processor_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
