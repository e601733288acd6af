//! Finding adapters: the graphics APIs, what `gpu-mlp devices` shows of an adapter, the ranked
//! candidates of `--backend auto` and its fallback loop, and the message for finding none.

use super::context::GpuContext;
use crate::error::{Error, Result};
use std::fmt;

/// Which graphics API to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpuApi {
    Vulkan,
    Metal,
    Dx12,
    Gl,
    /// The best adapter of any API: a discrete or integrated GPU first, then a software one.
    Auto,
}

impl GpuApi {
    pub(crate) fn backends(self) -> wgpu::Backends {
        match self {
            GpuApi::Vulkan => wgpu::Backends::VULKAN,
            GpuApi::Metal => wgpu::Backends::METAL,
            GpuApi::Dx12 => wgpu::Backends::DX12,
            GpuApi::Gl => wgpu::Backends::GL,
            GpuApi::Auto => wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GpuApi::Vulkan => "vulkan",
            GpuApi::Metal => "metal",
            GpuApi::Dx12 => "dx12",
            GpuApi::Gl => "gl",
            GpuApi::Auto => "auto",
        }
    }
}

/// What `gpu-mlp devices` shows of one adapter.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeviceInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub timestamp_query: bool,
    /// Subgroup sizes (least, most) where the adapter has wgpu's SUBGROUP feature.
    pub subgroups: Option<(u32, u32)>,
}

impl DeviceInfo {
    pub(crate) fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        // wgpu's GL backend leaves the driver's name empty and puts GL_VERSION in driver_info;
        // the driver names itself there, after the version ("4.5 (Core Profile) Mesa 22.3.6").
        let driver = match (info.driver.is_empty(), info.backend) {
            (true, wgpu::Backend::Gl) => gl_driver(&info.driver_info).unwrap_or_default(),
            _ => info.driver,
        };
        DeviceInfo {
            name: info.name,
            backend: info.backend.to_str().to_string(),
            device_type: device_type_name(info.device_type).to_string(),
            driver,
            driver_info: info.driver_info,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            timestamp_query: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: adapter
                .features()
                .contains(wgpu::Features::SUBGROUP)
                .then_some((info.subgroup_min_size, info.subgroup_max_size)),
        }
    }

    /// "llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, cpu]".
    pub fn short(&self) -> String {
        format!("{} [{}, {}]", self.name, self.backend, self.device_type)
    }

    /// The adapter line `selftest` and `bench` print: "adapter: llvmpipe (LLVM 15.0.6, 256
    /// bits), backend vulkan, type cpu, driver llvmpipe (Mesa 22.3.6 (LLVM 15.0.6))".
    pub fn line(&self) -> String {
        format!(
            "adapter: {}, backend {}, type {}, driver {}",
            self.name,
            self.backend,
            self.device_type,
            self.driver_text()
        )
    }

    /// The driver's name and what else it says of itself: "llvmpipe (Mesa 22.3.6 (LLVM
    /// 15.0.6))"; for GL, "Mesa 22.3.6 (OpenGL 4.5 (Core Profile))".
    pub fn driver_text(&self) -> String {
        let info = match self.backend.as_str() {
            "gl" if !self.driver_info.is_empty() => {
                let version = self.driver_info.strip_suffix(self.driver.as_str());
                format!("OpenGL {}", version.unwrap_or(&self.driver_info).trim_end())
            }
            _ => self.driver_info.clone(),
        };
        match (self.driver.is_empty(), info.is_empty()) {
            (false, false) => format!("{} ({info})", self.driver),
            (false, true) => self.driver.clone(),
            (true, false) => format!("unnamed ({info})"),
            (true, true) => "unknown".to_string(),
        }
    }
}

