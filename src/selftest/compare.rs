//! Holding results against the reference, element by element, each within its own bound, and
//! the argued bounds themselves.
//!
//! The multiply bound: a length-K f32 dot product summed in any order is within
//! K·2⁻²⁴·Σ|a_k b_k| of the exact value, plus one rounding of the result; the checks allow
//! twice that, plus 1e-6 absolute and 2e-7 relative for the GPU's exp and division (a few ulp).
//! Anything wrong (a transposed index, a missing bias, a skipped tile, a lost workgroup row) is
//! off by O(1), orders of magnitude beyond it.

use super::Check;
use crate::gpu::kernels::Pipeline;

/// 2⁻²⁴, the unit roundoff of f32.
const U: f64 = 1.0 / 16_777_216.0;

/// The bound on an f32 dot product of length `k` whose terms' absolute values sum to `abs`,
/// against the exact value `want`.
pub(crate) fn dot_bound(k: usize, abs: f64, want: f64) -> f64 {
    2.0 * (k as f64 + 1.0) * U * abs + 1e-6 + 2e-7 * want.abs()
}

/// The first result outside its bound.
#[derive(Clone, Debug)]
struct Mismatch {
    at: String,
    got: f64,
    want: f64,
    bound: f64,
}

/// The running comparison of one check.
#[derive(Default)]
pub(crate) struct Comparison {
    /// (error, bound) of the element with the largest error relative to its bound, and that
    /// ratio (infinite for a failure).
    worst: Option<(f64, f64)>,
    worst_ratio: f64,
    first: Option<Mismatch>,
    failed: usize,
    count: usize,
}

impl Comparison {
    /// Compares one result: `got` must be within `bound` of `want`. `at` names the element
    /// (called only for the first failure).
    pub fn add(&mut self, at: impl FnOnce() -> String, got: f64, want: f64, bound: f64) {
        self.count += 1;
        let error = (got - want).abs();
        // A NaN fails: the comparison is written so that it cannot pass.
        let within = error <= bound;
        let ratio = match (within, bound > 0.0) {
            (false, _) => f64::INFINITY,
            (true, true) => error / bound,
            (true, false) => 0.0,
        };
        if self.worst.is_none() || ratio > self.worst_ratio {
            self.worst = Some((error, bound));
            self.worst_ratio = ratio;
        }
        if !within {
            self.failed += 1;
            if self.first.is_none() {
                self.first = Some(Mismatch {
                    at: at(),
                    got,
                    want,
                    bound,
                });
            }
        }
    }

    /// The check's result: `name` (a pipeline's name for a kernel check) on `shape`.
    pub fn finish(
        self,
        family: &'static str,
        name: String,
        shape: String,
        pipelines: Vec<Pipeline>,
    ) -> Check {
        let (max_error, bound) = self.worst.unwrap_or((0.0, 0.0));
        let failure = self.first.map(|m| {
            format!(
                "{} of {} results outside their bounds; the first: {}: gpu {:.8e}, cpu reference {:.8e} (bound {:.1e})",
                self.failed, self.count, m.at, m.got, m.want, m.bound
            )
        });
        let failure = match (failure, self.count) {
            (None, 0) => Some("no result was compared".to_string()),
            (f, _) => f,
        };
        Check {
            family,
            name,
            shape,
            max_error,
            bound,
            passed: failure.is_none(),
            failure,
            pipelines,
        }
    }
}

/// Perturbs one element of `values` when the plan plants an error in check `name`: how the
/// tests prove that a wrong result is caught and named.
pub(crate) fn plant(planted: Option<&str>, name: &str, values: &mut [f32]) {
    if planted == Some(name) && !values.is_empty() {
        let i = values.len() / 2;
        values[i] = values[i] * 1.5 + 0.25;
    }
}

/// A comparison fails on an error beyond its bound, on a NaN, and names the first failure.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_beyond_its_bound_fails_and_is_named() {
        let mut c = Comparison::default();
        c.add(|| "x[0]".into(), 1.0, 1.0, 1e-6);
        c.add(|| "x[1]".into(), 2.5, 2.0, 1e-3);
        c.add(|| "x[2]".into(), 9.0, 2.0, 1e-3);
        let check = c.finish("t", "k".into(), "3".into(), vec![]);
        assert!(!check.passed);
        let f = check.failure.unwrap();
        assert!(
            f.starts_with("2 of 3") && f.contains("x[1]") && f.contains("gpu 2.50000000e0"),
            "{f}"
        );
    }

    #[test]
    fn nan_fails_and_small_errors_pass() {
        let mut c = Comparison::default();
        c.add(|| "a".into(), f64::NAN, 1.0, 1.0);
        assert!(!c.finish("t", "k".into(), "1".into(), vec![]).passed);
        let mut c = Comparison::default();
        c.add(|| "a".into(), 1.0 + 1e-7, 1.0, dot_bound(10, 1.0, 1.0));
        let check = c.finish("t", "k".into(), "1".into(), vec![]);
        assert!(check.passed && check.max_error > 0.0 && check.bound > check.max_error);
    }

    #[test]
    fn an_empty_comparison_fails() {
        assert!(
            !Comparison::default()
                .finish("t", "k".into(), "0".into(), vec![])
                .passed
        );
    }
}
