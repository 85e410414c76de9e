//! Our ACL, SCRAM and quota calls (crates/kafka-admin's `WireAdmin`, the client the topic
//! controller makes them with) from the command line, for the `kafka_acls`
//! and `kafka_scram` e2e tests, which run it under `e2e/testbed exec` so that cluster DNS names
//! resolve.
//!
//! `acl-probe [--tls <ca> <certificate> <key>] <bootstrap> create <binding>...`, `describe
//! <filter>`, `delete <filter>...`; with `--tls`, over TLS with that client certificate (PEM files).
//! A binding is `TYPE,PATTERN,name,principal,host,OPERATION,PERMISSION` in Kafka's names
//! (`TOPIC,LITERAL,orders,User:CN=alice,*,READ,ALLOW`); in a filter `-` leaves a field open and
//! the pattern may also be `ANY` or `MATCH`. Prints one line per binding or filter, the answer
//! after a tab, each deleted binding on its own line after `deleted\t`, and last
//! `requests\t<number of admin requests sent>` (a Metadata request that finds the controller
//! is not one: the count shows how the items were batched).
//!
//! SCRAM-SHA-512 credentials: `scram-set <user> <password>` (4,096 iterations), `scram-delete
//! <user>`, `scram-describe <user>...`; one line per user, the answer after a tab (for
//! describe, `MECHANISM:iterations` pairs, or `none`).
//!
//! Users' client quotas: `quota-set <user> <key>=<value>...`, `quota-remove <user> <key>...`
//! (one line: the user, the answer), `quota-describe` (one line per user with quotas: the user,
//! then `key=value` pairs sorted by key).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use kafka_admin::{
    AclBinding, AclBindingFilter, AclPatternFilter, ClientCertificate, ConnectionSettings, MIN_SCRAM_ITERATIONS,
    RequestCounter, RequestLabels, ScramAlteration, ScramMechanism, TlsSettings, UserQuotaChange, WireAdmin,
};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (tls, args) = match args.as_slice() {
        [flag, ca, certificate, key, rest @ ..] if flag == "--tls" => (Some(tls_settings(ca, certificate, key)?), rest),
        all => (None, all),
    };
    let [bootstrap, command, specs @ ..] = args else {
        bail!(
            "usage: acl-probe [--tls <ca> <certificate> <key>] <bootstrap> \
             create|describe|delete|scram-set|scram-delete|scram-describe|quota-set|quota-remove|quota-describe <arg>..."
        );
    };
    let requests = RequestCounter::default();
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "acl-probe".into(),
        request_timeout: Duration::from_secs(20),
        tls,
    };
    let admin = WireAdmin::connect(&settings, requests.clone())?;
    match command.as_str() {
        "create" => {
            let bindings = specs.iter().map(|spec| parse_binding(spec)).collect::<Result<Vec<_>>>()?;
            for creation in admin.create_acls(&bindings).await? {
                let answer = creation.result.map_or_else(|error| error.to_string(), |()| "ok".into());
                println!("{}\t{answer}", spec(&creation.binding));
            }
        }
        "describe" => {
            let [filter] = specs else { bail!("describe takes one filter") };
            for binding in admin.describe_acls(&parse_filter(filter)?).await? {
                println!("{}", spec(&binding));
            }
        }
        "delete" => {
            let filters = specs.iter().map(|spec| parse_filter(spec)).collect::<Result<Vec<_>>>()?;
            for (deletion, text) in admin.delete_acls(&filters).await?.into_iter().zip(specs) {
                match deletion.result {
                    Ok(deleted) => {
                        println!("{text}\tok {}", deleted.len());
                        deleted.iter().for_each(|binding| println!("deleted\t{}", spec(binding)));
                    }
                    Err(error) => println!("{text}\t{error}"),
                }
            }
        }
        "scram-set" => {
            let [user, password] = specs else { bail!("scram-set takes a user and a password") };
            let upsert = ScramAlteration::Upsert {
                user: user.clone(),
                mechanism: ScramMechanism::Sha512,
                iterations: MIN_SCRAM_ITERATIONS,
                password: password.clone(),
            };
            print_alterations(admin.alter_user_scram_credentials(&[upsert]).await?);
        }
        "scram-delete" => {
            let [user] = specs else { bail!("scram-delete takes a user") };
            let delete = ScramAlteration::Delete { user: user.clone(), mechanism: ScramMechanism::Sha512 };
            print_alterations(admin.alter_user_scram_credentials(&[delete]).await?);
        }
        "scram-describe" => {
            for described in admin.describe_user_scram_credentials(specs).await? {
                let answer = match described.result {
                    Ok(infos) if infos.is_empty() => "none".to_owned(),
                    Ok(infos) => infos
                        .iter()
                        .map(|info| format!("{}:{}", info.mechanism.kafka_name(), info.iterations))
                        .collect::<Vec<_>>()
                        .join(","),
                    Err(error) => error.to_string(),
                };
                println!("{}\t{answer}", described.user);
            }
        }
        "quota-set" | "quota-remove" => {
            let [user, keys @ ..] = specs else { bail!("{command} takes a user and quota keys") };
            let mut change = UserQuotaChange { user: user.clone(), set: Default::default(), remove: Vec::new() };
            for key in keys {
                if command == "quota-set" {
                    let (key, value) = key.split_once('=').context("quota-set takes key=value")?;
                    change.set.insert(key.to_owned(), value.parse().context("a quota value is a number")?);
                } else {
                    change.remove.push(key.clone());
                }
            }
            for outcome in admin.alter_user_quotas(&[change]).await? {
                let answer = outcome.result.map_or_else(|error| error.to_string(), |()| "ok".into());
                println!("{}\t{answer}", outcome.user);
            }
        }
        "quota-describe" => {
            for (user, quotas) in admin.describe_user_quotas().await? {
                let pairs: Vec<String> = quotas.iter().map(|(key, value)| format!("{key}={value}")).collect();
                println!("{user}\t{}", pairs.join(","));
            }
        }
        other => bail!("unknown command {other}"),
    }
    let sent: u64 = kafka_admin::Operation::ALL
        .iter()
        .filter(|&&operation| operation != kafka_admin::Operation::Metadata)
        .map(|&operation| requests.get_or_create(&RequestLabels { operation, validate_only: false }).get())
        .sum();
    println!("requests\t{sent}");
    Ok(())
}

