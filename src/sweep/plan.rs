//! What a sweep trains: the cross product of the values each swept flag lists, on top of one
//! configuration, as members in a fixed order, each named by its swept flags; and how members
//! group (those that can train in the same dispatches) and shard (spread over processes).

use crate::config::{Cost, NetworkConfig, OptimizerKind, Output, TrainConfig};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The default limit on a sweep's size (`--max-members`).
pub const DEFAULT_MAX_MEMBERS: usize = 1024;

/// The values of the flags a sweep can list; an empty list keeps the configuration's own.
/// Values carry the user's text, which names the members.
#[derive(Clone, Debug, Default)]
pub struct Dims {
    pub layers: Vec<Vec<usize>>,
    pub batch_size: Vec<(String, usize)>,
    pub eta: Vec<(String, f32)>,
    pub lambda: Vec<(String, f32)>,
    pub momentum: Vec<(String, f32)>,
    pub beta1: Vec<(String, f32)>,
    pub beta2: Vec<(String, f32)>,
    pub adam_epsilon: Vec<(String, f32)>,
    pub rho: Vec<(String, f32)>,
    pub adagrad_epsilon: Vec<(String, f32)>,
    pub rmsprop_epsilon: Vec<(String, f32)>,
    pub seed: Vec<u64>,
}

/// One network of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its place in the sweep's order (from 0).
    pub index: usize,
    /// The value of each swept flag (one listing several values), e.g. [("seed", "3")].
    pub values: Vec<(String, String)>,
    pub cfg: TrainConfig,
}

impl Member {
    /// "eta=0.5 seed=3": the swept flags and their values.
    pub fn label(&self) -> String {
        if self.values.is_empty() {
            return "the one member".into();
        }
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A file name stem for the member: "eta-0.5_seed-3" (letters, digits, '.', '-' and '_'
    /// only; "member" when nothing is swept).
    pub fn stem(&self) -> String {
        if self.values.is_empty() {
            return "member".into();
        }
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        self.values
            .iter()
            .map(|(k, v)| format!("{}-{}", clean(k), clean(v)))
            .collect::<Vec<_>>()
            .join("_")
    }

    /// What must be equal for members to train in the same dispatches.
    pub fn group_key(&self) -> GroupKey {
        let n = &self.cfg.network;
        GroupKey {
            layers: n.layers.clone(),
            batch_size: self.cfg.batch_size,
            output: n.output,
            cost: n.cost,
            optimizer: self.cfg.optimizer.kind,
        }
    }
}

/// Layer sizes, batch size, output, cost and optimizer kind: members sharing them form a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupKey {
    pub layers: Vec<usize>,
    pub batch_size: usize,
    pub output: Output,
    pub cost: Cost,
    pub optimizer: OptimizerKind,
}

impl GroupKey {
    pub fn network(&self, base: &NetworkConfig) -> NetworkConfig {
        NetworkConfig {
            layers: self.layers.clone(),
            ..base.clone()
        }
    }
}

/// A sweep: its members in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The flags that list several values, in the order they vary (the last fastest).
    pub swept: Vec<String>,
    pub members: Vec<Member>,
}

/// A listing flag of f32 values: its name, its values, and the field they set.
type FloatDim<'a> = (&'static str, &'a [(String, f32)], &'a mut f32);

