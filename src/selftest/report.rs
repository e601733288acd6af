//! What the self-test says: one line per check, the adapter's line and a verdict per adapter,
//! the same as JSON, and a small text report for a bug report (the adapter, the failing checks,
//! gpu-mlp's version and the WGSL source of every failing pipeline).

use super::{Check, Plan, FAMILIES};
use crate::gpu::kernels::Pipeline;
use crate::gpu::{DeviceInfo, GpuContext};

/// A device limit as the device was opened with it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LimitUsed {
    pub name: &'static str,
    pub value: u64,
}

/// Every check on one adapter.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterReport {
    pub adapter: DeviceInfo,
    /// The limits gpu-mlp depends on, as requested of the device.
    pub limits: Vec<LimitUsed>,
    pub quick: bool,
    pub checks: Vec<Check>,
    pub passed: usize,
    pub failed: usize,
    pub seconds: f64,
}

impl AdapterReport {
    pub(crate) fn new(ctx: &GpuContext, plan: &Plan, checks: Vec<Check>, seconds: f64) -> Self {
        let passed = checks.iter().filter(|c| c.passed).count();
        AdapterReport {
            adapter: ctx.info().clone(),
            limits: ctx
                .limits_used()
                .into_iter()
                .map(|(name, value)| LimitUsed { name, value })
                .collect(),
            quick: plan.quick,
            failed: checks.len() - passed,
            passed,
            checks,
            seconds,
        }
    }

    /// True when every check passed (and there was at least one).
    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.passed > 0
    }

    /// "limits: max_storage_buffers_per_shader_stage 6, ...".
    pub fn limits_line(&self) -> String {
        let list: Vec<String> = self
            .limits
            .iter()
            .map(|l| format!("{} {}", l.name, l.value))
            .collect();
        format!("limits used: {}", list.join(", "))
    }

    /// "PASS: 188 of 188 checks on llvmpipe (...) [vulkan, cpu] in 12.3 s".
    pub fn verdict(&self) -> String {
        format!(
            "{}: {} of {} checks passed on {} in {:.1} s",
            if self.all_passed() { "PASS" } else { "FAIL" },
            self.passed,
            self.checks.len(),
            self.adapter.short(),
            self.seconds
        )
    }
}

/// One check as a line: PASS/FAIL, name, shape, largest error and its bound; a failure's
/// detail on the next line.
pub fn check_line(c: &Check) -> String {
    let mut line = format!(
        "  {}  {:<34} {:<44} max error {:<9.2e} bound {:.1e}",
        if c.passed { "PASS" } else { "FAIL" },
        c.name,
        c.shape,
        c.max_error,
        c.bound
    );
    if let Some(f) = &c.failure {
        line += &format!("\n        {f}");
    }
    line
}

/// The self-test of every adapter it ran on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub version: &'static str,
    pub adapters: Vec<AdapterReport>,
    /// Adapters found but not opened, with why.
    pub not_opened: Vec<String>,
    pub passed: bool,
    pub verdict: String,
}

impl Report {
    pub fn new(adapters: Vec<AdapterReport>, not_opened: Vec<String>) -> Report {
        let checks: usize = adapters.iter().map(|a| a.checks.len()).sum();
        let failed: usize = adapters.iter().map(|a| a.failed).sum();
        let passed = !adapters.is_empty()
            && not_opened.is_empty()
            && adapters.iter().all(AdapterReport::all_passed);
        let verdict = format!(
            "verdict: {} ({} checks on {} adapter(s), {failed} failed{})",
            if passed { "PASS" } else { "FAIL" },
            checks,
            adapters.len(),
            if not_opened.is_empty() {
                String::new()
            } else {
                format!(", {} adapter(s) could not be opened", not_opened.len())
            }
        );
        Report {
            version: env!("CARGO_PKG_VERSION"),
            adapters,
            not_opened,
            passed,
            verdict,
        }
    }

    /// The text to attach to a bug report: gpu-mlp's version and platform, the command, each
    /// adapter with its limits and verdict, every failing check, and the WGSL source (with its
    /// override constants) of each pipeline a failing check ran.
    pub fn bug_report(&self, command: &str) -> String {
        let mut t = format!(
            "gpu-mlp {} selftest report\nplatform: {} {}\ncommand: {command}\n{}\n",
            self.version,
            std::env::consts::OS,
            std::env::consts::ARCH,
            self.verdict
        );
        for reason in &self.not_opened {
            t += &format!("\nnot opened: {reason}\n");
        }
        let mut failing: Vec<Pipeline> = Vec::new();
        for a in &self.adapters {
            t += &format!("\n{}\n{}\n{}\n", a.adapter, a.limits_line(), a.verdict());
            let failed: Vec<&Check> = a.checks.iter().filter(|c| !c.passed).collect();
            if failed.is_empty() {
                t += "every check passed\n";
            }
            for c in failed {
                t += &check_line(c);
                t += "\n";
                for p in &c.pipelines {
                    if !failing.contains(p) {
                        failing.push(*p);
                    }
                }
            }
        }
        t += "\nfamilies checked:\n";
        for f in &FAMILIES {
            t += &format!("  {:<18} {}\n", f.name, f.about);
        }
        for p in failing {
            t += &format!("\n---- WGSL of {} ----\n{}\n", p.name(), p.source());
        }
        t
    }
}
