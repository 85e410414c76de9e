//! The principal a broker gives a client certificate.
//!
//! Kafka's default principal builder names a TLS client `User:` followed by the certificate's
//! subject in RFC 2253 form (`X500Principal.getName()`); Koperator's certificates carry only a
//! common name, the KafkaUser's name, so the principal is `User:CN=<name>`. Koperator derives
//! the same string from the certificate (Go's `pkix.Name.String()`), and uses `CN=<name>` when
//! it makes no certificate (`createCert: false`).

/// `User:CN=<common_name>`, with the characters RFC 2253 escapes escaped as Kafka writes them.
/// A Kubernetes object name never has any, but a name must never change its meaning.
pub fn certificate_principal(common_name: &str) -> String {
    format!("User:CN={}", rfc2253_value(common_name))
}

/// `User:<name>`: Kafka names a SASL/SCRAM client after the credential, the KafkaUser's name.
pub fn scram_principal(name: &str) -> String {
    format!("User:{name}")
}

/// RFC 2253 section 2.4: `,+"\<>;` anywhere, `#` or a space first, a space last.
fn rfc2253_value(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (index == 0 && matches!(c, '#' | ' '))
            || (index == last && c == ' ');
        if special {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kubernetes_name_is_the_common_name_as_is() {
        assert_eq!(certificate_principal("my-producer"), "User:CN=my-producer");
        assert_eq!(certificate_principal("team.a-1"), "User:CN=team.a-1");
    }

    #[test]
    fn rfc_2253_specials_are_escaped() {
        assert_eq!(certificate_principal("a,b+c"), r"User:CN=a\,b\+c");
        assert_eq!(certificate_principal("#x y "), r"User:CN=\#x y\ ");
        assert_eq!(certificate_principal(r#"q"<>;\"#), r#"User:CN=q\"\<\>\;\\"#);
    }
}
