//! Numbered messages and the accounting of what came back: missing, duplicated, unexpected.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

const PREFIX: &str = "message-";

/// The payload of message `number`.
pub fn message(number: u32) -> String {
    format!("{PREFIX}{number:07}")
}

/// Payloads of `numbers`, one per line (kcat's producer input).
pub fn lines(numbers: Range<u32>) -> String {
    numbers.map(|n| message(n) + "\n").collect()
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    pub expected: usize,
    pub received: usize,
    pub missing: Vec<u32>,
    /// Numbers seen more than once, with how many times.
    pub duplicates: Vec<(u32, usize)>,
    /// Payloads that are not a message of the expected range.
    pub unexpected: Vec<String>,
}

impl Accounting {
    /// Compares what was received against exactly the messages `expected`.
    pub fn of(expected: Range<u32>, received: &[String]) -> Self {
        let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
        let mut unexpected = Vec::new();
        for payload in received {
            match payload.strip_prefix(PREFIX).and_then(|n| n.parse::<u32>().ok()) {
                Some(number) if expected.contains(&number) => *counts.entry(number).or_default() += 1,
                _ => unexpected.push(payload.clone()),
            }
        }
        Accounting {
            expected: expected.len(),
            received: received.len(),
            missing: expected.clone().filter(|n| !counts.contains_key(n)).collect(),
            duplicates: counts.into_iter().filter(|(_, count)| *count > 1).collect(),
            unexpected,
        }
    }

    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.duplicates.is_empty() && self.unexpected.is_empty()
    }
}

impl fmt::Display for Accounting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        write!(
            f,
            "expected {}, received {}: {} missing {:?}{}, {} duplicated {:?}{}, {} unexpected {:?}{}",
            self.expected,
            self.received,
            self.missing.len(),
            &self.missing[..self.missing.len().min(SHOWN)],
            if self.missing.len() > SHOWN { " ..." } else { "" },
            self.duplicates.len(),
            &self.duplicates[..self.duplicates.len().min(SHOWN)],
            if self.duplicates.len() > SHOWN { " ..." } else { "" },
            self.unexpected.len(),
            &self.unexpected[..self.unexpected.len().min(SHOWN)],
            if self.unexpected.len() > SHOWN { " ..." } else { "" },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_when_everything_came_back_once() {
        let received: Vec<String> = (0..5).rev().map(message).collect();
        assert!(Accounting::of(0..5, &received).is_exact());
    }

    #[test]
    fn reports_missing_duplicate_and_unexpected() {
        let received = vec![message(0), message(0), message(2), message(9), "garbage".to_string()];
        let accounting = Accounting::of(0..3, &received);
        assert_eq!(accounting.missing, vec![1]);
        assert_eq!(accounting.duplicates, vec![(0, 2)]);
        assert_eq!(accounting.unexpected, vec![message(9), "garbage".to_string()]);
        assert!(!accounting.is_exact());
    }
}
