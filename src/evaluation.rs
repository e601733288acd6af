//! What a model got wrong: the confusion matrix and the misclassified samples, from a split's
//! labels and the predictions of [`crate::backend::Backend::evaluate`].

/// counts[truth][prediction]: how often a sample of class `truth` was predicted as
/// `prediction`. The diagonal holds the correct predictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// Tallies `labels` against `predictions` over `classes` classes (pairs with a class out of
    /// range are left out).
    pub fn new(classes: usize, labels: &[u8], predictions: &[u8]) -> Confusion {
        let mut counts = vec![vec![0; classes]; classes];
        for (&t, &p) in labels.iter().zip(predictions) {
            if let Some(row) = counts.get_mut(t as usize) {
                if let Some(cell) = row.get_mut(p as usize) {
                    *cell += 1;
                }
            }
        }
        Confusion { counts }
    }

    /// The fraction of class `c`'s samples predicted correctly (0 when there are none).
    pub fn class_accuracy(&self, c: usize) -> f64 {
        let total: usize = self.counts[c].iter().sum();
        if total == 0 {
            0.0
        } else {
            self.counts[c][c] as f64 / total as f64
        }
    }

    /// The matrix as a text table with the per-class accuracy in the last column.
    pub fn table(&self) -> String {
        let n = self.counts.len();
        let width = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(3);
        let mut s = format!(
            "confusion matrix (rows: true class, columns: predicted class)\n{:>6}",
            "true"
        );
        for p in 0..n {
            s += &format!(" {p:>width$}");
        }
        s += "  accuracy\n";
        for (t, row) in self.counts.iter().enumerate() {
            s += &format!("{t:>6}");
            for c in row {
                s += &format!(" {c:>width$}");
            }
            s += &format!("  {:>7.2}%\n", self.class_accuracy(t) * 100.0);
        }
        s
    }
}

/// The indices of the samples whose prediction differs from the label, in order.
pub fn error_indices(labels: &[u8], predictions: &[u8]) -> Vec<usize> {
    labels
        .iter()
        .zip(predictions)
        .enumerate()
        .filter(|(_, (t, p))| t != p)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_pairs_and_errors_are_off_diagonal() {
        let labels = [0, 1, 1, 2, 2, 2];
        let predictions = [0, 1, 2, 2, 0, 2];
        let c = Confusion::new(3, &labels, &predictions);
        assert_eq!(c.counts, vec![vec![1, 0, 0], vec![0, 1, 1], vec![1, 0, 2]]);
        assert_eq!(c.class_accuracy(1), 0.5);
        assert_eq!(error_indices(&labels, &predictions), vec![2, 4]);
        assert!(c.table().contains("66.67%"));
    }
}
