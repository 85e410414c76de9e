//! Deterministic names for the objects Koperator names with `generateName`.
//!
//! Koperator creates pods and claims with `generateName`, leaving the suffix to the apiserver.
//! Creating them twice before the watch cache shows the first (a real race after a crash or a
//! slow watch) would then make two pods for one broker. We keep Koperator's name shape
//! (`<cluster>-<id>-xxxxx`) but derive the suffix from what the object is for, so a repeated
//! create answers 409 Conflict instead of making a duplicate.

use sha2::{Digest, Sha256};

/// The apiserver's own alphabet for generated suffixes (no vowels, no look-alikes).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const SUFFIX_LENGTH: usize = 5;

/// `prefix` (a generateName, ending in `-`) plus a suffix derived from `seed`.
pub fn deterministic_name(prefix: &str, seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let suffix: String =
        digest.iter().take(SUFFIX_LENGTH).map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("{prefix}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_name_and_koperator_shape() {
        let a = deterministic_name("kafka-0-", "uid/0/abc");
        assert_eq!(a, deterministic_name("kafka-0-", "uid/0/abc"));
        assert!(a.starts_with("kafka-0-") && a.len() == "kafka-0-".len() + 5);
        assert_ne!(a, deterministic_name("kafka-0-", "uid/0/abd"));
    }
}
