//! Java properties text (`server.properties` lines from `readOnlyConfig`), read the way Kafka
//! reads them closely enough for merging by key: comments, `=`/`:`/whitespace separators and
//! backslash line continuations. Keys are kept sorted so rendering is deterministic.

use std::collections::BTreeMap;

/// Properties by key, sorted; rendering them gives stable text (and a stable hash).
pub type Properties = BTreeMap<String, String>;

/// Parses properties text; a key given twice keeps its last value, as in Java.
pub fn parse_properties(text: &str) -> Properties {
    let mut properties = Properties::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        let trailing_backslashes = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing_backslashes % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        if let Some((key, value)) = split_key_value(&logical) {
            properties.insert(key, value);
        }
        logical.clear();
    }
    if let Some((key, value)) = split_key_value(&logical) {
        properties.insert(key, value);
    }
    properties
}

fn split_key_value(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let mut escaped = false;
    let separator = line.char_indices().find(|&(_, c)| {
        let found = !escaped && (c == '=' || c == ':' || c.is_whitespace());
        escaped = c == '\\' && !escaped;
        found
    });
    let (key, rest) = match separator {
        Some((at, _)) => (&line[..at], &line[at..]),
        None => (line, ""),
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim_start();
    Some((key.to_string(), rest.trim_end().to_string()))
}

/// `key=value` lines in key order, ending with a newline.
pub fn render_properties(properties: &Properties) -> String {
    properties.iter().map(|(key, value)| format!("{key}={value}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_comments_and_continuations() {
        let parsed = parse_properties(
            "# comment\n! also a comment\n\nauto.create.topics.enable=false\n  num.partitions : 3\n\
             log.retention.hours 24\nsasl.jaas.config=a \\\n   b\nempty=\nflag\n",
        );
        assert_eq!(parsed["auto.create.topics.enable"], "false");
        assert_eq!(parsed["num.partitions"], "3");
        assert_eq!(parsed["log.retention.hours"], "24");
        assert_eq!(parsed["sasl.jaas.config"], "a b");
        assert_eq!(parsed["empty"], "");
        assert_eq!(parsed["flag"], "");
        assert_eq!(parsed.len(), 6);
    }

    #[test]
    fn later_lines_win() {
        let parsed = parse_properties("a=1\nb=2\na=3\n");
        assert_eq!(render_properties(&parsed), "a=3\nb=2\n");
    }

    #[test]
    fn values_keep_separators_after_the_first() {
        let parsed = parse_properties("listener.security.protocol.map=A:PLAINTEXT,B:SSL\n");
        assert_eq!(parsed["listener.security.protocol.map"], "A:PLAINTEXT,B:SSL");
    }
}
