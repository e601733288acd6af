"""PyTorch's AdaGrad and RMSprop, transcribed in numpy float32, held against gpu-mlp's updates.

The transcription follows the algorithms in PyTorch's documentation of torch.optim.Adagrad and
torch.optim.RMSprop, operation by operation as torch/optim/adagrad.py and rmsprop.py
(_single_tensor_adagrad, _single_tensor_rmsprop: the path PyTorch takes for CPU tensors) write
them, with their defaults where gpu-mlp has no flag:

  Adagrad (lr_decay = 0, initial_accumulator_value = 0, maximize = False):
      g = grad + weight_decay * param              grad.add(param, alpha=weight_decay)
      clr = lr / (1 + (t - 1) * lr_decay) = lr
      state_sum = state_sum + 1 * g * g            state_sum.addcmul_(grad, grad, value=1)
      std = sqrt(state_sum) + eps                  state_sum.sqrt().add_(eps)
      param = param + (-clr * g) / std             param.addcdiv_(grad, std, value=-clr)

  RMSprop (centered = False, momentum = 0, maximize = False):
      g = grad + weight_decay * param
      square_avg = square_avg * alpha + (1 - alpha) * g * g
                                                   square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
      avg = sqrt(square_avg) + eps                 square_avg.sqrt().add_(eps): eps outside the root
      param = param + (-lr * g) / avg              param.addcdiv_(grad, avg, value=-lr)

Scalars (lr, alpha, eps, weight_decay) are Python floats that PyTorch rounds to float32 inside
each tensor operation; 1 - alpha is computed in double first, as PyTorch does. They are given
as the float32 numbers gpu-mlp holds (alpha = 0.99 is 0.9900000095367432, and 1 - alpha is
then 0.0099999905 in both; PyTorch given the decimal 0.99 would use 0.01, a relative 1e-6
apart), so both sides start from the same constants.

Two comparisons per case, each for every parameter and its state after every step:
  - stepwise: one PyTorch step from gpu-mlp's own parameters and state before that step;
  - free-running: PyTorch from the same start through all the steps on its own.
Bounds (u = 2**-24, f32's unit roundoff). One step computes d = -lr*g/(sqrt(s) + eps) with about
five roundings and then param + d with one more; two correct implementations that order these
differently differ by at most about 8u(|d| + |param|) in the parameter and 8u|s| in the state
(every term of s is non-negative, so no cancellation). One rounding more may differ: that of
weight_decay*param in g = grad + weight_decay*param, which PyTorch's vectorised add fuses
(fmadd) and gpu-mlp rounds (as it does for every optimizer). Where grad and weight_decay*param
nearly cancel, that rounding, dg <= u|weight_decay*param|, is large relative to g; it reaches
the state as 2|g|dg (times 1 - alpha for RMSprop) and the parameter as
lr*dg/(sqrt(s) + eps)*(1 + g^2/(sqrt(s)(sqrt(s) + eps))), and the bounds add those terms. The
free-running comparison lets such differences add up: after t steps, the sum of the t stepwise
bounds.
A different definition (eps inside the root, an accumulator starting elsewhere, a missing
weight decay) misses by far more.

Where torch can be imported, the same two comparisons are run against torch.optim.Adagrad and
torch.optim.RMSprop themselves.

usage: torch_optimizers.py UPDATES.json
Prints {"cases": C, "comparisons": N, "numpy": {...}, "torch": {...} or "not installed"};
exits 1 (with the first disagreements on stderr) if any comparison is outside its bound.
"""
import json
import sys

import numpy as np

f32 = np.float32
U = 2.0 ** -24


def numpy_step(kind, c, param, state, grad):
    """One PyTorch update in float32: returns (param, state)."""
    g = grad.astype(f32)
    if c["weight_decay"] != 0:
        g = g + f32(c["weight_decay"]) * param
    if kind == "adagrad":
        clr = c["lr"]  # lr / (1 + (t - 1) * lr_decay) with lr_decay = 0
        state = state + f32(1) * g * g
        std = np.sqrt(state) + f32(c["eps"])
        param = param + (f32(-clr) * g) / std
    else:
        state = state * f32(c["alpha"]) + f32(1 - c["alpha"]) * g * g
        avg = np.sqrt(state) + f32(c["eps"])
        param = param + (f32(-c["lr"]) * g) / avg
    return param.astype(f32), state.astype(f32)


