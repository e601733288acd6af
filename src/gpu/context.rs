//! An opened device, and error routing: wgpu's default handler panics on an uncaptured error;
//! here every such error is stored and turned into an [`Error::Gpu`] at the next check. Waits
//! have a timeout, and running out of it is an error too. Finding the adapters is
//! `adapters.rs`'s.

use super::adapters::{
    first_that_opens, no_adapter_message, ranked, AutoChoice, DeviceInfo, GpuApi,
};
use super::limits;
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a wait outside training (an upload, a readback, building pipelines) may take
/// before the device is taken to be hung. Training waits are timed from the work they wait
/// for (`submits.rs`).
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(120);

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
        AutoChoice {
            context,
            skipped,
            software: Vec::new(),
        }
    }

    /// `--backend auto` for training: the best hardware adapter (discrete, integrated, virtual)
    /// that opens, software ones (llvmpipe, WARP: DeviceType::Cpu) passed over, since the CPU
    /// reference outruns them; `context` is `None` when none opened and the caller takes the
    /// CPU path. With `--adapter NAME` the adapter is asked for by name: the best match that
    /// opens, software or not, and an error listing the adapters when none matches or opens.
    pub fn open_auto(adapter_filter: Option<&str>) -> Result<AutoChoice> {
        let (inst, candidates) = ranked(GpuApi::Auto, adapter_filter);
        if let Some(filter) = adapter_filter {
            if candidates.is_empty() {
                return Err(Error::Gpu(format!(
                    "--adapter {filter:?}: {}",
                    no_adapter_message(GpuApi::Auto, Some(filter)).replacen(
                        "no auto adapter",
                        "no Vulkan, Metal or DX12 adapter",
                        1
                    )
                )));
            }
            let (context, skipped) =
                first_that_opens(candidates, |a| GpuContext::open(inst.clone(), a));
            return match context {
                Some(_) => Ok(AutoChoice {
                    context,
                    skipped,
                    software: Vec::new(),
                }),
                None => Err(Error::Gpu(format!(
                    "--adapter {filter:?}: no matching adapter opens: {}",
                    skipped.join("; ")
                ))),
            };
        }
        let (hardware, software): (Vec<_>, Vec<_>) = candidates
            .into_iter()
            .partition(|a| a.get_info().device_type != wgpu::DeviceType::Cpu);
        let software = software
            .iter()
            .map(|a| {
                let info = a.get_info();
                (info.name, info.backend.to_str().to_string())
            })
            .collect();
        let (context, skipped) = first_that_opens(hardware, |a| GpuContext::open(inst.clone(), a));
        Ok(AutoChoice {
            context,
            skipped,
            software,
        })
    }

    pub(crate) fn open(inst: wgpu::Instance, adapter: wgpu::Adapter) -> Result<GpuContext> {
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
        // Subgroups where the adapter has them: a software adapter's products use them when
        // they are multiply.rs's LANES wide (multiply::has_lanes).
        let wanted = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SUBGROUP;
        let required_features = adapter.features() & wanted;
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

    /// Whether the device has subgroups of exactly `lanes` invocations (wgpu's SUBGROUP
    /// feature, requested where the adapter has it).
    pub fn subgroups_of(&self, lanes: u32) -> bool {
        self.device.features().contains(wgpu::Features::SUBGROUP)
            && self.info.subgroups == Some((lanes, lanes))
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
