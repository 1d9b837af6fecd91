//! The counter shards a store writes to (see the parent module's "Items"):
//! each store prefers one shard, concurrent transactions of one store take
//! different ones, and a transaction conflict moves the store elsewhere.

use std::sync::{Arc, Mutex, PoisonError};

use super::COUNTER_SHARDS;

/// The counter shards of one store (shared by its clones): the one it
/// prefers, and how many of its transactions have each in flight.
#[derive(Debug)]
pub(super) struct ShardPicker {
    state: Mutex<ShardState>,
}

#[derive(Debug)]
struct ShardState {
    preferred: u32,
    in_flight: [u32; COUNTER_SHARDS as usize],
}

impl ShardPicker {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(ShardState {
                preferred: rand::random_range(0..COUNTER_SHARDS),
                in_flight: [0; COUNTER_SHARDS as usize],
            }),
        }
    }

    /// A shard for a transaction: the preferred one, or the next one no
    /// transaction of this store has in flight; never `avoid` (a shard that
    /// just conflicted) unless every shard is taken.
    pub(super) fn take(self: &Arc<Self>, avoid: Option<u32>) -> ShardLease {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if avoid == Some(state.preferred) {
            // Another writer uses it: move elsewhere, at random.
            state.preferred =
                (state.preferred + 1 + rand::random_range(0..COUNTER_SHARDS - 1)) % COUNTER_SHARDS;
        }
        let preferred = state.preferred;
        let shard = (0..COUNTER_SHARDS)
            .map(|k| (preferred + k) % COUNTER_SHARDS)
            .find(|s| state.in_flight[*s as usize] == 0 && Some(*s) != avoid)
            .unwrap_or(preferred);
        state.in_flight[shard as usize] += 1;
        ShardLease {
            picker: self.clone(),
            shard,
        }
    }

    fn release(&self, shard: u32) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let n = &mut state.in_flight[shard as usize];
        *n = n.saturating_sub(1);
    }
}

/// The shard one `record` call writes its counters to, held while it runs.
#[derive(Debug)]
pub(super) struct ShardLease {
    picker: Arc<ShardPicker>,
    /// The shard.
    pub(super) shard: u32,
}

impl ShardLease {
    /// After a transaction conflict: another shard (see [`ShardPicker::take`]).
    pub(super) fn move_on(&mut self) {
        let next = self.picker.take(Some(self.shard));
        // The old lease is dropped (released) by the assignment.
        *self = next;
    }
}

impl Drop for ShardLease {
    fn drop(&mut self) {
        self.picker.release(self.shard);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn concurrent_transactions_of_one_store_take_different_shards() {
        let picker = Arc::new(ShardPicker::new());
        let preferred = picker.state.lock().unwrap().preferred;
        let a = picker.take(None);
        assert_eq!(a.shard, preferred, "the preferred shard when free");
        let b = picker.take(None);
        let c = picker.take(None);
        assert_eq!(b.shard, (preferred + 1) % COUNTER_SHARDS);
        assert_eq!(c.shard, (preferred + 2) % COUNTER_SHARDS);
        drop(a);
        // Sequential transactions (one Lambda invocation after another) stay on one shard.
        assert_eq!(picker.take(None).shard, preferred);
        assert_eq!(picker.take(None).shard, preferred);
        drop((b, c));
        let leases: Vec<ShardLease> = (0..COUNTER_SHARDS).map(|_| picker.take(None)).collect();
        let distinct: HashSet<u32> = leases.iter().map(|l| l.shard).collect();
        assert_eq!(distinct.len(), COUNTER_SHARDS as usize);
        // More transactions than shards: they share the preferred one.
        assert_eq!(picker.take(None).shard, preferred);
    }

    #[test]
    fn a_conflict_moves_the_store_to_another_shard() {
        let picker = Arc::new(ShardPicker::new());
        let mut lease = picker.take(None);
        let first = lease.shard;
        lease.move_on();
        assert_ne!(lease.shard, first);
        let state = picker.state.lock().unwrap();
        assert_eq!(state.preferred, lease.shard, "the next transactions follow");
        assert_eq!(
            state.in_flight.iter().sum::<u32>(),
            1,
            "the old shard is released"
        );
        drop(state);
        drop(lease);
        assert_eq!(
            picker.state.lock().unwrap().in_flight.iter().sum::<u32>(),
            0
        );
    }
}
