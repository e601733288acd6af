//! `gpu-mlp expand-data`.

use crate::cli::{DataArgs, ExpandArgs};
use crate::data::expand::expand_dir;
use crate::error::Result;

pub fn run(args: &ExpandArgs) -> Result<()> {
    let source = DataArgs {
        dataset: Some(args.dataset),
        data_dir: args.data_dir.clone(),
        train_size: 0,
        validation_size: args.validation_size,
        test_size: None,
    }
    .source();
    let n = expand_dir(&source.dir(), &args.out, args.validation_size)?;
    let expanded = n - args.validation_size;
    println!(
        "wrote {n} training images ({expanded} expanded, then {} unchanged to validate on) and the test set to {}; train with --data-dir {} --train-size {expanded} --validation-size {}",
        args.validation_size,
        args.out.display(),
        args.out.display(),
        args.validation_size
    );
    Ok(())
}