/// The driver named in a GL_VERSION string: what follows the version number and the optional
/// profile in parentheses ("4.5 (Core Profile) Mesa 22.3.6" → "Mesa 22.3.6", "4.6.0 NVIDIA
/// 535.54.03" → "NVIDIA 535.54.03"), or None where nothing does.
pub fn gl_driver(version: &str) -> Option<String> {
    let rest = version.trim_start();
    // The version number: "4.5", "4.6.0", or "OpenGL ES 3.2".
    let rest = rest.strip_prefix("OpenGL ES").unwrap_or(rest).trim_start();
    let mut rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    rest = rest.trim_start();
    if rest.starts_with('(') {
        let mut depth = 0usize;
        let end = rest.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            (depth == 0).then_some(i + 1)
        })?;
        rest = rest[end..].trim_start();
    }
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// An adapter found and not yet opened.
pub struct FoundAdapter {
    info: DeviceInfo,
    adapter: wgpu::Adapter,
    instance: wgpu::Instance,
}

impl FoundAdapter {
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    pub fn open(self) -> Result<GpuContext> {
        GpuContext::open(self.instance, self.adapter)
    }
}

/// Every adapter of `api` (of every API, as `devices` lists them, for `None`) whose name
/// contains `filter` (case-insensitive), in wgpu's order, unopened.
pub fn find_adapters(api: Option<GpuApi>, filter: Option<&str>) -> Vec<FoundAdapter> {
    let backends = api.map_or(wgpu::Backends::all(), GpuApi::backends);
    let (instance, list) = adapters(backends);
    let filter = filter.map(str::to_lowercase);
    list.into_iter()
        .filter(|a| match &filter {
            Some(f) => a.get_info().name.to_lowercase().contains(f.as_str()),
            None => true,
        })
        .map(|adapter| FoundAdapter {
            info: DeviceInfo::of(&adapter),
            adapter,
            instance: instance.clone(),
        })
        .collect()
}

impl fmt::Display for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        writeln!(f, "{}", self.name)?;
        writeln!(f, "  backend:      {}", self.backend)?;
        writeln!(f, "  type:         {}", self.device_type)?;
        writeln!(f, "  driver:       {}", self.driver_text())?;
        writeln!(
            f,
            "  storage binding: {:.0} MiB, buffer: {:.0} MiB",
            mib(self.max_storage_buffer_binding_size),
            mib(self.max_buffer_size)
        )?;
        writeln!(
            f,
            "  workgroups/dim: {}, invocations/workgroup: {}, workgroup storage: {} B",
            self.max_compute_workgroups_per_dimension,
            self.max_compute_invocations_per_workgroup,
            self.max_compute_workgroup_storage_size
        )?;
        writeln!(
            f,
            "  timestamp queries: {}",
            if self.timestamp_query { "yes" } else { "no" }
        )?;
        match self.subgroups {
            Some((lo, hi)) => write!(f, "  subgroups: {lo}-{hi} invocations"),
            None => write!(f, "  subgroups: no"),
        }
    }
}

fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

/// Preference order of `Auto`: real GPUs first, software last.
fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

fn adapters(backends: wgpu::Backends) -> (wgpu::Instance, Vec<wgpu::Adapter>) {
    let inst = instance(backends);
    let list = pollster::block_on(inst.enumerate_adapters(backends));
    (inst, list)
}

/// Every adapter wgpu can see, of every API.
pub fn list_devices() -> Vec<DeviceInfo> {
    let (_inst, list) = adapters(wgpu::Backends::all());
    list.iter().map(DeviceInfo::of).collect()
}

/// What `--backend auto` found: the adapter it opened, and why each better-ranked one failed.
pub struct AutoChoice {
    pub context: Option<GpuContext>,
    pub skipped: Vec<String>,
    /// Software adapters passed over (name, API), for the line that says how to ask for one.
    pub software: Vec<(String, String)>,
}

/// The adapters of `api` whose name contains `filter` (case-insensitive), best first (real
/// GPUs before software ones, [`rank`]).
pub(crate) fn ranked(api: GpuApi, filter: Option<&str>) -> (wgpu::Instance, Vec<wgpu::Adapter>) {
    let (inst, list) = adapters(api.backends());
    let filter = filter.map(str::to_lowercase);
    let mut candidates: Vec<wgpu::Adapter> = list
        .into_iter()
        .filter(|a| match &filter {
            Some(f) => a.get_info().name.to_lowercase().contains(f.as_str()),
            None => true,
        })
        .collect();
    candidates.sort_by_key(|a| rank(a.get_info().device_type));
    (inst, candidates)
}

