//! Ctrl-C (SIGINT) and SIGTERM during training: the first asks the run to stop at the next
//! mini-batch slice (`progress.rs` checks between slices, the epoch loops between epochs), so
//! that `train` can clear its bar, save the last finished epoch and say how to resume; a second
//! one ends the process at once with the signal's conventional status (128 + its number).
//!
//! The handlers are signal-hook's (async-signal-safe: they only store into atomics or call
//! `_exit`). Until [`install`] is called nothing is registered and signals keep their default
//! action, so every other command still dies on Ctrl-C as usual.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The signals that ask a run to stop.
const SIGNALS: [i32; 2] = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];

struct Flags {
    /// Set by the first signal; while set, a second one exits at once.
    requested: Arc<AtomicBool>,
    /// The number of the signal that arrived last.
    signal: Arc<AtomicUsize>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Registers the handlers (once; later calls do nothing).
pub fn install() -> Result<()> {
    if FLAGS.get().is_some() {
        return Ok(());
    }
    let flags = Flags {
        requested: Arc::new(AtomicBool::new(false)),
        signal: Arc::new(AtomicUsize::new(0)),
    };
    for sig in SIGNALS {
        let register = || -> std::io::Result<()> {
            // Registered first, so it runs before the flag is set: the first signal finds the
            // flag clear and only sets it; a second finds it set and exits with 128 + sig.
            signal_hook::flag::register_conditional_shutdown(
                sig,
                128 + sig,
                flags.requested.clone(),
            )?;
            signal_hook::flag::register_usize(sig, flags.signal.clone(), sig as usize)?;
            signal_hook::flag::register(sig, flags.requested.clone())?;
            Ok(())
        };
        register().map_err(|e| {
            Error::internal(format!("cannot install the handler of signal {sig}: {e}"))
        })?;
    }
    let _ = FLAGS.set(flags);
    Ok(())
}

/// The signal that asked the run to stop, once one has.
pub fn requested() -> Option<i32> {
    let flags = FLAGS.get()?;
    if !flags.requested.load(Ordering::SeqCst) {
        return None;
    }
    Some(flags.signal.load(Ordering::SeqCst) as i32)
}

/// `Err(Error::Interrupted)` once a signal asked the run to stop: what the loops return at a
/// boundary where stopping is clean.
pub fn check() -> Result<()> {
    match requested() {
        Some(signal) => Err(Error::Interrupted {
            signal,
            message: format!("interrupted by {}", name(signal)),
        }),
        None => Ok(()),
    }
}

/// "SIGINT", "SIGTERM".
pub fn name(signal: i32) -> &'static str {
    match signal {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The command line that continues a run: this process's arguments as typed, with
/// `--resume PATH` in place of any `--resume` they held, quoted for a POSIX shell.
pub fn resume_command(resume: &std::path::Path) -> String {
    let mut args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        if args[i] == "--resume" {
            args.drain(i..(i + 2).min(args.len()));
        } else if args[i].starts_with("--resume=") {
            args.remove(i);
        } else {
            i += 1;
        }
    }
    args.push("--resume".to_string());
    args.push(resume.display().to_string());
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `a` as one word for a POSIX shell: as it is when it holds only safe characters, else in
/// single quotes.
fn shell_quote(a: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c);
    if !a.is_empty() && a.chars().all(safe) {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words with spaces, quotes or shell metacharacters come back as one word each.
    #[test]
    fn quotes_what_a_shell_would_split() {
        assert_eq!(shell_quote("--eta"), "--eta");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
