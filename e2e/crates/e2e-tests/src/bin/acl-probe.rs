//! Our ACL calls (crates/kafka-admin) from the command line, for the `kafka_acls` e2e test,
//! which runs it under `e2e/testbed exec` so that cluster DNS names resolve.
//!
//! `acl-probe [--tls <ca> <certificate> <key>] <bootstrap> create <binding>...`, `describe
//! <filter>`, `delete <filter>...`; with `--tls`, over TLS with that client certificate (PEM files).
//! A binding is `TYPE,PATTERN,name,principal,host,OPERATION,PERMISSION` in Kafka's names
//! (`TOPIC,LITERAL,orders,User:CN=alice,*,READ,ALLOW`); in a filter `-` leaves a field open and
//! the pattern may also be `ANY` or `MATCH`. Prints one line per binding or filter, the answer
//! after a tab, each deleted binding on its own line after `deleted\t`, and last
//! `requests\t<number of requests sent>`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use kafka_admin::{
    AclBinding, AclBindingFilter, AclPatternFilter, ClientCertificate, ClusterAdmin, ConnectionSettings,
    RequestCounter, RequestLabels, TlsSettings,
};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (tls, args) = match args.as_slice() {
        [flag, ca, certificate, key, rest @ ..] if flag == "--tls" => (Some(tls_settings(ca, certificate, key)?), rest),
        all => (None, all),
    };
    let [bootstrap, command, specs @ ..] = args else {
        bail!("usage: acl-probe [--tls <ca> <certificate> <key>] <bootstrap> create|describe|delete <spec>...");
    };
    let requests = RequestCounter::default();
    let settings = ConnectionSettings {
        bootstrap_servers: vec![bootstrap.clone()],
        client_id: "acl-probe".into(),
        request_timeout: Duration::from_secs(20),
        tls,
    };
    let admin = ClusterAdmin::connect(&settings, requests.clone())?;
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
        other => bail!("unknown command {other}"),
    }
    let sent: u64 = kafka_admin::Operation::ALL
        .iter()
        .map(|&operation| requests.get_or_create(&RequestLabels { operation, validate_only: false }).get())
        .sum();
    println!("requests\t{sent}");
    Ok(())
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
