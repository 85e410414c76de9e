//! Which described config entries are a topic's own overrides.

use std::collections::BTreeMap;

use rdkafka::admin::{ConfigEntry, ConfigSource};

/// The topic-level overrides among a topic's described configs: entries whose source is the
/// topic itself (`DYNAMIC_TOPIC_CONFIG`), which is what `kafka-configs --describe` lists.
/// Broker-level and default values are not the topic's own. Sensitive entries are skipped:
/// Kafka never returns their value, so there is nothing to compare against.
pub(crate) fn topic_overrides(entries: Vec<ConfigEntry>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .filter(|entry| is_topic_override(&entry.source, entry.is_sensitive))
        .filter_map(|entry| Some((entry.name, entry.value?)))
        .collect()
}

/// Also used while reading the DescribeConfigs answer, so that only overrides are copied out
/// of it: most of a topic's ~40 entries are broker defaults nobody here looks at.
pub(crate) fn is_topic_override(source: &ConfigSource, is_sensitive: bool) -> bool {
    *source == ConfigSource::DynamicTopic && !is_sensitive
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: Option<&str>, source: ConfigSource, is_sensitive: bool) -> ConfigEntry {
        ConfigEntry {
            name: name.into(),
            value: value.map(Into::into),
            source,
            is_read_only: false,
            is_default: false,
            is_sensitive,
        }
    }

    #[test]
    fn keeps_only_the_topics_own_non_sensitive_values() {
        let entries = vec![
            entry("retention.ms", Some("3600000"), ConfigSource::DynamicTopic, false),
            entry("cleanup.policy", Some("compact"), ConfigSource::DynamicTopic, false),
            entry("min.insync.replicas", Some("2"), ConfigSource::StaticBroker, false),
            entry("segment.bytes", Some("1073741824"), ConfigSource::Default, false),
            entry("max.message.bytes", Some("2000000"), ConfigSource::DynamicBroker, false),
            entry("sasl.secret", None, ConfigSource::DynamicTopic, true),
            entry("weird.null", None, ConfigSource::DynamicTopic, false),
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