fn print_alterations(outcomes: Vec<kafka_admin::ScramAlterationOutcome>) {
    for outcome in outcomes {
        let answer = outcome.result.map_or_else(|error| error.to_string(), |()| "ok".into());
        println!("{}\t{answer}", outcome.user);
    }
}

fn tls_settings(ca: &str, certificate: &str, key: &str) -> Result<TlsSettings> {
    let read = |path: &str| std::fs::read_to_string(path).with_context(|| format!("failed to read {path}"));
    Ok(TlsSettings {
        ca_pem: read(ca)?,
        client: Some(ClientCertificate { certificate_pem: read(certificate)?, private_key_pem: read(key)? }),
    })
}

fn spec(binding: &AclBinding) -> String {
    format!(
        "{},{},{},{},{},{},{}",
        binding.resource_type,
        binding.pattern_type,
        binding.resource_name,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission
    )
}

fn fields(spec: &str) -> Result<[&str; 7]> {
    let fields: Vec<&str> = spec.split(',').collect();
    fields.try_into().map_err(|_| anyhow::anyhow!("{spec:?}: expected 7 comma-separated fields"))
}

fn parse_binding(text: &str) -> Result<AclBinding> {
    let [kind, pattern, name, principal, host, operation, permission] = fields(text)?;
    Ok(AclBinding {
        resource_type: kind.parse()?,
        resource_name: name.into(),
        pattern_type: pattern.parse()?,
        principal: principal.into(),
        host: host.into(),
        operation: operation.parse()?,
        permission: permission.parse()?,
    })
}

fn parse_filter(text: &str) -> Result<AclBindingFilter> {
    let [kind, pattern, name, principal, host, operation, permission] = fields(text)?;
    let open = |field: &str| (field != "-").then(|| field.to_owned());
    let parsed = || -> Result<AclBindingFilter, kafka_admin::UnknownName> {
        Ok(AclBindingFilter {
            resource_type: open(kind).map(|kind| kind.parse()).transpose()?,
            resource_name: open(name),
            pattern_type: if pattern == "-" { AclPatternFilter::Any } else { pattern.parse()? },
            principal: open(principal),
            host: open(host),
            operation: open(operation).map(|operation| operation.parse()).transpose()?,
            permission: open(permission).map(|permission| permission.parse()).transpose()?,
        })
    };
    parsed().with_context(|| format!("filter {text:?}"))
}
