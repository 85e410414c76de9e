//! Our ACL calls (crates/kafka-admin's `WireAdmin`: CreateAcls, DescribeAcls, DeleteAcls over
//! Kafka's protocol, as the topic controller makes them) against real Kafka: KRaft clusters (the combined sample, Kafka 3.9.1) whose readOnlyConfig
//! sets the StandardAuthorizer.
//!
//! In plaintext, every step is checked with Kafka's own `kafka-acls --list`. There every client,
//! the brokers, the controllers and the operator included, is `User:ANONYMOUS`, which must be a
//! super user: KRaft controllers refuse each other's Raft fetches (`AuthorizerNotReadyException`,
//! the quorum never forms) unless their principal is one. That exempts every client from the
//! ACLs, so that they are enforced is shown on a TLS cluster: clients with certificates
//! `CN=alice` and `CN=mallory` from the cluster's CA get exactly what bindings of
//! `User:CN=alice` grant (the principal Kafka derives from a certificate), and lose it when the
//! bindings are deleted. The same cluster has a `sasl_ssl` listener (SCRAM-SHA-512, as the
//! cluster controller configures it): a SCRAM user `carol` set with our
//! AlterUserScramCredentials (as Kafka's `kafka-configs --describe` and our
//! DescribeUserScramCredentials both show) produces over it with kcat once `User:carol` has a
//! write binding, is refused with a wrong password, and after her credential is deleted. Her
//! producer byte rate quota, set and removed with our AlterClientQuotas, is what Kafka's
//! `kafka-configs --describe --entity-type users` shows.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::json;

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::pki::{self, ClientFiles};
use e2e_tests::wait::{self, Check};
use e2e_tests::{acls, host_command, kafka_topic, kcat, namespace};

const AUTHORIZER: &str = "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n";
/// The CA Secret of the TLS cluster (its `tlsSecretName`; the operator's own CA).
const CA_SECRET: &str = "kafka-ca";
/// The TLS test's administrator: a client certificate made a super user by the spec (the
/// cluster controller keeps the brokers' and its own principals there too).
const ADMIN: &str = "acl-admin";
/// ACLs reach each broker's authorizer through the metadata log, a moment after CreateAcls.
const PROPAGATION: Duration = Duration::from_secs(60);
const TOOL_TIMEOUT: Duration = Duration::from_secs(90);
/// Quota checks run kafka-configs, one call of which may take most of a minute on a loaded
/// machine: the window leaves room for a second look.
const QUOTA_WINDOW: Duration = Duration::from_secs(60 + 90);
const EVERYTHING: &str = "-,-,-,-,-,-,-";
/// The TLS cluster's `sasl_ssl` listener.
const SCRAM_PORT: u16 = 29094;
const SCRAM_PASSWORD: &str = "carols-secret";

/// What Koperator's mapping gives `alice` for a read grant on `orders` and a write grant on
/// every topic starting with `logs-`.
const ALICE: [&str; 8] = [
    "TOPIC,LITERAL,orders,User:CN=alice,*,READ,ALLOW",
    "TOPIC,LITERAL,orders,User:CN=alice,*,DESCRIBE,ALLOW",
    "TOPIC,LITERAL,orders,User:CN=alice,*,DESCRIBE_CONFIGS,ALLOW",
    "GROUP,LITERAL,*,User:CN=alice,*,READ,ALLOW",
    "TOPIC,PREFIXED,logs-,User:CN=alice,*,WRITE,ALLOW",
    "TOPIC,PREFIXED,logs-,User:CN=alice,*,CREATE,ALLOW",
    "TOPIC,PREFIXED,logs-,User:CN=alice,*,DESCRIBE,ALLOW",
    "TOPIC,PREFIXED,logs-,User:CN=alice,*,DESCRIBE_CONFIGS,ALLOW",
];
const BOB: &str = "TOPIC,LITERAL,orders,User:CN=bob,*,DESCRIBE,ALLOW";
/// Kafka refuses this one binding (the cluster resource has one name) and creates the others.
const REFUSED: &str = "CLUSTER,LITERAL,not-kafka-cluster,User:CN=bob,*,ALTER,ALLOW";

