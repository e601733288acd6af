//! Many networks in one run: seed and hyperparameter sweeps. `plan` expands the flags' lists
//! into members and groups them (members of a group train together on one backend, through
//! `train::members`); `manifest` records a sweep in its directory so that it can be resumed;
//! `results` is the table of what the members reached.

pub mod manifest;
pub mod plan;
pub mod results;
