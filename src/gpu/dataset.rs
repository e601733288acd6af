//! A data set on the device: u8 pixels packed four to a u32 word, each image padded to whole
//! words, split over up to [`IMAGE_BINDINGS`] storage bindings of whole images when it exceeds one
//! binding; labels as u32. Uploaded once, read by gather.wgsl through each batch's indices.

use super::buffers;
use super::context::GpuContext;
use super::layout::{GatherDims, IMAGE_BINDINGS};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// Bytes of images packed and written per upload step.
const UPLOAD_BYTES: u64 = 16 << 20;

pub(crate) struct DeviceSet {
    pub len: usize,
    /// 1..=IMAGE_BINDINGS buffers of whole images.
    pub chunks: Vec<wgpu::Buffer>,
    pub labels: wgpu::Buffer,
    pub host_labels: Vec<u8>,
    pub dims: wgpu::Buffer,
    /// What `dims` holds; the trainer sets `batch_stride` (its members' input batches).
    pub gather: GatherDims,
}

impl DeviceSet {
    /// Packs and uploads `set`; `max_chunk_bytes` is the largest binding to use.
    pub fn upload(
        ctx: &GpuContext,
        name: &str,
        set: &Dataset,
        max_chunk_bytes: u64,
    ) -> Result<Self> {
        let pixels = set.pixels();
        let words_per_image = pixels.div_ceil(4).max(1);
        let image_bytes = (words_per_image * 4) as u64;
        let images_per_chunk = (max_chunk_bytes / image_bytes) as usize;
        if images_per_chunk == 0 {
            return Err(Error::Gpu(format!(
                "one {pixels}-pixel image of the {name} set does not fit a {max_chunk_bytes}-byte storage binding of {}",
                ctx.info.name
            )));
        }
        let len = set.len();
        let chunk_count = len.div_ceil(images_per_chunk).max(1);
        if chunk_count > IMAGE_BINDINGS as usize {
            return Err(Error::Gpu(format!(
                "the {name} set ({len} images, {} MiB packed) needs {chunk_count} storage bindings of at most {} MiB on {}; at most {IMAGE_BINDINGS} are supported: use fewer images (--train-size) or an adapter with larger bindings",
                (len as u64 * image_bytes).div_ceil(1 << 20),
                max_chunk_bytes >> 20,
                ctx.info.name
            )));
        }
        // Each binding is filled a slice at a time (packed on the host, written, and the
        // staging memory released before the next), so uploading needs UPLOAD_BYTES of memory
        // beyond the data and its device copy rather than two more copies of the whole set.
        let images_per_slice = (UPLOAD_BYTES / image_bytes).max(1) as usize;
        let mut chunks = Vec::with_capacity(chunk_count);
        for c in 0..chunk_count {
            let start = (c * images_per_chunk).min(len);
            let end = ((c + 1) * images_per_chunk).min(len);
            let buffer = buffers::storage_zeroed(
                ctx,
                &format!("{name} images {c}"),
                (end - start) as u64 * image_bytes,
            );
            for slice_start in (start..end).step_by(images_per_slice) {
                let slice_end = (slice_start + images_per_slice).min(end);
                let mut words = vec![0u32; (slice_end - slice_start) * words_per_image];
                for (i, image) in (slice_start..slice_end).enumerate() {
                    let dst = &mut words[i * words_per_image..(i + 1) * words_per_image];
                    for (p, &byte) in set.image(image).iter().enumerate() {
                        dst[p / 4] |= (byte as u32) << (8 * (p % 4));
                    }
                }
                let offset = (slice_start - start) as u64 * image_bytes;
                ctx.queue
                    .write_buffer(&buffer, offset, bytemuck::cast_slice(&words));
                ctx.queue.submit([]);
                ctx.wait(&format!("uploading the {name} images"))?;
            }
            chunks.push(buffer);
        }
        let labels: Vec<u32> = set.labels.iter().map(|&l| l as u32).collect();
        let dims = GatherDims {
            pixels: pixels as u32,
            words_per_image: words_per_image as u32,
            images_per_chunk: images_per_chunk.min(u32::MAX as usize) as u32,
            batch_stride: 0,
            slot_rows: 0,
            members: 1,
            records_per_step: 1,
            _pad: 0,
        };
        Ok(DeviceSet {
            len,
            chunks,
            labels: buffers::storage_init(
                ctx,
                &format!("{name} labels"),
                bytemuck::cast_slice(&labels),
            ),
            host_labels: set.labels.clone(),
            dims: buffers::uniform_init(
                ctx,
                &format!("{name} gather dims"),
                bytemuck::bytes_of(&dims),
            ),
            gather: dims,
        })
    }

    /// Sets how far apart members' batches of input activations are (floats), how many
    /// members there are and how many records apart consecutive steps are.
    pub fn set_batch_stride(
        &mut self,
        ctx: &GpuContext,
        stride: usize,
        members: usize,
        records_per_step: usize,
    ) {
        self.gather.batch_stride = stride as u32;
        self.gather.members = members as u32;
        self.gather.records_per_step = records_per_step as u32;
        self.write(ctx);
    }

    /// Sets how many rows apart consecutive steps' batches sit in a member's block.
    pub fn set_slot_rows(&mut self, ctx: &GpuContext, slot_rows: usize) {
        if self.gather.slot_rows != slot_rows as u32 {
            self.gather.slot_rows = slot_rows as u32;
            self.write(ctx);
        }
    }

    fn write(&self, ctx: &GpuContext) {
        ctx.queue
            .write_buffer(&self.dims, 0, bytemuck::bytes_of(&self.gather));
    }

    /// The chunk bound at gather.wgsl's images{i}; unused slots repeat chunk 0.
    pub fn chunk(&self, i: usize) -> &wgpu::Buffer {
        self.chunks.get(i).unwrap_or(&self.chunks[0])
    }
}