/// The fallback loop: opens the candidates in their ranked order until one opens. Returns it
/// (`None` when none did) and the error of each one that did not, in order.
pub(crate) fn first_that_opens<C, T>(
    ranked: Vec<C>,
    mut open: impl FnMut(C) -> Result<T>,
) -> (Option<T>, Vec<String>) {
    let mut failures = Vec::new();
    for candidate in ranked {
        match open(candidate) {
            Ok(opened) => return (Some(opened), failures),
            Err(e) => failures.push(e.to_string()),
        }
    }
    (None, failures)
}

/// The error for finding no adapter of `api` (of any API for `None`) whose name contains
/// `filter`: it lists the adapters that do exist.
pub fn no_adapter_error(api: Option<GpuApi>, filter: Option<&str>) -> Error {
    match api {
        Some(api) => Error::Gpu(no_adapter_message(api, filter)),
        None => Error::Gpu(no_adapter_message(GpuApi::Auto, filter).replacen(
            "no auto adapter",
            "no adapter of any API",
            1,
        )),
    }
}

pub(crate) fn no_adapter_message(api: GpuApi, filter: Option<&str>) -> String {
    let all = list_devices();
    let wanted = match filter {
        Some(f) => format!("no {} adapter whose name contains {f:?}", api.name()),
        None => format!("no {} adapter", api.name()),
    };
    if all.is_empty() {
        format!(
            "{wanted}, and no GPU adapter of any API was found; install a Vulkan driver \
             (e.g. `apt-get install mesa-vulkan-drivers` for the llvmpipe software one) or use --backend cpu"
        )
    } else {
        let names: Vec<String> = all.iter().map(DeviceInfo::short).collect();
        format!(
            "{wanted}; the adapters found are: {} (pick one with --backend and --adapter, or use --backend cpu)",
            names.join(", ")
        )
    }
}

/// The fallback loop on stand-in candidates (no GPU needed): the first that opens wins, and each
/// failure before it is kept in order; none opening gives every reason.
#[cfg(test)]
mod tests {
    use super::*;

    fn open(name: &'static str) -> Result<&'static str> {
        if name.starts_with("broken") {
            Err(Error::Gpu(format!("cannot open {name}: refused")))
        } else {
            Ok(name)
        }
    }

    #[test]
    fn auto_tries_the_next_adapter() {
        let (got, skipped) = first_that_opens(vec!["broken gpu", "igpu", "llvmpipe"], open);
        assert_eq!(got, Some("igpu"));
        assert_eq!(skipped, ["cannot open broken gpu: refused"]);
    }

    #[test]
    fn auto_reports_every_failure_when_none_opens() {
        let (got, skipped) = first_that_opens(vec!["broken a", "broken b"], open);
        assert_eq!(got, None);
        assert_eq!(skipped.len(), 2);
        assert!(skipped[1].contains("broken b"));
        let (none, nothing) = first_that_opens(Vec::<&'static str>::new(), open);
        assert_eq!((none, nothing.len()), (None, 0));
    }
}

#[cfg(test)]
mod driver_tests {
    use super::gl_driver;

    /// The GL driver's name is read from GL_VERSION strings as Mesa, NVIDIA and ANGLE/ES
    /// drivers write them.
    #[test]
    fn gl_version_strings_name_their_driver() {
        assert_eq!(
            gl_driver("4.5 (Core Profile) Mesa 22.3.6").as_deref(),
            Some("Mesa 22.3.6")
        );
        assert_eq!(
            gl_driver("4.6.0 NVIDIA 535.54.03").as_deref(),
            Some("NVIDIA 535.54.03")
        );
        assert_eq!(
            gl_driver("OpenGL ES 3.2 Mesa 23.1.0").as_deref(),
            Some("Mesa 23.1.0")
        );
        assert_eq!(gl_driver("4.5"), None);
        assert_eq!(gl_driver(""), None);
    }
}
