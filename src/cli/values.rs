//! Flag values that are more than one number: a number as typed (so messages and member names
//! quote the user's own text), lists of networks (`--layers 784,30,10:784,100,10`), seed lists
//! with ranges (`--seeds 1-24,30`) and shards (`--shard 0/4`); and the parser of whole-number
//! flags, whose refusals say what was expected and quote what was found.
//!
//! A negative number after a flag (`--eta -1`, `--eta -1e-3,0.5`, `--epochs -3`) is joined to
//! it before clap parses the line ([`join_negative_values`]), so that it reaches these parsers
//! and the range checks (`config::ranges`) rather than being taken for an unknown flag `-1`.

use std::fmt;
use std::str::FromStr;

/// The command line with each value that looks like a negative number or a list starting with
/// one ("-1", "-1e-3", "-.5", "-1,0.5", "-inf") joined to the long flag before it
/// (`--eta=-1`), which is how clap takes a value starting with '-'. A flag that takes no
/// value then says so ("unexpected value '-1' for '--quiet'"); after `--` nothing is changed.
/// Clap's own `allow_negative_numbers` knows only "-1"-like numbers, not exponents with signs
/// or lists, and `allow_hyphen_values` would take the next flag (`--eta --epochs 3`) for a value.
pub fn join_negative_values<I, T>(args: I) -> Vec<std::ffi::OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let looks_negative = |s: &str| {
        let mut first = s.split([',', ':']).next().unwrap_or("").chars();
        first.next() == Some('-')
            && first.clone().next().is_some()
            && s.trim_start_matches('-')
                .split([',', ':', '/'])
                .all(|item| {
                    let item = item.trim().trim_start_matches('-');
                    item.parse::<f64>().is_ok() && !item.is_empty()
                })
    };
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    let mut done = false;
    for arg in args {
        let arg: std::ffi::OsString = arg.into();
        if !done {
            if arg == "--" {
                done = true;
            } else if let (Some(this), Some(last)) = (arg.to_str(), out.last_mut()) {
                if let Some(prev) = last.to_str() {
                    if prev.starts_with("--")
                        && prev.len() > 2
                        && !prev.contains('=')
                        && looks_negative(this)
                    {
                        let joined = format!("{prev}={this}");
                        *last = joined.into();
                        continue;
                    }
                }
            }
        }
        out.push(arg);
    }
    out
}

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
            .map_err(|e| match text.parse::<f64>() {
                // A number, but not one of T's: T is a whole-number type.
                Ok(_) => not_whole(text),
                Err(_) => format!("{text:?} is not a number: {e}"),
            })
    }
}

/// The parser of a whole-number flag (a count, a size, a seed): the value, or a message that
/// says what was expected and quotes the text ("must be a whole number >= 0, found -1").
pub fn whole<T: FromStr>(s: &str) -> Result<T, String> {
    let text = s.trim();
    text.parse::<T>().map_err(|_| match text.parse::<f64>() {
        Ok(_) => not_whole(text),
        Err(_) => format!("must be a whole number >= 0, found {text:?}"),
    })
}

/// Why `text`, a number, is not a value of a whole-number flag.
fn not_whole(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(v) if v < 0.0 || text.starts_with('-') || v.fract() != 0.0 => {
            format!("must be a whole number >= 0, found {text}")
        }
        Ok(_) if text.contains(['e', 'E', '.']) => {
            format!("must be a whole number written in digits only, found {text}")
        }
        _ => format!("must be a whole number >= 0 that fits this flag, found {text} (too large)"),
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
            if item.starts_with('-') {
                return Err(format!(
                    "a seed is a whole number >= 0 (and a range is A-B with A <= B), found {item}"
                ));
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
        if count == 0 {
            return Err(format!(
                "{s:?}: N, the number of shards, is at least 1 (0/1 is the whole sweep)"
            ));
        }
        if index >= count {
            return Err(format!(
                "{s:?}: the shard index runs from 0 to N-1 (for N = {count}: 0/{count} .. {}/{count})",
                count - 1
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

    /// Negative numbers and lists after a long flag are joined to it; anything else (a path
    /// starting with '-', a short flag, a flag after a flag, the arguments after `--`) is not.
    #[test]
    fn negative_values_are_joined_to_their_flag() {
        let joined = |line: &[&str]| -> Vec<String> {
            join_negative_values(line.iter().copied())
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            joined(&[
                "x",
                "train",
                "--eta",
                "-1",
                "--lambda",
                "-1e-3,0.5",
                "--seed",
                "-inf"
            ]),
            [
                "x",
                "train",
                "--eta=-1",
                "--lambda=-1e-3,0.5",
                "--seed=-inf"
            ]
        );
        assert_eq!(joined(&["x", "--decay", "-.5"]), ["x", "--decay=-.5"]);
        assert_eq!(
            joined(&["x", "--eta", "--epochs", "3", "-o", "-1", "--save", "-m.st"]),
            ["x", "--eta", "--epochs", "3", "-o", "-1", "--save", "-m.st"]
        );
        assert_eq!(joined(&["x", "--eta=1", "-2"]), ["x", "--eta=1", "-2"]);
        assert_eq!(
            joined(&["x", "--", "--eta", "-1"]),
            ["x", "--", "--eta", "-1"]
        );
    }

    /// A whole-number flag given a negative, fractional, exponent or oversized number says it
    /// wants a whole number and quotes the text; text that is no number is quoted too.
    #[test]
    fn whole_numbers_say_what_they_expected() {
        assert_eq!(whole::<usize>("12"), Ok(12));
        assert_eq!(
            whole::<usize>("-1").unwrap_err(),
            "must be a whole number >= 0, found -1"
        );
        assert_eq!(
            whole::<usize>("2.5").unwrap_err(),
            "must be a whole number >= 0, found 2.5"
        );
        assert!(whole::<usize>("1e3").unwrap_err().contains("digits only"));
        assert!(whole::<u32>("99999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(whole::<usize>("ten").unwrap_err().contains("\"ten\""));
        assert_eq!(
            "-1".parse::<Typed<usize>>().unwrap_err(),
            "must be a whole number >= 0, found -1"
        );
        assert!("-1".parse::<SeedList>().unwrap_err().contains("found -1"));
    }
}
