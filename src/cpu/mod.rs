//! The CPU reference backend. Being written.
