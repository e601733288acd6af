//! The `gpu-mlp` binary: parse the command line, run it, turn an error into one line on stderr
//! and the exit code documented in `--help`.

use clap::Parser;
use gpu_mlp::cli::Cli;

fn main() {
    let cli = Cli::parse();
    if let Err(e) = gpu_mlp::commands::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
