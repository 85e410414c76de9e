//! Deserializers that accept what different Cruise Control versions write for one field:
//! numbers as integers, floats (Gson writes `1.0`) or strings (`"StartMs":"1700000000000"`),
//! and `null` wherever a value may be missing.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An integer from a JSON number (truncating a float) or a numeric string; 0 when absent or null.
pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(optional_int(deserializer)?.unwrap_or_default())
}

/// Like [`int`], but `None` when absent, null or not a number.
pub fn optional_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)),
        Value::String(text) => {
            text.trim().parse::<i64>().ok().or_else(|| text.trim().parse::<f64>().ok().map(|f| f as i64))
        }
        _ => None,
    })
}

/// A float from a JSON number or a numeric string; 0.0 when absent, null or not a number.
pub fn float<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_f64().unwrap_or_default(),
        Value::String(text) => text.trim().parse().unwrap_or_default(),
        _ => 0.0,
    })
}

/// Any value that may also be `null`: the type's default then.
pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string that may also be a number, or null.
pub fn optional_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    })
}

/// A list of broker ids written as numbers or strings; entries that are neither are skipped.
pub fn ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i32>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Number(number) => number.as_i64().and_then(|id| i32::try_from(id).ok()),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(default, deserialize_with = "super::int")]
        count: i64,
        #[serde(default, deserialize_with = "super::float")]
        pct: f64,
        #[serde(default, deserialize_with = "super::optional_int")]
        start: Option<i64>,
        #[serde(default, deserialize_with = "super::ids")]
        brokers: Vec<i32>,
    }

    fn sample(json: &str) -> Sample {
        serde_json::from_str(json).expect("lenient parse")
    }

    #[test]
    fn numbers_in_any_spelling() {
        let parsed = sample(r#"{"count": 3.0, "pct": "99.5", "start": "1700000000000", "brokers": [1, "2", null]}"#);
        assert_eq!((parsed.count, parsed.pct, parsed.start), (3, 99.5, Some(1_700_000_000_000)));
        assert_eq!(parsed.brokers, vec![1, 2]);
    }

    #[test]
    fn missing_and_null_are_defaults() {
        let parsed = sample(r#"{"count": null, "start": null}"#);
        assert_eq!((parsed.count, parsed.pct, parsed.start), (0, 0.0, None));
        assert!(parsed.brokers.is_empty());
    }
}
