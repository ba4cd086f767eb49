//! A small, fixed-size memory of recently delivered message ids, for de-duplication
//! across a reconnect: 8 bytes per id, so per-chat state stays small.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// How many ids are remembered. Duplicates only arise at the seam of a resync (the tail
/// of history that the new socket also carries), so a short memory is enough.
const CAPACITY: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct RecentIds {
    ids: VecDeque<u64>,
}

fn key(id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

impl RecentIds {
    /// Records `id`; false when it was already recorded (a duplicate).
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        let k = key(id);
        if self.ids.contains(&k) {
            return false;
        }
        if self.ids.len() == CAPACITY {
            self.ids.pop_front();
        }
        self.ids.push_back(k);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets_the_oldest() {
        let mut r = RecentIds::default();
        assert!(r.insert("a"));
        assert!(!r.insert("a"));
        for i in 0..CAPACITY {
            assert!(r.insert(&format!("m{i}")));
        }
        assert!(r.insert("a"), "the oldest id is forgotten past capacity");
        assert!(!r.insert(&format!("m{}", CAPACITY - 1)));
    }
}