#[tokio::test]
async fn acls_are_created_listed_and_deleted_as_kafka_acls_sees_them() -> Result<()> {
    namespace::run_isolated("acls", async |ns| {
        let _controller = ControllerProcess::start("cluster-controller", &ns.name, &[]).await?;
        let cluster = cluster_with_authorizer("super.users=User:ANONYMOUS\n")?;
        kafka_cluster::apply(ns, &cluster).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;
        let admin = Admin { bootstrap: bootstrap(ns, "kafka"), tls: None };

        let (listed, requests) = admin.probe("describe", &[EVERYTHING]).await?;
        ensure!(listed.is_empty() && requests == 1, "a new cluster has no ACL: {listed:?}");
        ensure!(admin.kafka_acls_list().await?.is_empty());

        // One CreateAcls request, answered per binding.
        let mut to_create: Vec<&str> = ALICE.to_vec();
        to_create.extend([BOB, REFUSED]);
        let (answers, requests) = admin.probe("create", &to_create).await?;
        ensure!(requests == 1, "{requests} requests for {} bindings", to_create.len());
        ensure!(answers.len() == to_create.len(), "{answers:#?}");
        for (binding, answer) in to_create.iter().zip(&answers) {
            let fine = match *binding {
                REFUSED => answer.starts_with(&format!("{binding}\tINVALID_REQUEST: ")),
                _ => answer == &format!("{binding}\tok"),
            };
            ensure!(fine, "{binding}: {answer}");
        }
        println!("created, one refused: {:?}", answers.last());

        let mut everyone = set(&ALICE);
        everyone.insert(BOB.into());
        admin.wait_listed(&everyone).await?;
        ensure!(admin.probe_set(EVERYTHING).await? == everyone, "DescribeAcls of everything");
        let alice = set(&ALICE);
        ensure!(admin.probe_set("-,-,-,User:CN=alice,-,-,-").await? == alice, "DescribeAcls by principal");
        // MATCH: every binding that applies to the topic named, whatever its pattern.
        let applies_to_orders: BTreeSet<String> =
            everyone.iter().filter(|b| b.starts_with("TOPIC,LITERAL,orders,")).cloned().collect();
        ensure!(admin.probe_set("TOPIC,MATCH,orders,-,-,-,-").await? == applies_to_orders, "MATCH orders");
        let applies_to_logs: BTreeSet<String> = alice.iter().filter(|b| b.contains(",logs-,")).cloned().collect();
        ensure!(admin.probe_set("TOPIC,MATCH,logs-app,-,-,-,-").await? == applies_to_logs, "MATCH logs-app");

        // One DeleteAcls request, answered per filter with what each deleted.
        let read_orders = ALICE[0];
        let filters = [read_orders, "-,-,-,User:CN=bob,-,-,-", "-,-,-,User:CN=nobody,-,-,-"];
        let (answers, requests) = admin.probe("delete", &filters).await?;
        ensure!(requests == 1, "{requests} requests");
        let expected = [
            format!("{read_orders}\tok 1"),
            format!("deleted\t{read_orders}"),
            "-,-,-,User:CN=bob,-,-,-\tok 1".into(),
            format!("deleted\t{BOB}"),
            "-,-,-,User:CN=nobody,-,-,-\tok 0".into(),
        ];
        ensure!(answers == expected, "{answers:#?}");
        admin.wait_listed(&set(&ALICE[1..])).await?;

        let (answers, _) = admin.probe("delete", &["-,-,-,User:CN=alice,-,-,-"]).await?;
        ensure!(answers.first().is_some_and(|a| a.ends_with("\tok 7")), "{answers:#?}");
        admin.wait_listed(&BTreeSet::new()).await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn acls_bind_the_principal_of_a_client_certificate() -> Result<()> {
    namespace::run_isolated("acls-tls", async |ns| {
        let _controller = ControllerProcess::start("cluster-controller", &ns.name, &[]).await?;
        let mut cluster = cluster_with_authorizer(&format!("super.users=User:CN={ADMIN}\n"))?;
        kafka_cluster::with_operator_ca_tls_and_scram(&mut cluster, CA_SECRET, SCRAM_PORT)?;
        kafka_cluster::apply(ns, &cluster).await?;
        kafka_cluster::wait_running(ns, "kafka").await?;

        let admin = Admin::over_tls(ns, bootstrap(ns, "kafka")).await?;
        let bootstrap = admin.bootstrap.clone();
        let (dir, ca) = (pki::work_dir(&ns.name)?, pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?);
        let alice = ClientFiles::issue(&dir, &ca, "alice").await?.kcat_settings();
        let mallory = ClientFiles::issue(&dir, &ca, "mallory").await?.kcat_settings();
        let properties = admin.tls.as_ref().map(|tls| tls.properties.as_path());
        for topic in ["orders", "logs-app"] {
            kafka_topic::create_with_kafka_tool_configured(&bootstrap, properties, topic, 1, 3, &[]).await?;
        }

        let (answers, _) = admin.probe("create", &ALICE).await?;
        ensure!(answers.iter().all(|answer| answer.ends_with("\tok")), "{answers:#?}");
        admin.wait_listed(&set(&ALICE)).await?;

        // alice writes where her write grant reaches, reads where her read grant does, and no more.
        wait::eventually("alice to produce to logs-app", PROPAGATION, || async {
            Ok(match kcat::produce_numbered_with(&bootstrap, "logs-app", 0..10, &alice).await {
                Ok(()) => Check::Done(()),
                Err(error) => Check::Pending(format!("{error:#}")),
            })
        })
        .await?;
        let refused = kcat::produce_numbered_with(&bootstrap, "orders", 0..1, &alice).await;
        ensure_refused("alice producing to orders (read grant only)", refused)?;
        kcat::consume_all_with(&bootstrap, "orders", &alice).await.context("alice reading orders")?;
        ensure!(kcat::consume_all_with(&bootstrap, "orders", &mallory).await.is_err(), "mallory read orders");

        // Deleting alice's bindings takes her access away.
        let (answers, _) = admin.probe("delete", &["-,-,-,User:CN=alice,-,-,-"]).await?;
        ensure!(answers.first().is_some_and(|a| a.ends_with("\tok 8")), "{answers:#?}");
        wait::eventually("alice to be refused on logs-app", PROPAGATION, || async {
            Ok(match kcat::produce_numbered_with(&bootstrap, "logs-app", 10..11, &alice).await {
                Err(error) if format!("{error:#}").to_lowercase().contains("authoriz") => Check::Done(()),
                other => Check::Pending(format!("{other:?}")),
            })
        })
        .await?;
        let scram_bootstrap = format!("kafka-all-broker.{}.svc.cluster.local:{SCRAM_PORT}", ns.name);
        a_scram_user_gets_what_its_bindings_grant(&admin, &scram_bootstrap, &ca_file(&admin)?).await?;
        pki::remove_work_dir(&ns.name);
        Ok(())
    })
    .await
}

/// `carol`, a SCRAM-SHA-512 user set with our AlterUserScramCredentials, authenticates on the
/// `sasl_ssl` listener: refused on `logs-app` until `User:carol` has a write binding, then
/// produces; a wrong password is refused; once her credential is deleted, so is she.
async fn a_scram_user_gets_what_its_bindings_grant(admin: &Admin, bootstrap: &str, ca: &str) -> Result<()> {
    let (answers, requests) = admin.probe("scram-set", &["carol", SCRAM_PASSWORD]).await?;
    ensure!(answers == ["carol\tok"] && requests == 1, "scram-set: {answers:?} in {requests} requests");
    // Acknowledged once the controller committed it; the broker answering the describe may apply
    // the metadata record a moment later.
    wait::eventually("scram-describe shows carol's credential", PROPAGATION, || async {
        let (described, _) = admin.probe("scram-describe", &["carol", "nobody"]).await?;
        Ok(if described == ["carol\tSCRAM-SHA-512:4096", "nobody\tnone"] {
            Check::Done(())
        } else {
            Check::Pending(format!("{described:?}"))
        })
    })
    .await?;
    wait::eventually("kafka-configs --describe shows carol's credential", PROPAGATION, || async {
        let stdout = admin.kafka_configs_user("carol").await?;
        Ok(if stdout.contains("SCRAM-SHA-512=iterations=4096") { Check::Done(()) } else { Check::Pending(stdout) })
    })
    .await?;

    a_quota_is_what_kafka_configs_shows(admin).await?;

    let carol = scram_settings(ca, "carol", SCRAM_PASSWORD);
    let refused = kcat::produce_numbered_with(bootstrap, "logs-app", 0..1, &carol).await;
    ensure_refused("carol producing without a binding", refused)?;
    let grants = ["TOPIC,PREFIXED,logs-,User:carol,*,WRITE,ALLOW", "TOPIC,PREFIXED,logs-,User:carol,*,DESCRIBE,ALLOW"];
    let (answers, _) = admin.probe("create", &grants).await?;
    ensure!(answers.iter().all(|answer| answer.ends_with("\tok")), "{answers:#?}");
    wait::eventually("carol to produce to logs-app over SASL_SSL", PROPAGATION, || async {
        Ok(match kcat::produce_numbered_with(bootstrap, "logs-app", 100..110, &carol).await {
            Ok(()) => Check::Done(()),
            Err(error) => Check::Pending(format!("{error:#}")),
        })
    })
    .await?;
    let wrong = scram_settings(ca, "carol", "not-her-password");
    ensure_unauthenticated(
        "carol with a wrong password",
        kcat::metadata_with(bootstrap, None, &wrong).await.map(drop),
    )?;

    let (answers, _) = admin.probe("scram-delete", &["carol"]).await?;
    ensure!(answers == ["carol\tok"], "scram-delete: {answers:?}");
    wait::eventually("carol to be refused once her credential is deleted", PROPAGATION, || async {
        Ok(match kcat::metadata_with(bootstrap, None, &carol).await {
            Err(error) if format!("{error:#}").to_lowercase().contains("authentication") => Check::Done(()),
            other => Check::Pending(format!("{:?}", other.map(drop))),
        })
    })
    .await?;
    println!(
        "SCRAM user carol: set, described alike by kafka-configs, authorized by her binding, refused with a wrong password and after deletion"
    );
    Ok(())
}

/// carol's producer byte rate, set and removed with our AlterClientQuotas: our
/// DescribeClientQuotas and Kafka's `kafka-configs --describe --entity-type users` agree.
async fn a_quota_is_what_kafka_configs_shows(admin: &Admin) -> Result<()> {
    let (answers, requests) = admin.probe("quota-set", &["carol", "producer_byte_rate=1048576"]).await?;
    ensure!(answers == ["carol\tok"] && requests == 1, "quota-set: {answers:?} in {requests} requests");
    wait::eventually("carol's quota in kafka-configs and DescribeClientQuotas", QUOTA_WINDOW, || async {
        let described = admin.probe("quota-describe", &[]).await?.0;
        let shown = admin.kafka_configs_user("carol").await?;
        let ours = described == ["carol\tproducer_byte_rate=1048576"];
        Ok(if ours && shown.contains("producer_byte_rate=1048576.0") {
            Check::Done(())
        } else {
            Check::Pending(format!("ours {described:?}, kafka-configs {shown}"))
        })
    })
    .await?;
    let (answers, _) = admin.probe("quota-remove", &["carol", "producer_byte_rate"]).await?;
    ensure!(answers == ["carol\tok"], "quota-remove: {answers:?}");
    wait::eventually("carol's quota gone", QUOTA_WINDOW, || async {
        let described = admin.probe("quota-describe", &[]).await?.0;
        let shown = admin.kafka_configs_user("carol").await?;
        Ok(if described.is_empty() && !shown.contains("producer_byte_rate") {
            Check::Done(())
        } else {
            Check::Pending(format!("ours {described:?}, kafka-configs {shown}"))
        })
    })
    .await?;
    println!("carol's producer_byte_rate quota set and removed; kafka-configs agreed each time");
    Ok(())
}

/// kcat over SASL_SSL with SCRAM-SHA-512, trusting the cluster CA, host names verified.
fn scram_settings(ca: &str, user: &str, password: &str) -> Vec<String> {
    vec![
        "security.protocol=sasl_ssl".to_owned(),
        "sasl.mechanisms=SCRAM-SHA-512".to_owned(),
        format!("sasl.username={user}"),
        format!("sasl.password={password}"),
        format!("ssl.ca.location={ca}"),
        "ssl.endpoint.identification.algorithm=https".to_owned(),
    ]
}

fn ca_file(admin: &Admin) -> Result<String> {
    Ok(admin.tls.as_ref().context("TLS admin")?.files.ca.display().to_string())
}

fn ensure_unauthenticated(what: &str, outcome: Result<()>) -> Result<()> {
    let error = match outcome {
        Ok(()) => bail!("{what} was served"),
        Err(error) => format!("{error:#}"),
    };
    ensure!(error.to_lowercase().contains("authentication"), "{what} failed, but not on authentication: {error}");
    Ok(())
}

/// The combined sample with the StandardAuthorizer and `more` (e.g. `super.users`) added to its
/// readOnlyConfig.
fn cluster_with_authorizer(more: &str) -> Result<serde_json::Value> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
    let read_only = cluster["spec"]["readOnlyConfig"].as_str().context("the sample's readOnlyConfig")?.to_owned();
    cluster["spec"]["readOnlyConfig"] = json!(format!("{read_only}{AUTHORIZER}{more}"));
    Ok(cluster)
}

fn ensure_refused(what: &str, outcome: Result<()>) -> Result<()> {
    let error = match outcome {
        Ok(()) => bail!("{what} was allowed"),
        Err(error) => format!("{error:#}"),
    };
    ensure!(error.to_lowercase().contains("authoriz"), "{what} failed, but not as unauthorized: {error}");
    Ok(())
}

fn set(bindings: &[&str]) -> BTreeSet<String> {
    bindings.iter().map(|binding| binding.to_string()).collect()
}

/// How the test administers the cluster's ACLs: plaintext, or TLS as [`ADMIN`].
struct Admin {
    bootstrap: String,
    tls: Option<AdminTls>,
}

struct AdminTls {
    files: ClientFiles,
    /// For Kafka's own tools.
    properties: PathBuf,
}

impl Admin {
    async fn over_tls(ns: &TestNamespace, bootstrap: String) -> Result<Self> {
        let dir = pki::work_dir(&ns.name)?;
        let ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
        let files = ClientFiles::issue(&dir, &ca, ADMIN).await?;
        let properties = dir.join("admin.properties");
        files.write_kafka_properties(&properties)?;
        Ok(Self { bootstrap, tls: Some(AdminTls { files, properties }) })
    }

    /// Runs `acl-probe` (src/bin/acl-probe.rs) through `e2e/testbed exec`; returns its answer
    /// lines and the number of requests it sent.
    async fn probe(&self, command: &str, specs: &[&str]) -> Result<(Vec<String>, u64)> {
        let tls: Vec<String> = self
            .tls
            .iter()
            .flat_map(|tls| {
                let files = &tls.files;
                [
                    "--tls".into(),
                    files.ca.display().to_string(),
                    files.certificate.display().to_string(),
                    files.key.display().to_string(),
                ]
            })
            .collect();
        let mut args = vec![env!("CARGO_BIN_EXE_acl-probe")];
        args.extend(tls.iter().map(String::as_str));
        args.extend([self.bootstrap.as_str(), command]);
        args.extend(specs);
        let stdout = host_command::run_ok(&args, None, TOOL_TIMEOUT).await?;
        let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
        let requests = lines
            .pop()
            .and_then(|last| last.strip_prefix("requests\t").and_then(|n| n.parse().ok()))
            .with_context(|| format!("no request count in {stdout:?}"))?;
        Ok((lines, requests))
    }

    async fn probe_set(&self, filter: &str) -> Result<BTreeSet<String>> {
        Ok(self.probe("describe", &[filter]).await?.0.into_iter().collect())
    }

    /// Waits until `kafka-acls --list` and our DescribeAcls both show exactly `expected`.
    async fn wait_listed(&self, expected: &BTreeSet<String>) -> Result<()> {
        wait::eventually("kafka-acls --list and DescribeAcls to agree", PROPAGATION, || async {
            let listed = self.kafka_acls_list().await?;
            let ours = self.probe_set(EVERYTHING).await?;
            Ok(if &listed == expected && &ours == expected {
                Check::Done(())
            } else {
                Check::Pending(format!("kafka-acls {listed:#?}\nours {ours:#?}"))
            })
        })
        .await
    }

    /// `kafka-configs --describe --entity-type users --entity-name <user>`: its SCRAM
    /// credentials and quotas, as Kafka's own tool prints them.
    async fn kafka_configs_user(&self, user: &str) -> Result<String> {
        let properties = self.tls.as_ref().map(|tls| tls.properties.display().to_string());
        let mut args = vec!["kafka-configs", "--bootstrap-server", self.bootstrap.as_str()];
        if let Some(path) = &properties {
            args.extend(["--command-config", path.as_str()]);
        }
        args.extend(["--describe", "--entity-type", "users", "--entity-name", user]);
        host_command::run_ok(&args, None, TOOL_TIMEOUT).await
    }

    /// `kafka-acls --list`, each entry in acl-probe's notation.
    async fn kafka_acls_list(&self) -> Result<BTreeSet<String>> {
        acls::kafka_acls_list(&self.bootstrap, self.tls.as_ref().map(|tls| tls.properties.as_path())).await
    }
}
