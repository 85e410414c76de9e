//! Kubernetes `$(VAR)` expansion for command, args and env values (pure).
//!
//! Mirrors `k8s.io/kubernetes/third_party/forked/golang/expansion`: `$(NAME)` is
//! replaced when NAME is known and kept verbatim otherwise, `$$` escapes a `$`.

/// Expands `$(NAME)` references in `input` using `lookup`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn vars(name: &str) -> Option<String> {
        match name {
            "POD" => Some("kafka-0".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_known_variables() {
        assert_eq!(expand("--name=$(POD).svc", vars), "--name=kafka-0.svc");
        assert_eq!(expand("$(EMPTY)x", vars), "x");
    }

    #[test]
    fn keeps_unknown_and_malformed_references() {
        assert_eq!(expand("$(NOPE) $(POD", vars), "$(NOPE) $(POD");
        assert_eq!(expand("cost $5", vars), "cost $5");
        assert_eq!(expand("trailing $", vars), "trailing $");
    }

    #[test]
    fn double_dollar_escapes() {
        assert_eq!(expand("$$(POD)", vars), "$(POD)");
        assert_eq!(expand("$$$(POD)", vars), "$kafka-0");
    }
}
