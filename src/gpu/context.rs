//! Instance, adapter and device selection, the `devices` listing, and error routing: wgpu's
//! default handler panics on an uncaptured error; here every such error is stored and turned
//! into an [`Error::Gpu`] at the next check.

use super::limits;
use crate::error::{Error, Result};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a wait outside training (an upload, a readback, building pipelines) may take
/// before the device is taken to be hung. Training waits are timed from the work they wait
/// for (`submits.rs`).
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(120);

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
    fn backends(self) -> wgpu::Backends {
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
}

impl DeviceInfo {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        DeviceInfo {
            name: info.name,
            backend: info.backend.to_str().to_string(),
            device_type: device_type_name(info.device_type).to_string(),
            driver: info.driver,
            driver_info: info.driver_info,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            timestamp_query: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// "llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, cpu]".
    pub fn short(&self) -> String {
        format!("{} [{}, {}]", self.name, self.backend, self.device_type)
    }

    /// The adapter line `selftest` and `bench` print: "adapter: llvmpipe (LLVM 15.0.6, 256
    /// bits), backend vulkan, type cpu, driver llvmpipe (Mesa 22.3.6 (LLVM 15.0.6))".
    pub fn line(&self) -> String {
        let driver = match (self.driver.is_empty(), self.driver_info.is_empty()) {
            (false, false) => format!("{} ({})", self.driver, self.driver_info),
            (false, true) => self.driver.clone(),
            (true, false) => self.driver_info.clone(),
            (true, true) => "unknown".to_string(),
        };
        format!(
            "adapter: {}, backend {}, type {}, driver {driver}",
            self.name, self.backend, self.device_type
        )
    }
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
        writeln!(f, "  driver:       {} ({})", self.driver, self.driver_info)?;
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
        write!(
            f,
            "  timestamp queries: {}",
            if self.timestamp_query { "yes" } else { "no" }
        )
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

/// Errors wgpu reports asynchronously (validation, out of memory, device lost), kept until the
/// next [`GpuContext::check`].
#[derive(Clone, Default)]
pub(crate) struct ErrorSink {
    messages: Arc<Mutex<Vec<String>>>,
    /// Why the device was lost, once it was: every later check fails with this first, since
    /// what follows a loss (invalid buffers, failed maps) is its consequence.
    lost: Arc<Mutex<Option<String>>>,
}

impl ErrorSink {
    fn push(&self, message: String) {
        if let Ok(mut m) = self.messages.lock() {
            m.push(message);
        }
    }

    fn set_lost(&self, message: String) {
        if let Ok(mut l) = self.lost.lock() {
            l.get_or_insert(message);
        }
    }

    fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    fn take(&self) -> Vec<String> {
        match self.messages.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(_) => vec!["the GPU error log was poisoned by a panic".to_string()],
        }
    }
}

/// An opened device: what every GPU backend runs on.
#[derive(Clone)]
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: DeviceInfo,
    pub(crate) adapter_type: wgpu::DeviceType,
    pub(crate) timestamps: bool,
    errors: ErrorSink,
    // Kept so the adapter outlives every device created from it.
    _instance: wgpu::Instance,
}

impl GpuContext {
    /// Opens the best adapter of `api` whose name contains `adapter_filter` (case-insensitive).
    /// When none matches, the error lists the adapters that do exist.
    pub fn new(api: GpuApi, adapter_filter: Option<&str>) -> Result<GpuContext> {
        match GpuContext::find(api, adapter_filter)? {
            Some(ctx) => Ok(ctx),
            None => Err(Error::Gpu(no_adapter_message(api, adapter_filter))),
        }
    }

    /// As [`GpuContext::new`], but `Ok(None)` when no adapter matches, so that a caller can
    /// fall back to the CPU. Errors are for adapters that exist but cannot be opened.
    pub fn find(api: GpuApi, adapter_filter: Option<&str>) -> Result<Option<GpuContext>> {
        let (inst, candidates) = ranked(api, adapter_filter);
        match candidates.into_iter().next() {
            Some(adapter) => GpuContext::open(inst, adapter).map(Some),
            None => Ok(None),
        }
    }

    /// `--backend auto`: the best-ranked adapter that opens, trying the next when one cannot
    /// be opened. `skipped` says why each one before it failed; `context` is `None` when none
    /// opened (or none exists), and the caller falls back to the CPU.
    pub fn open_best(adapter_filter: Option<&str>) -> AutoChoice {
        let (inst, candidates) = ranked(GpuApi::Auto, adapter_filter);
        let (context, skipped) =
            first_that_opens(candidates, |a| GpuContext::open(inst.clone(), a));
        AutoChoice { context, skipped }
    }

