//! The range of each real-valued hyper-parameter, in one place. `TrainConfig::validate` holds a
//! configuration's values to them (whether they came from a preset, a resumed checkpoint or the
//! flags), and the command line holds each value a flag lists to them first, so that a refusal
//! quotes the number as the user typed it: `--momentum 0.99999999` is refused as "found
//! 0.99999999", with a note that f32, the precision training runs in, rounds it to 1.

use crate::error::{Error, Result};

/// A flag's valid values: its name, the range in words, and the test.
pub struct Range {
    pub flag: &'static str,
    pub expected: &'static str,
    ok: fn(f64) -> bool,
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn non_negative(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

fn unit_interval(v: f64) -> bool {
    (0.0..1.0).contains(&v)
}

fn above_one(v: f64) -> bool {
    v.is_finite() && v > 1.0
}

/// Learning rate η.
pub const ETA: Range = Range {
    flag: "--eta",
    expected: "a finite number > 0",
    ok: positive,
};
/// L2 regularisation λ.
pub const LAMBDA: Range = Range {
    flag: "--lambda",
    expected: "a finite number >= 0",
    ok: non_negative,
};
/// Momentum's μ.
pub const MOMENTUM: Range = Range {
    flag: "--momentum",
    expected: "in [0, 1)",
    ok: unit_interval,
};
/// Adam's β₁.
pub const BETA1: Range = Range {
    flag: "--beta1",
    expected: "in [0, 1)",
    ok: unit_interval,
};
/// Adam's β₂.
pub const BETA2: Range = Range {
    flag: "--beta2",
    expected: "in [0, 1)",
    ok: unit_interval,
};
/// Adam's ε.
pub const ADAM_EPSILON: Range = Range {
    flag: "--adam-epsilon",
    expected: "a finite number > 0",
    ok: positive,
};
/// RMSprop's ρ.
pub const RHO: Range = Range {
    flag: "--rho",
    expected: "in [0, 1)",
    ok: unit_interval,
};
/// AdaGrad's ε.
pub const ADAGRAD_EPSILON: Range = Range {
    flag: "--adagrad-epsilon",
    expected: "a finite number > 0",
    ok: positive,
};
/// RMSprop's ε.
pub const RMSPROP_EPSILON: Range = Range {
    flag: "--rmsprop-epsilon",
    expected: "a finite number > 0",
    ok: positive,
};
/// The step schedule's factor.
pub const DECAY: Range = Range {
    flag: "--decay",
    expected: "a finite number > 0 (the step schedule's factor)",
    ok: positive,
};
/// The plateau schedule's divisor.
pub const DIVISOR: Range = Range {
    flag: "--divisor",
    expected: "a finite number > 1 (the plateau schedule's divisor)",
    ok: above_one,
};

impl Range {
    /// Refuses `value` outside the range. `typed` is the user's text for it, quoted in the
    /// message when given (else the value is); where the text names a number inside the range
    /// that f32 rounds out of it, the message says so.
    pub fn check(&self, value: f32, typed: Option<&str>) -> Result<()> {
        let v = value as f64;
        if (self.ok)(v) {
            return Ok(());
        }
        let found = typed.map_or_else(|| value.to_string(), str::to_string);
        let rounded = match typed.and_then(|t| t.parse::<f64>().ok()) {
            Some(exact) if (self.ok)(exact) => {
                format!(" (f32, the precision training runs in, rounds it to {value})")
            }
            _ => String::new(),
        };
        Err(Error::config(format!(
            "{} must be {}, found {found}{rounded}",
            self.flag, self.expected
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal quotes the typed text, and says when f32 rounding is what put it out of range.
    #[test]
    fn refusals_quote_the_text_and_explain_rounding() {
        let e = MOMENTUM.check(1.0, Some("0.99999999")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--momentum must be in [0, 1), found 0.99999999 (f32, the precision training runs in, rounds it to 1)"
        );
        let e = ETA.check(-1.0, Some("-1")).unwrap_err();
        assert_eq!(e.to_string(), "--eta must be a finite number > 0, found -1");
        let e = LAMBDA.check(-5.0, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--lambda must be a finite number >= 0, found -5"
        );
        assert!(ETA.check(f32::INFINITY, Some("1e39")).is_err());
        assert!(MOMENTUM.check(0.5, Some("0.5")).is_ok());
        assert!(DIVISOR.check(1.0, Some("1")).is_err());
        assert!(LAMBDA.check(0.0, Some("0")).is_ok());
    }
}
