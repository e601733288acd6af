// The logistic function and its derivative:
//   σ(z) = 1 / (1 + e^{−z}),   σ'(z) = σ(z)(1 − σ(z)) = a(1 − a).
// A library fragment: the forward and backward epilogues, the output error and the evaluation
// include it.

fn sigmoid(z: f32) -> f32 {
    return 1.0 / (1.0 + exp(-z));
}

fn sigmoid_prime_from_activation(a: f32) -> f32 {
    return a * (1.0 - a);
}
