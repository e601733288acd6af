//! Per-kernel GPU time from timestamp queries: the first [`PROFILED_STEPS`] steps of an epoch
//! run each dispatch in its own compute pass whose beginning and end are timestamped; the
//! seconds per call of each kernel are the mean over those steps. Adapters without
//! TIMESTAMP_QUERY get no profile.

use super::buffers;
use super::context::GpuContext;
use crate::error::Result;

/// How many steps of an epoch are timed.
pub const PROFILED_STEPS: usize = 4;

pub(crate) struct Profiler {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    names: Vec<String>,
    capacity: u32,
}

impl Profiler {
    /// Room for `passes` timed passes.
    pub fn new(ctx: &GpuContext, passes: usize) -> Profiler {
        // wgpu caps a query set at 4096 queries.
        let capacity = (passes as u32).min(2048);
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: capacity * 2,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("kernel timestamps"),
            size: capacity as u64 * 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Profiler {
            queries,
            resolved,
            names: Vec::new(),
            capacity,
        }
    }

    /// The timestamp writes for the next pass, named `name`; `None` once the set is full.
    pub fn next_writes(&mut self, name: String) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let i = self.names.len() as u32;
        if i >= self.capacity {
            return None;
        }
        self.names.push(name);
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(2 * i),
            end_of_pass_write_index: Some(2 * i + 1),
        })
    }

    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let used = self.names.len() as u32;
        if used > 0 {
            encoder.resolve_query_set(&self.queries, 0..2 * used, &self.resolved, 0);
        }
    }

    /// Seconds per call of each kernel, in first-seen order.
    pub fn read(self, ctx: &GpuContext) -> Result<Vec<(String, f64)>> {
        let used = self.names.len();
        if used == 0 {
            return Ok(Vec::new());
        }
        let bytes = buffers::read_back(ctx, &[(&self.resolved, used as u64 * 16)])?;
        let ticks: Vec<u64> = bytes[0]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let period_s = ctx.queue.get_timestamp_period() as f64 * 1e-9;
        let mut out: Vec<(String, f64, usize)> = Vec::new();
        for (i, name) in self.names.into_iter().enumerate() {
            let seconds = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period_s;
            match out.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => {
                    entry.1 += seconds;
                    entry.2 += 1;
                }
                None => out.push((name, seconds, 1)),
            }
        }
        Ok(out.into_iter().map(|(n, s, c)| (n, s / c as f64)).collect())
    }
}
