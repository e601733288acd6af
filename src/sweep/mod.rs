//! Many networks in one run: seed and hyperparameter sweeps. `plan` expands the flags' lists
//! into members and groups them; the members of a group train together on one backend.

pub mod plan;
