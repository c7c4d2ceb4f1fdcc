//! The memory store's hash table: open addressing with linear probing over
//! 32-byte slots that hold the key and its record together.
//!
//! Why not `std::collections::HashMap`: its control bytes and its entries
//! live in two arrays, so a reservation of a fresh id in a table far larger
//! than the cache misses twice (the control group, then the entry). Profiled
//! at 1 M live ids (`benches/memory_store.rs`), those two misses were 80 % of
//! `reserve`'s samples and the pair cost 584–643 ns (median of interleaved
//! rounds); here a probe touches one line in the common case.
//!
//! The keys are already uniformly random 128-bit keyed hashes, so the first
//! half indexes the table directly. The table doubles when it would become
//! more than half full, so probe runs stay short; removal shifts the
//! following run back (no tombstones).

use super::memory::{Key, Record};

/// A key and its record; empty when `k1` is zero (keys never are: see
/// [`Key::new`]).
#[derive(Clone, Copy, Default)]
struct Slot {
    k0: u64,
    k1: u64,
    expires_at: i64,
    token: u64,
}

impl Slot {
    fn is_empty(&self) -> bool {
        self.k1 == 0
    }

    fn key(&self) -> Key {
        Key(self.k0, self.k1)
    }
}

/// Where a key is, or where it would go.
pub(super) enum Probe {
    /// The key is at this slot.
    Found(usize),
    /// The key is absent; this empty slot ends its probe run.
    Vacant(usize),
}

pub(super) struct Table {
    slots: Vec<Slot>,
    len: usize,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            slots: vec![Slot::default(); 16],
            len: 0,
        }
    }
}

impl Table {
    /// Entries held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn home(&self, k0: u64) -> usize {
        k0 as usize & self.mask()
    }

    /// Finds `key`. Terminates: the table always has an empty slot.
    pub(super) fn probe(&self, key: Key) -> Probe {
        let mask = self.mask();
        let mut i = self.home(key.0);
        loop {
            let s = &self.slots[i];
            if s.is_empty() {
                return Probe::Vacant(i);
            }
            if s.k0 == key.0 && s.k1 == key.1 {
                return Probe::Found(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// The record at a slot [`probe`](Self::probe) found.
    pub(super) fn record(&self, i: usize) -> Record {
        let s = &self.slots[i];
        Record {
            expires_at: s.expires_at,
            token: s.token,
        }
    }

    /// Replaces the record at a slot `probe` found.
    pub(super) fn set(&mut self, i: usize, record: Record) {
        let s = &mut self.slots[i];
        s.expires_at = record.expires_at;
        s.token = record.token;
    }

    /// Inserts `key`, which must be absent, at the slot `probe` gave.
    pub(super) fn insert(&mut self, vacant: usize, key: Key, record: Record) {
        self.slots[vacant] = Slot {
            k0: key.0,
            k1: key.1,
            expires_at: record.expires_at,
            token: record.token,
        };
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// The record of `key`, if present.
    #[cfg(test)]
    fn get(&self, key: Key) -> Option<Record> {
        match self.probe(key) {
            Probe::Found(i) => Some(self.record(i)),
            Probe::Vacant(_) => None,
        }
    }

    /// Removes the entry at a slot `probe` found, shifting back the entries
    /// after it that would otherwise be cut off from their home slot.
    pub(super) fn remove_at(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.is_empty() {
                break;
            }
            let home = self.home(s.k0);
            // `s` may stay where it is if its home lies cyclically in
            // (hole, j]; otherwise the hole would cut it off: move it.
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = Slot::default();
        self.len -= 1;
    }

    /// Removes `key`; returns whether it was there.
    #[cfg(test)]
    fn remove(&mut self, key: Key) -> bool {
        match self.probe(key) {
            Probe::Found(i) => {
                self.remove_at(i);
                true
            }
            Probe::Vacant(_) => false,
        }
    }

    fn grow(&mut self) {
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        for s in old.into_iter().filter(|s| !s.is_empty()) {
            if let Probe::Vacant(i) = self.probe(s.key()) {
                self.slots[i] = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn rec(n: u64) -> Record {
        Record {
            expires_at: n as i64,
            token: n,
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u64),
        Remove(u8),
        Get(u8),
    }

    /// Keys from a small pool whose first halves collide a lot (the low bits
    /// index the table), so probe runs, wrap-around and back-shifts happen.
    fn key(i: u8) -> Key {
        Key::new(u64::from(i % 7) << 4 | u64::from(i) << 60, u64::from(i) + 1)
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec(
            prop_oneof![
                (any::<u8>(), any::<u64>()).prop_map(|(k, v)| Op::Insert(k, v)),
                any::<u8>().prop_map(Op::Remove),
                any::<u8>().prop_map(Op::Get),
            ],
            0..400,
        )) {
            let mut t = Table::default();
            let mut model: HashMap<u8, u64> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => match t.probe(key(k)) {
                        Probe::Found(i) => {
                            prop_assert!(model.contains_key(&k));
                            t.set(i, rec(v));
                            model.insert(k, v);
                        }
                        Probe::Vacant(i) => {
                            prop_assert!(!model.contains_key(&k));
                            t.insert(i, key(k), rec(v));
                            model.insert(k, v);
                        }
                    },
                    Op::Remove(k) => {
                        prop_assert_eq!(t.remove(key(k)), model.remove(&k).is_some());
                    }
                    Op::Get(k) => {
                        prop_assert_eq!(t.get(key(k)).map(|r| r.token), model.get(&k).copied());
                    }
                }
                prop_assert_eq!(t.len(), model.len());
                prop_assert!(t.len() * 2 <= t.slots.len());
            }
            for (k, v) in &model {
                prop_assert_eq!(t.get(key(*k)).map(|r| r.token), Some(*v));
            }
        }
    }

    #[test]
    fn a_run_that_wraps_around_the_end_survives_removals() {
        let mut t = Table::default();
        let n = t.slots.len() as u64;
        // Three keys whose home is the last slot: the run wraps to 0 and 1.
        let keys: Vec<Key> = (1..=3).map(|i| Key::new(n - 1, i)).collect();
        for (i, k) in keys.iter().enumerate() {
            let Probe::Vacant(v) = t.probe(*k) else {
                panic!("fresh key found")
            };
            t.insert(v, *k, rec(i as u64));
        }
        assert!(t.remove(keys[0]));
        assert_eq!(t.get(keys[1]).map(|r| r.token), Some(1));
        assert_eq!(t.get(keys[2]).map(|r| r.token), Some(2));
        assert!(t.remove(keys[1]));
        assert_eq!(t.get(keys[2]).map(|r| r.token), Some(2));
        assert!(!t.remove(keys[1]));
        assert_eq!(t.len(), 1);
    }
}
