//! Which described config entries are a topic's own overrides: the one definition both
//! clients read DescribeConfigs answers with.

use std::collections::BTreeMap;

use crate::wire::broker_configs::{ConfigEntry, DYNAMIC_TOPIC_CONFIG};

/// The topic-level overrides among a topic's described configs: entries whose source is the
/// topic itself (`DYNAMIC_TOPIC_CONFIG`), which is what `kafka-configs --describe` lists.
/// Broker-level and default values are not the topic's own. Sensitive entries are skipped:
/// Kafka never returns their value, so there is nothing to compare against.
pub(crate) fn topic_overrides(entries: Vec<ConfigEntry>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .filter(|entry| is_topic_override(entry.source, entry.sensitive))
        .filter_map(|entry| Some((entry.name, entry.value?)))
        .collect()
}

/// `source` is Kafka's `DescribeConfigsResponse.ConfigSource` number, which librdkafka's
/// `rd_kafka_ConfigSource_t` shares. Also used while reading librdkafka's DescribeConfigs
/// answer, so that only overrides are copied out of it: most of a topic's ~40 entries are
/// broker defaults nobody here looks at.
pub(crate) fn is_topic_override(source: i8, is_sensitive: bool) -> bool {
    source == DYNAMIC_TOPIC_CONFIG && !is_sensitive
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: Option<&str>, source: i8, sensitive: bool) -> ConfigEntry {
        ConfigEntry { name: name.into(), value: value.map(Into::into), read_only: false, source, sensitive }
    }

    #[test]
    fn keeps_only_the_topics_own_non_sensitive_values() {
        // Sources: 2 DYNAMIC_BROKER_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
        let entries = vec![
            entry("retention.ms", Some("3600000"), DYNAMIC_TOPIC_CONFIG, false),
            entry("cleanup.policy", Some("compact"), DYNAMIC_TOPIC_CONFIG, false),
            entry("min.insync.replicas", Some("2"), 4, false),
            entry("segment.bytes", Some("1073741824"), 5, false),
            entry("max.message.bytes", Some("2000000"), 2, false),
            entry("sasl.secret", None, DYNAMIC_TOPIC_CONFIG, true),
            entry("weird.null", None, DYNAMIC_TOPIC_CONFIG, false),
        ];
        let overrides = topic_overrides(entries);
        assert_eq!(
            overrides,
            BTreeMap::from([
                ("cleanup.policy".to_owned(), "compact".to_owned()),
                ("retention.ms".to_owned(), "3600000".to_owned()),
            ])
        );
    }
}