fn several<T>(name: &'static str, list: &[T]) -> Option<&'static str> {
    (list.len() > 1).then_some(name)
}

impl Dims {
    /// The flags that list more than one value, in the order they vary (the last fastest).
    pub fn swept(&self) -> Vec<&'static str> {
        let d = self;
        [
            several("layers", &d.layers),
            several("batch-size", &d.batch_size),
            several("eta", &d.eta),
            several("lambda", &d.lambda),
            several("momentum", &d.momentum),
            several("beta1", &d.beta1),
            several("beta2", &d.beta2),
            several("adam-epsilon", &d.adam_epsilon),
            several("rho", &d.rho),
            several("adagrad-epsilon", &d.adagrad_epsilon),
            several("rmsprop-epsilon", &d.rmsprop_epsilon),
            several("seed", &d.seed),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

impl Plan {
    /// The cross product of `dims` on top of `base`, at most `max_members` members (counted
    /// before any is built). Networks vary slowest, seeds fastest.
    pub fn cross(base: &TrainConfig, dims: &Dims, max_members: usize) -> Result<Plan> {
        let d = dims;
        let lens = [
            d.layers.len(),
            d.batch_size.len(),
            d.eta.len(),
            d.lambda.len(),
            d.momentum.len(),
            d.beta1.len(),
            d.beta2.len(),
            d.adam_epsilon.len(),
            d.rho.len(),
            d.adagrad_epsilon.len(),
            d.rmsprop_epsilon.len(),
            d.seed.len(),
        ];
        let count = lens.iter().fold(1usize, |n, &l| n.saturating_mul(l.max(1)));
        if count > max_members {
            return Err(Error::config(format!(
                "the flags' lists make a sweep of {count} members, more than --max-members {max_members}; give shorter lists, or raise --max-members if you mean it"
            )));
        }
        let swept: Vec<String> = d.swept().into_iter().map(String::from).collect();
        let mut members = Vec::with_capacity(count);
        for index in 0..count {
            // The index in mixed radix, the last dimension fastest.
            let mut rest = index;
            let mut pick = [0usize; 12];
            for (p, &l) in pick.iter_mut().zip(&lens).rev() {
                let l = l.max(1);
                *p = rest % l;
                rest /= l;
            }
            let mut cfg = base.clone();
            let mut values = Vec::new();
            let mut note = |name: &str, text: String, len: usize| {
                if len > 1 {
                    values.push((name.to_string(), text));
                }
            };
            if let Some(l) = d.layers.get(pick[0]) {
                cfg.network.layers = l.clone();
                let text = l.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
                note("layers", text, d.layers.len());
            }
            if let Some((t, v)) = d.batch_size.get(pick[1]) {
                cfg.batch_size = *v;
                note("batch-size", t.clone(), d.batch_size.len());
            }
            let floats: [FloatDim; 9] = [
                ("eta", &d.eta[..], &mut cfg.eta),
                ("lambda", &d.lambda[..], &mut cfg.lambda),
                ("momentum", &d.momentum[..], &mut cfg.optimizer.momentum),
                ("beta1", &d.beta1[..], &mut cfg.optimizer.beta1),
                ("beta2", &d.beta2[..], &mut cfg.optimizer.beta2),
                (
                    "adam-epsilon",
                    &d.adam_epsilon[..],
                    &mut cfg.optimizer.epsilon,
                ),
                ("rho", &d.rho[..], &mut cfg.optimizer.rho),
                (
                    "adagrad-epsilon",
                    &d.adagrad_epsilon[..],
                    &mut cfg.optimizer.adagrad_epsilon,
                ),
                (
                    "rmsprop-epsilon",
                    &d.rmsprop_epsilon[..],
                    &mut cfg.optimizer.rmsprop_epsilon,
                ),
            ];
            for (i, (name, list, slot)) in floats.into_iter().enumerate() {
                if let Some((t, v)) = list.get(pick[2 + i]) {
                    *slot = *v;
                    note(name, t.clone(), list.len());
                }
            }
            if let Some(&s) = d.seed.get(pick[11]) {
                cfg.seed = s;
                note("seed", s.to_string(), d.seed.len());
            }
            members.push(Member { index, values, cfg });
        }
        let plan = Plan { swept, members };
        plan.check_names()?;
        Ok(plan)
    }

    /// Two members with one name would write one file: refused (a list naming a value twice).
    fn check_names(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for m in &self.members {
            if !seen.insert(m.stem()) {
                return Err(Error::config(format!(
                    "two members of the sweep would both be {:?}: a list names the same value twice",
                    m.label()
                )));
            }
        }
        Ok(())
    }

    /// True when the flags name more than one network.
    pub fn is_sweep(&self) -> bool {
        self.members.len() > 1
    }

    /// The members shard `index` of `count` trains: index, index + count, ….
    pub fn shard(&self, index: usize, count: usize) -> Vec<&Member> {
        self.members
            .iter()
            .filter(|m| m.index % count.max(1) == index)
            .collect()
    }

    /// A short fingerprint of the whole sweep (every member's configuration but the number of
    /// epochs, which a resume may raise), so that a resume directory or a shard's results from
    /// another sweep are told apart.
    pub fn fingerprint(&self) -> String {
        use md5::{Digest, Md5};
        let members: Vec<Member> = self
            .members
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m.cfg.epochs = 0;
                m
            })
            .collect();
        let json = serde_json::to_string(&members).unwrap_or_default();
        let digest = Md5::digest(json.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// `members` in groups of one key, each group in the members' order, groups in the order of
/// their first member.
pub fn groups<'a>(members: &[&'a Member]) -> Vec<Vec<&'a Member>> {
    let mut groups: Vec<(GroupKey, Vec<&Member>)> = Vec::new();
    for &m in members {
        let key = m.group_key();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(m),
            None => groups.push((key, vec![m])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;

    fn texts(v: &[f32]) -> Vec<(String, f32)> {
        v.iter().map(|x| (x.to_string(), *x)).collect()
    }

    #[test]
    fn the_cross_product_varies_the_last_flag_fastest_and_names_only_swept_flags() {
        let base = Preset::Nielsen.config();
        let dims = Dims {
            eta: texts(&[0.5, 3.0]),
            lambda: texts(&[1.0]),
            seed: vec![1, 2, 3],
            ..Dims::default()
        };
        let plan = Plan::cross(&base, &dims, 100).unwrap();
        assert_eq!(plan.swept, ["eta", "seed"]);
        assert_eq!(plan.members.len(), 6);
        let m = &plan.members[4];
        assert_eq!((m.cfg.eta, m.cfg.seed, m.cfg.lambda), (3.0, 2, 1.0));
        assert_eq!(m.label(), "eta=3 seed=2");
        assert_eq!(m.stem(), "eta-3_seed-2");
        assert_eq!(
            plan.shard(1, 4).iter().map(|m| m.index).collect::<Vec<_>>(),
            [1, 5]
        );
        assert_eq!(groups(&plan.members.iter().collect::<Vec<_>>()).len(), 1);
    }

    /// RMSprop's ρ and AdaGrad's and RMSprop's ε list like --beta1: each member gets its value
    /// and is named by it, and the members (one optimizer kind) train as one group.
    #[test]
    fn rho_and_the_epsilons_are_swept_like_beta1() {
        let mut base = Preset::Network2.config();
        base.optimizer.kind = OptimizerKind::Rmsprop;
        let dims = Dims {
            rho: texts(&[0.9, 0.99]),
            rmsprop_epsilon: texts(&[1e-8, 1e-6]),
            adagrad_epsilon: texts(&[1e-10]),
            ..Dims::default()
        };
        let plan = Plan::cross(&base, &dims, 100).unwrap();
        assert_eq!(plan.swept, ["rho", "rmsprop-epsilon"]);
        assert_eq!(plan.members.len(), 4);
        let m = &plan.members[2];
        assert_eq!(
            (m.cfg.optimizer.rho, m.cfg.optimizer.rmsprop_epsilon),
            (0.99, 1e-8)
        );
        assert_eq!(m.label(), "rho=0.99 rmsprop-epsilon=0.00000001");
        assert_eq!(m.stem(), "rho-0.99_rmsprop-epsilon-0.00000001");
        assert_eq!(groups(&plan.members.iter().collect::<Vec<_>>()).len(), 1);
        let ada = Dims {
            adagrad_epsilon: texts(&[1e-10, 1e-8]),
            ..Dims::default()
        };
        let plan = Plan::cross(&base, &ada, 100).unwrap();
        assert_eq!(plan.members[1].cfg.optimizer.adagrad_epsilon, 1e-8);
    }

    #[test]
    fn limits_and_duplicates_are_refused() {
        let base = Preset::Nielsen.config();
        let big = Dims {
            seed: (0..200).collect(),
            eta: texts(&[0.1; 60]),
            ..Dims::default()
        };
        let e = Plan::cross(&base, &big, 10_000).unwrap_err().to_string();
        assert!(e.contains("--max-members"), "{e}");
        let twice = Dims {
            seed: vec![3, 3],
            ..Dims::default()
        };
        assert!(Plan::cross(&base, &twice, 10).is_err());
    }

    #[test]
    fn networks_and_batch_sizes_make_groups() {
        let base = Preset::Nielsen.config();
        let dims = Dims {
            layers: vec![vec![784, 30, 10], vec![784, 100, 10]],
            seed: vec![1, 2],
            ..Dims::default()
        };
        let plan = Plan::cross(&base, &dims, 10).unwrap();
        let gs = groups(&plan.members.iter().collect::<Vec<_>>());
        assert_eq!(gs.len(), 2);
        assert_eq!(gs[1][0].label(), "layers=784,100,10 seed=1");
        assert_ne!(
            plan.fingerprint(),
            Plan::cross(&base, &Dims::default(), 10)
                .unwrap()
                .fingerprint()
        );
    }
}
