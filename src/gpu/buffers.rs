//! Buffer creation and readback (wgpu 30's pattern: copy into a MAP_READ staging buffer,
//! `map_async`, `poll` until the callback has run, read the mapped view, unmap).

use super::context::GpuContext;
use crate::error::{Error, Result};
use wgpu::util::DeviceExt;

/// A storage buffer holding `data` (at least 4 bytes: wgpu rejects empty bindings).
pub(crate) fn storage_init(ctx: &GpuContext, label: &str, data: &[u8]) -> wgpu::Buffer {
    let padded;
    let contents = if data.len() < 4 {
        padded = vec![0u8; 4];
        &padded[..]
    } else {
        data
    };
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
        })
}

/// A zeroed storage buffer of `bytes` bytes (at least 4).
pub(crate) fn storage_zeroed(ctx: &GpuContext, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding `data`.
pub(crate) fn uniform_init(ctx: &GpuContext, label: &str, data: &[u8]) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: data,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// Checks that a buffer of `bytes` fits one storage binding of this device.
pub(crate) fn check_binding(ctx: &GpuContext, what: &str, bytes: u64) -> Result<()> {
    let limit = ctx.device.limits().max_storage_buffer_binding_size;
    if bytes > limit {
        return Err(Error::Gpu(format!(
            "{what} needs a {} MiB buffer but {} binds at most {} MiB; use a smaller batch or narrower layers",
            bytes.div_ceil(1 << 20),
            ctx.info.name,
            limit >> 20
        )));
    }
    Ok(())
}

/// Copies the first `bytes` of each source buffer back to the host, with one submission and
/// one wait for all of them.
pub(crate) fn read_back(
    ctx: &GpuContext,
    sources: &[(&wgpu::Buffer, u64)],
) -> Result<Vec<Vec<u8>>> {
    let ranges: Vec<(&wgpu::Buffer, u64, u64)> = sources.iter().map(|&(b, n)| (b, 0, n)).collect();
    read_back_ranges(ctx, &ranges)
}

/// Copies `bytes` from byte `offset` of each source buffer back to the host (offsets and
/// sizes multiples of 4), with one submission and one wait for all of them.
pub(crate) fn read_back_ranges(
    ctx: &GpuContext,
    sources: &[(&wgpu::Buffer, u64, u64)],
) -> Result<Vec<Vec<u8>>> {
    let total: u64 = sources.iter().map(|(_, _, b)| b.next_multiple_of(4)).sum();
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: total.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    let mut offset = 0;
    for (buffer, from, bytes) in sources {
        let size = bytes.next_multiple_of(4);
        if size > 0 {
            encoder.copy_buffer_to_buffer(buffer, *from, &staging, offset, size);
        }
        offset += size;
    }
    ctx.queue.submit([encoder.finish()]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = sender.send(r);
    });
    ctx.wait("reading results back")?;
    match receiver.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Error::Gpu(format!("mapping the readback buffer: {e}"))),
        Err(_) => {
            return Err(Error::Gpu(
                "the readback buffer was never mapped".to_string(),
            ))
        }
    }
    let view = staging
        .get_mapped_range(..)
        .map_err(|e| Error::Gpu(format!("reading the readback buffer: {e}")))?;
    let mut out = Vec::with_capacity(sources.len());
    let mut offset = 0usize;
    for (_, _, bytes) in sources {
        out.push(view[offset..offset + *bytes as usize].to_vec());
        offset += bytes.next_multiple_of(4) as usize;
    }
    drop(view);
    staging.unmap();
    Ok(out)
}

/// Reinterprets little-endian bytes as f32s.
pub(crate) fn to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn to_u32(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
