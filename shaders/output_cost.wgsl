// The cost of one sample without the L2 term, and the prediction:
//   quadratic:                C = ½‖y − a‖²
//   cross-entropy + sigmoid:  C = Σ_j [softplus(z_j) − y_j·z_j]
//                               (= −Σ[y ln a + (1−y) ln(1−a)], computed stably from z;
//                                softplus(z) = max(z, 0) + ln(1 + e^{−|z|}))
//   cross-entropy + softmax:  C = −ln a_y = −(z_y − max z − ln Σ_k e^{z_k − max z})
// and the prediction arg-max_j a_j (the lowest index wins ties). A library fragment after
// output_activation.wgsl: the including kernel defines `z_at(i)` over elements base .. base+n.

struct RowOutcome {
    cost: f32,
    prediction: u32,
}

fn softplus(z: f32) -> f32 {
    return max(z, 0.0) + log(1.0 + exp(-abs(z)));
}

fn row_outcome(base: u32, n: u32, label: u32) -> RowOutcome {
    let stats = row_stats(base, n);
    var cost = 0.0;
    var best = 0u;
    var best_a = output_at(z_at(base), stats);
    for (var j = 0u; j < n; j = j + 1u) {
        let z = z_at(base + j);
        let a = output_at(z, stats);
        let y = one_hot(j, label);
        if (a > best_a) {
            best_a = a;
            best = j;
        }
        if (COST_CROSS_ENTROPY) {
            if (!OUTPUT_SOFTMAX) {
                cost = cost + softplus(z) - y * z;
            }
        } else {
            cost = cost + 0.5 * (y - a) * (y - a);
        }
    }
    if (COST_CROSS_ENTROPY && OUTPUT_SOFTMAX) {
        cost = -(z_at(base + label) - stats.max_z - log(stats.sum_exp));
    }
    return RowOutcome(cost, best);
}
