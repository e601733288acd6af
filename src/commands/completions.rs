//! `gpu-mlp completions SHELL`: a completion script generated from the command line's
//! definition by clap_complete, so it always knows every subcommand and flag.

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;
use clap::CommandFactory;

pub fn run(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "gpu-mlp", &mut std::io::stdout());
    Ok(())
}
