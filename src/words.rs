//! Counts in messages: "1 epoch", "2 epochs".

/// `n` and the noun, plural unless `n` is 1 (`count(1, "epoch")` is "1 epoch").
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    /// One is singular; zero and many are plural.
    #[test]
    fn singular_only_for_one() {
        assert_eq!(super::count(1, "epoch"), "1 epoch");
        assert_eq!(super::count(0, "epoch"), "0 epochs");
        assert_eq!(super::count(30, "epoch"), "30 epochs");
    }
}
