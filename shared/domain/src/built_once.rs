//! Values built on first use, one per key, and kept for the life of the process: the phone
//! metadata's databases and the patterns compiled from them. Each is built at most a few
//! hundred times in all (one per calling code, region or pattern a process meets), so nothing
//! is ever freed, and a reader gets a `&'static` it can hold without a lock.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, RwLock};

pub(crate) struct BuiltOnce<K, V: 'static> {
    built: LazyLock<RwLock<HashMap<K, &'static V>>>,
}

impl<K: Hash + Eq, V> BuiltOnce<K, V> {
    pub(crate) const fn new() -> Self {
        Self {
            built: LazyLock::new(|| RwLock::new(HashMap::new())),
        }
    }

    /// The value of `key`, built by `build` the first time. Built outside the lock (it may
    /// take milliseconds and ask other caches): two threads may both build it, and the one
    /// that comes second drops its copy.
    pub(crate) fn get_or_build(&self, key: K, build: impl FnOnce() -> V) -> &'static V {
        if let Some(value) = self.built.read().expect("never poisoned").get(&key) {
            return value;
        }
        let value = build();
        self.built
            .write()
            .expect("never poisoned")
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::BuiltOnce;

    #[test]
    fn a_key_is_built_once_and_the_same_value_comes_back() {
        static SQUARES: BuiltOnce<u32, u64> = BuiltOnce::new();
        let mut builds = 0;
        let first = SQUARES.get_or_build(7, || {
            builds += 1;
            49
        });
        let again = SQUARES.get_or_build(7, || {
            builds += 1;
            0
        });
        assert_eq!((*first, builds), (49, 1));
        assert!(std::ptr::eq(first, again));
        assert_eq!(*SQUARES.get_or_build(8, || 64), 64);
    }
}