def torch_stepper(kind, c):
    """One step of torch.optim itself, from a given parameter and state, or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)

    def step(param, state, grad):
        p = torch.nn.Parameter(torch.tensor(param, dtype=torch.float32))
        if kind == "adagrad":
            opt = torch.optim.Adagrad([p], lr=c["lr"], eps=c["eps"], weight_decay=c["weight_decay"])
            opt.state[p]["sum"].copy_(torch.tensor(state))
        else:
            opt = torch.optim.RMSprop([p], lr=c["lr"], alpha=c["alpha"], eps=c["eps"],
                                      weight_decay=c["weight_decay"])
        p.grad = torch.tensor(grad, dtype=torch.float32)
        if kind == "rmsprop":
            # RMSprop creates its state on its first step unless it is there already.
            opt.state[p]["step"] = torch.tensor(0.0)
            opt.state[p]["square_avg"] = torch.tensor(state, dtype=torch.float32)
        opt.step()
        name = "sum" if kind == "adagrad" else "square_avg"
        return p.detach().numpy().astype(f32), opt.state[p][name].numpy().astype(f32)

    return step


class Tally:
    def __init__(self):
        self.count = 0
        self.identical = 0
        self.max_ulps = 0.0
        self.max_ratio = 0.0
        self.failures = []

    def add(self, what, ours, theirs, bound):
        ours = ours.astype(np.float64)
        theirs = theirs.astype(np.float64)
        diff = np.abs(ours - theirs)
        self.count += diff.size
        self.identical += int((diff == 0).sum())
        ulp = np.spacing(np.maximum(np.abs(ours), np.abs(theirs)).astype(f32)).astype(np.float64)
        self.max_ulps = max(self.max_ulps, float((diff / ulp).max()))
        ratio = diff / np.maximum(bound, np.finfo(f32).tiny)
        self.max_ratio = max(self.max_ratio, float(ratio.max()))
        for i in np.nonzero(diff > bound)[0][:3]:
            self.failures.append(
                f"{what}[{i}]: gpu-mlp {ours[i]!r}, PyTorch {theirs[i]!r}, bound {bound[i]:.3g}")

    def report(self):
        return {"comparisons": self.count, "bit_identical": self.identical,
                "max_ulps": self.max_ulps, "max_fraction_of_bound": self.max_ratio}


def check(kind, c, stepper, tally):
    p0 = np.array(c["params0"], dtype=f32)
    grads = [np.array(g, dtype=f32) for g in c["grads"]]
    ours_p = [np.array(p, dtype=f32) for p in c["params"]]
    ours_s = [np.array(s, dtype=f32) for s in c["state"]]
    free_p, free_s = p0, np.zeros_like(p0)
    sum_p, sum_s = 0.0, 0.0
    for t, g in enumerate(grads):
        before_p = ours_p[t - 1] if t else p0
        before_s = ours_s[t - 1] if t else np.zeros_like(p0)
        sp, ss = stepper(before_p, before_s, g)
        d = np.abs(ours_p[t].astype(np.float64) - before_p)
        s_new = np.abs(ours_s[t].astype(np.float64))
        wd = c["weight_decay"]
        full_g = np.abs(g.astype(np.float64) + wd * before_p.astype(np.float64))
        dg = U * np.abs(wd * before_p.astype(np.float64))
        root = np.sqrt(s_new)
        denominator = root + c["eps"]
        scale = 1.0 if kind == "adagrad" else 1.0 - c["alpha"]
        bound_s = 8 * U * s_new + 2 * full_g * dg * scale
        amplify = 1.0 + full_g ** 2 / np.maximum(root * denominator, np.finfo(np.float64).tiny)
        bound_p = 8 * U * (d + np.abs(ours_p[t])) + c["lr"] * dg / denominator * amplify
        tally.add(f"{kind} step {t + 1} parameter", ours_p[t], sp, bound_p)
        tally.add(f"{kind} step {t + 1} state", ours_s[t], ss, bound_s)
        free_p, free_s = stepper(free_p, free_s, g)
        sum_p, sum_s = sum_p + bound_p, sum_s + bound_s
        tally.add(f"{kind} free run, step {t + 1}, parameter", ours_p[t], free_p, sum_p)
        tally.add(f"{kind} free run, step {t + 1}, state", ours_s[t], free_s, sum_s)


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    numpy_tally, torch_tally = Tally(), Tally()
    have_torch = True
    for c in cases:
        kind = c["kind"]
        # The JSON holds gpu-mlp's float32 constants in their shortest decimal form; read them
        # back as those exact float32 values (so 1 - alpha, taken in double, is gpu-mlp's).
        for key in ("lr", "alpha", "eps", "weight_decay"):
            c[key] = float(f32(c[key]))
        check(kind, c, lambda p, s, g: numpy_step(kind, c, p, s, g), numpy_tally)
        stepper = torch_stepper(kind, c)
        if stepper is None:
            have_torch = False
        else:
            check(kind, c, stepper, torch_tally)
    out = {"cases": len(cases), "comparisons": numpy_tally.count, "numpy": numpy_tally.report()}
    out["torch"] = torch_tally.report() if have_torch else "not installed"
    print(json.dumps(out))
    failures = numpy_tally.failures + (torch_tally.failures if have_torch else [])
    if failures:
        print("gpu-mlp and PyTorch disagree:", file=sys.stderr)
        for line in failures[:10]:
            print("  " + line, file=sys.stderr)
        sys.exit(1)


main()
