//! What a run stopped by Ctrl-C or SIGTERM (`crate::interrupt`) leaves: the last finished
//! epoch saved where --save was given, and the message that says so, with the command that
//! resumes it. The process then exits 130 (SIGINT) or 143 (SIGTERM).

use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::error::Error;
use std::path::Path;

/// What Ctrl-C or SIGTERM leaves: the last finished epoch saved where --save was given (the
/// epoch in progress is dropped; `epoch` is the last finished one), and a message saying so,
/// with the command that resumes.
pub fn single(
    signal: i32,
    args: &TrainArgs,
    last_finished: Option<Checkpoint>,
    epoch: usize,
) -> Error {
    let by = crate::interrupt::name(signal);
    let message = match (&args.save, last_finished) {
        (Some(path), Some(ck)) => match ck.save(path) {
            Ok(()) => format!(
                "interrupted after epoch {epoch} ({by}); saved {}; resume with: {}",
                path.display(),
                crate::interrupt::resume_command(path)
            ),
            Err(e) => format!("interrupted after epoch {epoch} ({by}); saving failed: {e}"),
        },
        (Some(_), None) => format!(
            "interrupted in epoch {} ({by}), before any epoch finished; nothing was saved",
            epoch + 1
        ),
        (None, _) => format!(
            "interrupted after epoch {epoch} ({by}); nothing was saved (give --save PATH to \
             keep the last finished epoch and resume from it)"
        ),
    };
    Error::Interrupted { signal, message }
}

/// What Ctrl-C or SIGTERM leaves of a sweep: every member of the group in progress saved after
/// its last finished epoch (earlier groups are done, later ones start on resume) where
/// --save DIR was given, and the command that resumes it.
pub fn sweep(signal: i32, save: Option<&Path>, epoch: usize, group: &str) -> Error {
    let by = crate::interrupt::name(signal);
    let message = match save {
        Some(dir) => format!(
            "interrupted after epoch {epoch} of {group} ({by}); saved {}; resume with: {}",
            dir.display(),
            crate::interrupt::resume_command(dir)
        ),
        None => format!(
            "interrupted after epoch {epoch} of {group} ({by}); nothing was saved (give --save \
             DIR to keep the members and resume with --resume DIR)"
        ),
    };
    Error::Interrupted { signal, message }
}
