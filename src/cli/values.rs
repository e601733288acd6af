//! Flag values that are more than one number: a number as typed (so messages and member names
//! quote the user's own text), lists of networks (`--layers 784,30,10:784,100,10`), seed lists
//! with ranges (`--seeds 1-24,30`) and shards (`--shard 0/4`).

use std::fmt;
use std::str::FromStr;

/// A number as the user typed it, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Typed<T> {
    pub text: String,
    pub value: T,
}

impl<T: FromStr> FromStr for Typed<T>
where
    T::Err: fmt::Display,
{
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let text = s.trim();
        if text.is_empty() {
            return Err("an empty value (a list item between two commas?)".into());
        }
        text.parse::<T>()
            .map(|value| Typed {
                text: text.to_string(),
                value,
            })
            .map_err(|e| format!("{text:?} is not a number: {e}"))
    }
}

impl<T> fmt::Display for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One or more networks' layer widths: widths joined by commas, networks by colons.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerList(pub Vec<Vec<usize>>);

impl FromStr for LayerList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let nets = s
            .split(':')
            .map(|net| {
                let net = net.trim();
                if net.is_empty() {
                    return Err("an empty network (two colons, or one at an end?)".to_string());
                }
                net.split(',')
                    .map(|w| {
                        w.trim().parse::<usize>().map_err(|e| {
                            format!("width {w:?} in {net:?} is not a whole number: {e}")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LayerList(nets))
    }
}

/// The most seeds one range may name, so that a typo such as `1-1000000000` is refused before
/// anything is allocated.
const MAX_RANGE: u64 = 1 << 20;

/// Seeds: numbers and inclusive ranges `A-B`, joined by commas, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedList(pub Vec<u64>);

impl FromStr for SeedList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut seeds = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err("an empty item (two commas, or one at an end?)".into());
            }
            let number = |t: &str| {
                t.trim().parse::<u64>().map_err(|e| {
                    format!("{t:?} in {item:?} is not a seed (a whole number >= 0): {e}")
                })
            };
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (number(a)?, number(b)?);
                    if b < a {
                        return Err(format!("the range {item:?} runs backwards; write {b}-{a}"));
                    }
                    if b - a >= MAX_RANGE {
                        return Err(format!(
                            "the range {item:?} names {} seeds, more than {MAX_RANGE}",
                            b - a + 1
                        ));
                    }
                    seeds.extend(a..=b);
                }
                None => seeds.push(number(item)?),
            }
        }
        Ok(SeedList(seeds))
    }
}

/// `I/N`: this process trains members I, I+N, I+2N, … (I from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not I/N (e.g. 0/4: the first of four shards)"))?;
        let parse = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|e| format!("{t:?} in {s:?} is not a whole number: {e}"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if count == 0 || index >= count {
            return Err(format!(
                "{s:?}: the shard index runs from 0 to N-1 and N is at least 1 (for N = {count}: 0/{count} .. {}/{count})",
                count.saturating_sub(1)
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_take_ranges_and_commas_in_order() {
        assert_eq!(
            "1-3,7,5-5".parse::<SeedList>().unwrap().0,
            vec![1, 2, 3, 7, 5]
        );
        assert!("3-1".parse::<SeedList>().unwrap_err().contains("backwards"));
        assert!("1,,2".parse::<SeedList>().unwrap_err().contains("empty"));
        assert!("x".parse::<SeedList>().is_err());
        assert!("0-99999999999"
            .parse::<SeedList>()
            .unwrap_err()
            .contains("more than"));
    }

    #[test]
    fn networks_are_separated_by_colons() {
        let l: LayerList = "784,30,10:784,100,10".parse().unwrap();
        assert_eq!(l.0, vec![vec![784, 30, 10], vec![784, 100, 10]]);
        assert!("784,30,10:".parse::<LayerList>().is_err());
        assert!("784,x".parse::<LayerList>().is_err());
    }

    #[test]
    fn shards_are_index_over_count() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        assert!("3/2".parse::<Shard>().is_err());
        assert!("4/4".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
    }

    #[test]
    fn typed_numbers_keep_their_text() {
        let t: Typed<f32> = "0.99999999".parse().unwrap();
        assert_eq!(t.text, "0.99999999");
        assert_eq!(t.value, 1.0);
    }
}