    fn open(inst: wgpu::Instance, adapter: wgpu::Adapter) -> Result<GpuContext> {
        let info = DeviceInfo::of(&adapter);
        let limits = limits::device_limits(&adapter.limits()).map_err(|short| {
            Error::Gpu(format!(
                "cannot open {}: it offers {} {} ({}), gpu-mlp needs at least {}; pick another \
                 adapter (--adapter, `gpu-mlp devices`) or use --backend cpu",
                info.short(),
                short.offered,
                short.what,
                short.name,
                short.need
            ))
        })?;
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let required_features = if timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        let desc = wgpu::DeviceDescriptor {
            label: Some("gpu-mlp"),
            required_features,
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
            Error::Gpu(format!(
                "cannot open {}: {e} (gpu-mlp needs compute shaders and the limits `gpu-mlp \
                 selftest` lists)",
                info.short()
            ))
        })?;
        let errors = ErrorSink::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.push(describe_error(&e))
        }));
        let lost = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            lost.set_lost(format!(
                "the device was lost ({reason:?}{}{message}): a driver reset, a GPU hang or a removed GPU; \
                 restart, and continue a run saved with --checkpoint-every by --resume",
                if message.is_empty() { "" } else { ": " }
            ))
        });
        let adapter_type = adapter.get_info().device_type;
        Ok(GpuContext {
            device,
            queue,
            info,
            adapter_type,
            timestamps,
            errors,
            _instance: inst,
        })
    }

    /// "vulkan: llvmpipe (LLVM 15.0.6, 256 bits) (cpu)".
    pub fn describe(&self) -> String {
        format!(
            "{}: {} ({})",
            self.info.backend, self.info.name, self.info.device_type
        )
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// True for a software rasteriser (llvmpipe, WARP, SwiftShader): shaders run on the CPU.
    pub fn is_software(&self) -> bool {
        self.adapter_type == wgpu::DeviceType::Cpu
    }

    /// Destroys the device, as a driver reset, a GPU hang or an unplugged external GPU does:
    /// every later use must report a lost device as an error (tests/gpu_faults.rs).
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }

    /// Turns any error wgpu reported since the last check into an [`Error::Gpu`].
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        let mut messages = self.errors.take();
        if let Some(lost) = self.errors.lost() {
            messages.insert(0, lost);
        }
        if messages.is_empty() {
            Ok(())
        } else {
            Err(Error::Gpu(format!(
                "{what} failed on {}: {}",
                self.describe(),
                messages.join("; ")
            )))
        }
    }

    /// The device limits gpu-mlp depends on, as this device was opened with them.
    pub fn limits_used(&self) -> Vec<(&'static str, u64)> {
        limits::describe(&self.device.limits())
    }

    /// Blocks until the queue is idle, then checks for errors; gives up (and reports a hang)
    /// after [`WAIT_TIMEOUT`].
    pub(crate) fn wait(&self, what: &str) -> Result<()> {
        self.wait_within(what, WAIT_TIMEOUT)
    }

    /// Blocks until the queue is idle, at most `timeout`, then checks for errors. Running out
    /// of time is an error: the device is taken to be hung.
    pub(crate) fn wait_within(&self, what: &str, timeout: Duration) -> Result<()> {
        let wait = wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(timeout),
        };
        match self.device.poll(wait) {
            Ok(_) => {}
            Err(wgpu::PollError::Timeout) => {
                // A lost device explains a wait that never ends better than a hang does.
                self.check(what)?;
                return Err(Error::Gpu(format!(
                    "{what}: {} did not finish within {:.0} s; the GPU looks hung (a driver \
                     fault, or a display GPU's watchdog about to reset it); try a smaller \
                     --batch-size or narrower layers, another adapter, or --backend cpu",
                    self.describe(),
                    timeout.as_secs_f64()
                )));
            }
            Err(e) => {
                return Err(Error::Gpu(format!(
                    "{what}: waiting for {}: {e}",
                    self.describe()
                )))
            }
        }
        self.check(what)
    }
}

/// What `--backend auto` found: the adapter it opened, and why each better-ranked one failed.
pub struct AutoChoice {
    pub context: Option<GpuContext>,
    pub skipped: Vec<String>,
}

/// The adapters of `api` whose name contains `filter` (case-insensitive), best first (real
/// GPUs before software ones, [`rank`]).
fn ranked(api: GpuApi, filter: Option<&str>) -> (wgpu::Instance, Vec<wgpu::Adapter>) {
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

/// One line for an error wgpu reports: its description with the chain of causes under it
/// (wgpu's own text is often just "Validation Error"), and for running out of memory what to
/// change.
fn describe_error(e: &wgpu::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let t = c.to_string();
        if !text.contains(&t) {
            text = format!("{text}: {t}");
        }
        cause = c.source();
    }
    if matches!(e, wgpu::Error::OutOfMemory { .. }) {
        text += " (the device ran out of memory: use a smaller --batch-size, narrower --layers, \
                 fewer images, or --backend cpu)";
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

fn no_adapter_message(api: GpuApi, filter: Option<&str>) -> String {
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
