//! A member's parameters and optimizer slots in the packed buffers, where member m's layer l
//! starts at m·(floats per member) + the layer's offset: written from and read back into
//! [`Params`].

use super::*;

impl FusedBackend {
    /// Where member `m`'s layer `l` starts in the parameter buffers, in floats.
    fn layer_start(&self, m: usize, l: usize) -> usize {
        m * self.shape.member_floats() + self.shape.layer_offsets()[l]
    }

    /// Writes `params` as member `m`'s parameters (`slot` None) or its optimizer slot.
    pub(in crate::gpu::fused) fn write_member(
        &self,
        m: usize,
        slot: Option<usize>,
        params: &Params,
    ) {
        let buffer = match slot {
            None => &self.params,
            Some(s) => &self.slots[s],
        };
        for (l, layer) in params.layers.iter().enumerate() {
            let mut floats = layer.weight.clone();
            floats.extend_from_slice(&layer.bias);
            let at = (self.layer_start(m, l) * 4) as u64;
            self.ctx
                .queue
                .write_buffer(buffer, at, bytemuck::cast_slice(&floats));
        }
    }

    /// Member `m`'s parameters (`slot` None) or optimizer slot, read back.
    pub(in crate::gpu::fused) fn read_member(
        &self,
        m: usize,
        slot: Option<usize>,
    ) -> Result<Params> {
        let buffer = match slot {
            None => &self.params,
            Some(s) => self
                .slots
                .get(s)
                .ok_or_else(|| Error::internal(format!("optimizer slot {s} does not exist")))?,
        };
        let shapes: Vec<(usize, usize)> = self.net.shapes().collect();
        let ranges: Vec<(&wgpu::Buffer, u64, u64)> = shapes
            .iter()
            .enumerate()
            .map(|(l, (i, o))| {
                let at = (self.layer_start(m, l) * 4) as u64;
                (buffer, at, ((i * o + o) * 4) as u64)
            })
            .collect();
        let data = buffers::read_back_ranges(&self.ctx, &ranges)?;
        let layers = shapes
            .iter()
            .zip(data)
            .map(|(&(inputs, outputs), bytes)| {
                let floats = buffers::to_f32(&bytes);
                let w = inputs * outputs;
                Layer {
                    inputs,
                    outputs,
                    weight: floats[..w].to_vec(),
                    bias: floats[w..].to_vec(),
                }
            })
            .collect();
        Ok(Params { layers })
    }
}
