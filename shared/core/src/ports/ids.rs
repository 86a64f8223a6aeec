//! Ids as a port beside the clock, so tests can pin them: every id the use cases
//! make is a ULID stamped with the clock's time, so ids sort by creation.

use std::sync::Mutex;
use std::time::SystemTime;
use ulid::Ulid;

pub trait IdSource: Send + Sync {
    /// A new id stamped with `at`; within one millisecond, ids from one source
    /// still sort in the order they were made (a chat question before its answer).
    fn ulid(&self, at: SystemTime) -> Ulid;
}

/// Random ULIDs, monotonic within a millisecond across the process.
#[derive(Default)]
pub struct RandomIds {
    generator: Mutex<ulid::Generator>,
}

impl IdSource for RandomIds {
    fn ulid(&self, at: SystemTime) -> Ulid {
        let mut g = self.generator.lock().unwrap_or_else(|p| p.into_inner());
        g.generate_from_datetime(at)
            .unwrap_or_else(|_| Ulid::from_datetime(at))
    }
}

/// Ids with the time `at` and a counter for randomness: the same calls give the
/// same ids, so a test can name them in advance.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: Mutex<u128>,
}

impl IdSource for SequentialIds {
    fn ulid(&self, at: SystemTime) -> Ulid {
        let mut n = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        let ms = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Ulid::from_parts(ms, *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sequential_ids_are_predictable_and_sort_in_order() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let ids = SequentialIds::default();
        let (a, b) = (ids.ulid(at), ids.ulid(at));
        assert_eq!(a, Ulid::from_parts(1_700_000_000_000, 1));
        assert_eq!(b, Ulid::from_parts(1_700_000_000_000, 2));
        assert!(a < b);
        let again = SequentialIds::default();
        assert_eq!(again.ulid(at), a, "the same calls give the same ids");
    }

    #[test]
    fn random_ids_sort_within_one_millisecond() {
        let at = SystemTime::now();
        let ids = RandomIds::default();
        let made: Vec<Ulid> = (0..100).map(|_| ids.ulid(at)).collect();
        assert!(made.windows(2).all(|w| w[0] < w[1]));
    }
}
