//! Members of a sweep on the CPU: one [`CpuBackend`] each, on one thread each (its products
//! single-threaded), as many at a time as there are threads. The reference's results do not
//! depend on the thread count (tests/sweep.rs holds a member against its solo run), so each
//! member is bit-identical to its solo CPU run.

use super::CpuBackend;
use crate::backend::{check_member_batches, Backend, Evaluation, Members, Split};
use crate::config::StepHyper;
use crate::error::{Error, Result};
use crate::model::{OptimizerState, Params};

/// Several CPU members trained in parallel, one per thread.
pub struct CpuMembers {
    members: Vec<CpuBackend>,
    threads: usize,
    n_train: usize,
}

impl CpuMembers {
    /// `members` (each built with one thread for its products), run `threads` at a time.
    pub fn new(members: Vec<CpuBackend>, threads: usize, n_train: usize) -> Self {
        CpuMembers {
            members,
            threads: threads.max(1),
            n_train,
        }
    }

    /// Runs `work` on every member, `self.threads` members at a time, and collects the results
    /// in member order.
    fn each<T: Send>(
        &mut self,
        work: impl Fn(usize, &mut CpuBackend) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let threads = self.threads;
        let mut slots: Vec<(usize, &mut CpuBackend)> =
            self.members.iter_mut().enumerate().collect();
        let mut results: Vec<Option<Result<T>>> = (0..slots.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let work = &work;
            let mut lanes: Vec<Vec<(usize, &mut CpuBackend)>> =
                (0..threads).map(|_| Vec::new()).collect();
            for (i, slot) in slots.drain(..).enumerate() {
                lanes[i % threads].push(slot);
            }
            let handles: Vec<_> = lanes
                .into_iter()
                .map(|lane| {
                    scope.spawn(move || {
                        lane.into_iter()
                            .map(|(m, b)| (m, work(m, b)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                // A thread that panicked leaves its members' results empty: an error below.
                if let Ok(done) = h.join() {
                    for (m, r) in done {
                        results[m] = Some(r);
                    }
                }
            }
        });
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::internal("a member's thread panicked"))))
            .collect()
    }

    fn member(&mut self, m: usize) -> Result<&mut CpuBackend> {
        let count = self.members.len();
        self.members
            .get_mut(m)
            .ok_or_else(|| Error::internal(format!("member {m} of {count}")))
    }
}

impl Members for CpuMembers {
    fn describe(&self) -> String {
        format!("cpu ({} members at a time, one thread each)", self.threads)
    }

    fn count(&self) -> usize {
        self.members.len()
    }

    fn train_batches(
        &mut self,
        orders: &[&[u32]],
        hypers: &[StepHyper],
        active: &[bool],
    ) -> Result<()> {
        check_member_batches(self.members.len(), orders, hypers, active, self.n_train)?;
        self.each(|m, b| {
            if active[m] {
                b.train_batches(orders[m], &hypers[m])
            } else {
                Ok(())
            }
        })?;
        Ok(())
    }

    fn evaluate(&mut self, split: Split) -> Result<Vec<Evaluation>> {
        self.each(|_, b| b.evaluate(split))
    }

    fn params(&mut self, m: usize) -> Result<Params> {
        self.member(m)?.params()
    }

    fn optimizer_state(&mut self, m: usize) -> Result<OptimizerState> {
        self.member(m)?.optimizer_state()
    }

    fn load_state(&mut self, m: usize, params: &Params, state: &OptimizerState) -> Result<()> {
        self.member(m)?.load_state(params, state)
    }
}
