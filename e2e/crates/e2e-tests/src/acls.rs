//! Kafka's ACLs as Kafka's own `kafka-acls --list` shows them, each entry in one line:
//! `TOPIC,LITERAL,orders,User:CN=alice,*,READ,ALLOW` (resource type, pattern type, resource
//! name, principal, host, operation, permission).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::host_command;

/// A JVM tool of Kafka's starting on two busy cores, plus the TLS handshakes.
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);

/// `kafka-acls --list`, through a super user's `properties` on a TLS cluster.
pub async fn kafka_acls_list(bootstrap: &str, properties: Option<&Path>) -> Result<BTreeSet<String>> {
    let properties = properties.map(|path| path.display().to_string());
    let mut args = vec!["kafka-acls", "--bootstrap-server", bootstrap, "--list"];
    if let Some(path) = &properties {
        args.extend(["--command-config", path.as_str()]);
    }
    let stdout = host_command::run_ok(&args, None, TOOL_TIMEOUT).await?;
    parse_kafka_acls(&stdout).with_context(|| format!("kafka-acls --list:\n{stdout}"))
}

/// `Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:`
/// followed by one `(principal=User:CN=alice, host=*, operation=READ, permissionType=ALLOW)` per entry.
pub fn parse_kafka_acls(output: &str) -> Result<BTreeSet<String>> {
    let mut resource: Option<[String; 3]> = None;
    let mut listed = BTreeSet::new();
    for line in output.lines().map(str::trim) {
        if let Some(pattern) = line.split_once("ResourcePattern(").map(|(_, rest)| rest) {
            let pattern = pattern.split_once(")`").map_or(pattern, |(inside, _)| inside);
            let [kind, name, pattern_type] = fields(pattern, ["resourceType", "name", "patternType"])?;
            resource = Some([kind, pattern_type, name]);
        } else if let Some(entry) = line.strip_prefix("(principal=") {
            let entry = format!("principal={}", entry.trim_end_matches(')'));
            let [principal, host, operation, permission] =
                fields(&entry, ["principal", "host", "operation", "permissionType"])?;
            let Some([kind, pattern_type, name]) = &resource else { bail!("an entry before any resource: {line}") };
            listed.insert(format!("{kind},{pattern_type},{name},{principal},{host},{operation},{permission}"));
        }
    }
    Ok(listed)
}

fn fields<const N: usize>(text: &str, keys: [&str; N]) -> Result<[String; N]> {
    let pairs: Vec<(&str, &str)> = text.split(", ").filter_map(|pair| pair.split_once('=')).collect();
    let mut values = keys.map(|_| String::new());
    for (value, key) in values.iter_mut().zip(keys) {
        let found = pairs.iter().find(|(k, _)| *k == key).with_context(|| format!("no {key} in {text:?}"))?;
        *value = found.1.to_owned();
    }
    Ok(values)
}

/// A KafkaUser's `status.acls` entry in Koperator's notation
/// (`User:CN=alice,Topic,LITERAL,orders,DescribeConfigs,Allow,*`) in `kafka-acls`' one.
pub fn from_status_notation(entry: &str) -> Result<String> {
    let parts: Vec<&str> = entry.split(',').collect();
    let [principal, kind, pattern_type, name, operation, permission, host] = parts[..] else {
        bail!("not a status.acls entry: {entry}")
    };
    Ok(format!(
        "{},{pattern_type},{name},{principal},{host},{},{}",
        screaming_snake(kind),
        screaming_snake(operation),
        screaming_snake(permission)
    ))
}

/// `DescribeConfigs` → `DESCRIBE_CONFIGS`.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (index, c) in camel.chars().enumerate() {
        if c.is_uppercase() && index > 0 {
            out.push('_');
        }
        out.extend(c.to_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_acls_output_is_read_entry_by_entry() -> Result<()> {
        let output = "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=logs-, patternType=PREFIXED)`: \n \
                      \t(principal=User:CN=alice, host=*, operation=WRITE, permissionType=ALLOW)\n \
                      \t(principal=User:CN=bob, host=10.0.0.1, operation=READ, permissionType=DENY) \n\n";
        let listed = parse_kafka_acls(output)?;
        let expected: BTreeSet<String> =
            ["TOPIC,PREFIXED,logs-,User:CN=alice,*,WRITE,ALLOW", "TOPIC,PREFIXED,logs-,User:CN=bob,10.0.0.1,READ,DENY"]
                .map(String::from)
                .into();
        anyhow::ensure!(listed == expected, "{listed:#?}");
        Ok(())
    }

    #[test]
    fn status_entries_read_as_kafka_acls_lists_them() -> Result<()> {
        let entry = from_status_notation("User:CN=alice,Topic,LITERAL,orders,DescribeConfigs,Allow,*")?;
        anyhow::ensure!(entry == "TOPIC,LITERAL,orders,User:CN=alice,*,DESCRIBE_CONFIGS,ALLOW", "{entry}");
        anyhow::ensure!(from_status_notation("a,b").is_err());
        Ok(())
    }
}
