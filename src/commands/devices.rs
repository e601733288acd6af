//! `gpu-mlp devices`: every adapter wgpu finds, with the limits that matter for training.

use crate::cli::DevicesArgs;
use crate::error::{Error, Result};
use crate::gpu::list_devices;

pub fn run(args: &DevicesArgs) -> Result<()> {
    let devices = list_devices();
    if args.json {
        let s = serde_json::to_string_pretty(&devices)
            .map_err(|e| Error::internal(format!("cannot encode JSON: {e}")))?;
        println!("{s}");
        return Ok(());
    }
    if devices.is_empty() {
        println!(
            "no GPU adapters found (for a software one: apt-get install -y mesa-vulkan-drivers); --backend cpu still works"
        );
    }
    for d in &devices {
        println!("{d}");
    }
    Ok(())
}
