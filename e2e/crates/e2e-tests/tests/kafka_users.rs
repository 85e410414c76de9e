//! KafkaUsers on a TLS KRaft cluster whose certificates come from the operator's CA and whose
//! brokers enforce ACLs (StandardAuthorizer, `allow.everyone.if.no.acl.found=false`).
//!
//! Koperator's `config/samples/example-user.yaml` first, as it is: it asks for the `k8s-csr`
//! backend, which is refused with a Degraded condition naming the field. Then the same user
//! with the grants of Koperator's SSL guide (read and write on `example-topic`): its Secret
//! holds a certificate `CN=example-kafkauser` signed by the cluster's CA (the cluster
//! controller signs the topic controller's CSR), with which kcat produces to and consumes
//! `example-topic` and is refused on a topic without grant, and Java key stores
//! (`includeJKS`) that keytool and Kafka's console consumer read; `kafka-acls --list` equals
//! `status.acls`; a binding added by hand is removed on resync; dropping the write grant
//! removes its ACLs (and the right to produce); deleting the user removes its ACLs and Secret,
//! and its certificate is refused afterwards. Then, beyond Koperator, a SCRAM user (`spec.scram`,
//! no certificate) on the cluster's `sasl_ssl` listener: its generated password and a ready
//! `sasl.jaas.config` land in its Secret, kcat with them produces and consumes where its grants
//! (bound to `User:<name>`) allow and is refused elsewhere, a wrong password is refused, `kafka-configs
//! --describe` shows its credential and its `spec.quotas`, and deleting the user removes both.
//! A second test does the same with cert-manager issuing the certificate (a Certificate as
//! Koperator makes it), and a third on a cluster without TLS, where a certificate is refused by
//! name and ACLs are still set.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::ResourceExt;
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use crd_types::KafkaUser;
use e2e_tests::controller_process::{ControllerProcess, report_logs_on_failure};
use e2e_tests::kafka_cluster::{self, bootstrap};
use e2e_tests::namespace::TestNamespace;
use e2e_tests::pki::{self, ClientFiles};
use e2e_tests::wait::{self, Check};
use e2e_tests::{acls, cert_manager, crds, host_command, kafka_topic, kcat, manifests, namespace};

const CLUSTER: &str = "kafka";
const USER: &str = "example-kafkauser";
const USER_SECRET: &str = "example-kafkauser-secret";
const PRINCIPAL: &str = "User:CN=example-kafkauser";
const TOPIC: &str = "example-topic";
const OTHER_TOPIC: &str = "no-grant-topic";
const CA_SECRET: &str = "kafka-ca";
/// The test's administrator, a super user by the spec, for Kafka's own `kafka-acls`.
const ADMIN: &str = "acl-admin";
/// The cluster controller's gRPC address, for the topic controller (unique among the e2e tests).
const GRPC_ADDRESS: &str = "127.0.0.1:19598";
/// ACLs reach each broker's authorizer through the metadata log, a moment after CreateAcls.
const PROPAGATION: Duration = Duration::from_secs(90);
const USER_TIMEOUT: Duration = Duration::from_secs(120);
/// The topic controller's resync interval.
const RESYNC: Duration = Duration::from_secs(5);
/// The cert-manager test's cluster, named apart from every other test's: its CA lives in
/// cert-manager's namespace under the cluster's name.
const CM_CLUSTER: &str = "kafka-users-cm";
const CM_CA: &str = "kafka-users-cm-ca-certificate";
const CM_USER: &str = "cm-user";
const CM_SECRET: &str = "cm-user-tls";
const CM_GRPC_ADDRESS: &str = "127.0.0.1:19599";
/// The plaintext test's cluster and gRPC address.
const PLAIN_CLUSTER: &str = "kafka-users-plain";
const PLAIN_GRPC_ADDRESS: &str = "127.0.0.1:19600";
/// Internal topics of a one-broker cluster.
const ONE_BROKER_CONFIG: &str = "auto.create.topics.enable=false\noffsets.topic.replication.factor=1\n\
     transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\nmin.insync.replicas=1\n";
/// The Kafka requests that change something, by the operation label of the controller's metric.
const KAFKA_WRITES: [&str; 4] = ["CreateAcls", "DeleteAcls", "AlterUserScramCredentials", "AlterClientQuotas"];
/// The operator-CA cluster's `sasl_ssl` listener, and the SCRAM user of the test.
const SCRAM_PORT: u16 = 29094;
const SCRAM_USER: &str = "carol";
const SCRAM_SECRET: &str = "carol-scram";
const READ_ONLY_CONFIG: &str = "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\
                                allow.everyone.if.no.acl.found=false\n";

/// Koperator's `config/samples/example-user.yaml`, namespace left to the test.
fn koperators_example_user() -> Value {
    json!({
        "apiVersion": "kafka.banzaicloud.io/v1alpha1",
        "kind": "KafkaUser",
        "metadata": {"name": USER},
        "spec": {
            "clusterRef": {"name": CLUSTER},
            "secretName": USER_SECRET,
            "pkiBackendSpec": {"pkiBackend": "k8s-csr", "signerName": "kubernetes.io/legacy-unknown"},
        },
    })
}

/// The user of Koperator's SSL guide: the sample without `pkiBackendSpec` (the cluster's
/// certificates), reading and writing `example-topic`, with Java key stores (`includeJKS`).
fn with_grants(grants: Value) -> Value {
    let mut user = koperators_example_user();
    user["spec"].as_object_mut().expect("spec").remove("pkiBackendSpec");
    user["spec"]["topicGrants"] = grants;
    user["spec"]["includeJKS"] = json!(true);
    user
}

fn read_and_write() -> Value {
    json!([{"topicName": TOPIC, "accessType": "read"}, {"topicName": TOPIC, "accessType": "write"}])
}

#[tokio::test]
async fn kafka_users_get_certificates_and_acls_that_follow_the_spec() -> Result<()> {
    namespace::run_isolated("users", async |ns| {
        let (_cluster_controller, topic_controller) = start_controllers(ns, GRPC_ADDRESS).await?;
        kafka_cluster::apply(ns, &tls_cluster_with_acls()?).await?;
        kafka_cluster::wait_running(ns, CLUSTER).await?;
        let outcome = users_scenario(ns, &topic_controller.log).await;
        let outcome = match outcome {
            Ok(()) => scram_scenario(ns, &topic_controller.log).await,
            failed => failed,
        };
        // Also after a failure, while the topic controller runs: its finalizers must go.
        let outcome = outcome.and(remove_users(ns).await).and(kafka_topic::remove_all(ns, CLUSTER).await);
        report_logs_on_failure(outcome, || format!("topic controller log tail:\n{}", topic_controller.log_tail(40)))
    })
    .await
}

/// The same user on a cluster whose certificates cert-manager issues (the default
/// `pkiBackend`): a Certificate as Koperator makes it, named after the user, with the cluster's
/// ClusterIssuer and JKS key stores; cert-manager's Secret serves kcat and Kafka's console
/// consumer; deleting the user removes Certificate, Secret and ACLs.
#[tokio::test]
async fn kafka_users_get_cert_manager_certificates() -> Result<()> {
    namespace::run_isolated("users-cm", async |ns| {
        let (_cluster_controller, topic_controller) = start_controllers(ns, CM_GRPC_ADDRESS).await?;
        kafka_cluster::apply(ns, &cert_manager_cluster()?).await?;
        let objects = cert_manager::objects_of(ns, CM_CLUSTER).await?;
        let outcome = async {
            kafka_cluster::wait_running(ns, CM_CLUSTER).await?;
            cert_manager_scenario(ns).await
        }
        .await;
        // Also after a failure, while the topic controller runs: its finalizers must go.
        let outcome = outcome.and(remove_users(ns).await).and(kafka_topic::remove_all(ns, CM_CLUSTER).await);
        let outcome = report_logs_on_failure(outcome, || {
            format!("topic controller log tail:\n{}", topic_controller.log_tail(40))
        });
        let cleanup = cert_manager::delete_outside_namespace(&ns.client, &ns.name, &objects).await;
        outcome.and(cleanup)
    })
    .await
}

async fn cert_manager_scenario(ns: &TestNamespace) -> Result<()> {
    let bootstrap = bootstrap(ns, CM_CLUSTER);
    let dir = pki::work_dir(&ns.name)?;
    let mut topic = kafka_topic::manifest(TOPIC, TOPIC, 1, 1, &[]);
    topic["spec"]["clusterRef"]["name"] = json!(CM_CLUSTER);
    kafka_topic::apply(ns, &topic).await?;
    kafka_topic::wait_in_sync(ns, TOPIC, USER_TIMEOUT).await?;
    let mut user = with_grants(read_and_write());
    user["metadata"]["name"] = json!(CM_USER);
    user["spec"]["clusterRef"]["name"] = json!(CM_CLUSTER);
    user["spec"]["secretName"] = json!(CM_SECRET);
    manifests::apply_object(&ns.client, &ns.name, &user).await?;
    wait_named_ready(ns, CM_USER, CM_CLUSTER).await?;
    let certificates = Api::<DynamicObject>::namespaced_with(ns.client.clone(), &ns.name, &certificate_resource());
    let certificate = certificates.get(CM_USER).await.context("the user's cert-manager Certificate")?;
    let spec = &certificate.data["spec"];
    ensure!(spec["secretName"] == json!(CM_SECRET) && spec["commonName"] == json!(CM_USER), "{spec}");
    let issuer = format!("{}-{CM_CLUSTER}-issuer", ns.name);
    ensure!(
        spec["issuerRef"]["name"] == json!(issuer) && spec["issuerRef"]["kind"] == json!("ClusterIssuer"),
        "{spec}"
    );
    let keys = ["ca.crt", "keystore.jks", "password", "tls.crt", "tls.key", "truststore.jks"];
    let files = ClientFiles::from_secret(&ns.client, &ns.name, &dir, CM_SECRET, &keys).await?;
    let tls = files.kcat_settings();
    wait_produced(&bootstrap, &tls).await?;
    kcat::consume_all_with(&bootstrap, TOPIC, &tls).await.context("consuming with cert-manager's certificate")?;
    java_client_reads_with_the_key_stores(ns, &dir, &bootstrap, (CM_USER, CM_SECRET)).await?;

    users_api(ns).delete(CM_USER, &DeleteParams::default()).await?;
    wait::eventually("the KafkaUser, its Certificate and its Secret to be gone", USER_TIMEOUT, || async {
        let left = (
            users_api(ns).get_opt(CM_USER).await?.is_some(),
            certificates.get_opt(CM_USER).await?.is_some(),
            named_secret(ns, CM_SECRET).await?.is_some(),
        );
        Ok(if left == (false, false, false) { Check::Done(()) } else { Check::Pending(format!("{left:?}")) })
    })
    .await?;
    refused_after_deletion(ns, &bootstrap, &tls).await
}

/// One broker and one controller (the dedicated sample cut down, as `tls_sources.rs` does),
/// SSL on both listeners, certificates from cert-manager, ACLs enforced, no Cruise Control.
fn cert_manager_cluster() -> Result<Value> {
    let mut cluster = one_broker_cluster(CM_CLUSTER, "")?;
    let listeners = &mut cluster["spec"]["listenersConfig"];
    for listener in listeners["internalListeners"].as_array_mut().context("internalListeners")? {
        listener["type"] = json!("ssl");
    }
    listeners["sslSecrets"] = json!({"tlsSecretName": CM_CA, "create": true});
    Ok(cluster)
}

/// One broker and one controller named `name`, plaintext, ACLs enforced with `more` in the
/// readOnlyConfig, no Cruise Control.
fn one_broker_cluster(name: &str, more: &str) -> Result<Value> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-dedicated-controllers.yaml")?;
    cluster["metadata"]["name"] = json!(name);
    let spec = &mut cluster["spec"];
    spec["brokers"] = json!([{"id": 0, "brokerConfigGroup": "broker"}, {"id": 1, "brokerConfigGroup": "controller"}]);
    spec["readOnlyConfig"] = json!(format!("{ONE_BROKER_CONFIG}{READ_ONLY_CONFIG}{more}"));
    spec["cruiseControlConfig"]["cruiseControlEndpoint"] = json!("absent-cruise-control:8090");
    Ok(cluster)
}

/// On a cluster without TLS (ACLs enforced; every client is `User:ANONYMOUS` there, a super
/// user as the KRaft controllers need): a user asking for a certificate is Degraded
/// `NoTlsListener` naming `spec.createCert`, gets no Secret and still its ACLs; a
/// `createCert: false` user gets its ACLs and is Ready. No crash.
#[tokio::test]
async fn without_tls_a_certificate_is_refused_by_name_and_acls_still_follow_the_spec() -> Result<()> {
    namespace::run_isolated("users-plain", async |ns| {
        let (_cluster_controller, topic_controller) = start_controllers(ns, PLAIN_GRPC_ADDRESS).await?;
        kafka_cluster::apply(ns, &one_broker_cluster(PLAIN_CLUSTER, "super.users=User:ANONYMOUS\n")?).await?;
        let outcome = async {
            kafka_cluster::wait_running(ns, PLAIN_CLUSTER).await?;
            let user = |name: &str, create_cert: bool| {
                json!({
                    "apiVersion": "kafka.banzaicloud.io/v1alpha1",
                    "kind": "KafkaUser",
                    "metadata": {"name": name},
                    "spec": {
                        "clusterRef": {"name": PLAIN_CLUSTER},
                        "secretName": format!("{name}-tls"),
                        "createCert": create_cert,
                        "topicGrants": [{"topicName": TOPIC, "accessType": "read"}],
                    },
                })
            };
            manifests::apply_object(&ns.client, &ns.name, &user("wants-cert", true)).await?;
            manifests::apply_object(&ns.client, &ns.name, &user("acls-only", false)).await?;
            let refused = wait_named_user(ns, "wants-cert", "is Degraded NoTlsListener", |user| {
                condition(user, "Degraded").is_some_and(|c| c.status == "True" && c.reason == "NoTlsListener")
            })
            .await?;
            let message = condition(&refused, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
            let expected = format!("spec.createCert: KafkaCluster {}/{PLAIN_CLUSTER} has no TLS listener", ns.name);
            ensure!(message.starts_with(&expected), "{message}");
            ensure!(named_secret(ns, "wants-cert-tls").await?.is_none(), "a Secret without a certificate backend");
            let bootstrap = bootstrap(ns, PLAIN_CLUSTER);
            wait_listed_as_status(&bootstrap, None, &refused).await?;
            let acls_only = wait_named_ready(ns, "acls-only", PLAIN_CLUSTER).await?;
            wait_listed_as_status(&bootstrap, None, &acls_only).await
        }
        .await;
        let outcome = outcome.and(remove_users(ns).await);
        report_logs_on_failure(outcome, || format!("topic controller log tail:\n{}", topic_controller.log_tail(40)))
    })
    .await
}

fn certificate_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("cert-manager.io", "v1", "Certificate"), "certificates")
}

async fn users_scenario(ns: &TestNamespace, topic_controller_log: &Path) -> Result<()> {
    let bootstrap = bootstrap(ns, CLUSTER);
    let dir = pki::work_dir(&ns.name)?;
    let admin_properties = dir.join("admin.properties");
    let ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
    ClientFiles::issue(&dir, &ca, ADMIN).await?.write_kafka_properties(&admin_properties)?;
    for topic in [TOPIC, OTHER_TOPIC] {
        kafka_topic::apply(ns, &kafka_topic::manifest(topic, topic, 1, 3, &[])).await?;
        kafka_topic::wait_in_sync(ns, topic, USER_TIMEOUT).await?;
    }

    manifests::apply_object(&ns.client, &ns.name, &koperators_example_user()).await?;
    let refused = wait_user(ns, "Degraded True (k8s-csr refused)", |user| {
        condition(user, "Degraded").is_some_and(|c| c.status == "True" && c.reason == "UnsupportedPkiBackend")
    })
    .await?;
    let message = condition(&refused, "Degraded").map(|c| c.message.clone()).unwrap_or_default();
    ensure!(message.starts_with("spec.pkiBackendSpec.pkiBackend: k8s-csr is not supported"), "{message}");
    ensure!(secret(ns).await?.is_none(), "no Secret for a refused backend");

    // Server-side apply of the whole manifest: pkiBackendSpec goes, the grants come.
    manifests::apply_object(&ns.client, &ns.name, &with_grants(read_and_write())).await?;
    let user = wait_ready(ns).await?;
    let files = user_files(ns, &dir).await?;
    let subject = pki::subject(&dir, "user", &std::fs::read_to_string(&files.certificate)?).await?;
    ensure!(subject.contains(&format!("CN={USER}")) || subject.contains(&format!("CN = {USER}")), "{subject}");
    pki::verify(&dir, "user", &ca.ca, &std::fs::read_to_string(&files.certificate)?).await?;
    let tls = files.kcat_settings();

    wait_produced(&bootstrap, &tls).await?;
    let consumed = kcat::consume_all_with(&bootstrap, TOPIC, &tls).await.context("consuming example-topic")?;
    ensure!(consumed.len() >= 10, "consumed {consumed:?}");
    java_client_reads_with_the_key_stores(ns, &dir, &bootstrap, (USER, USER_SECRET)).await?;
    ensure_unauthorized(
        "producing to a topic without grant",
        kcat::produce_numbered_with(&bootstrap, OTHER_TOPIC, 0..1, &tls).await,
    )?;
    wait_listed_as_status(&bootstrap, Some(&admin_properties), &user).await?;
    idle_passes_write_nothing(topic_controller_log).await?;

    // A binding made by hand for the user's principal is not the spec's: the next pass removes it.
    host_command::run_ok(
        &[
            "kafka-acls",
            "--bootstrap-server",
            &bootstrap,
            "--command-config",
            &admin_properties.display().to_string(),
            "--add",
            "--allow-principal",
            PRINCIPAL,
            "--operation",
            "Alter",
            "--topic",
            OTHER_TOPIC,
        ],
        None,
        Duration::from_secs(90),
    )
    .await?;
    let uid = user.metadata.uid.clone().unwrap_or_default();
    let set_back = format!("{PRINCIPAL},Topic,LITERAL,{OTHER_TOPIC},Alter,Allow,*");
    wait::eventually("the hand-made binding to be deleted by the topic controller", PROPAGATION, || async {
        let events = kafka_topic::events(ns, &uid).await?;
        Ok(match events.iter().find(|e| e.reason == "AclsChanged" && e.message.contains(&set_back)) {
            Some(_) => Check::Done(()),
            None => Check::Pending(format!("events: {events:#?}")),
        })
    })
    .await?;
    let user = wait_ready(ns).await?;
    wait_listed_as_status(&bootstrap, Some(&admin_properties), &user).await?;

    // Dropping the write grant removes WRITE and CREATE, and with them the right to produce.
    manifests::apply_object(&ns.client, &ns.name, &with_grants(json!([{"topicName": TOPIC, "accessType": "read"}])))
        .await?;
    let user = wait_user(ns, "Ready for the read grant alone", |user| {
        ready(user) && user.status.as_ref().is_some_and(|s| s.acls.len() == 4)
    })
    .await?;
    wait_listed_as_status(&bootstrap, Some(&admin_properties), &user).await?;
    wait_unauthorized("producing after the write grant was dropped", || {
        kcat::produce_numbered_with(&bootstrap, TOPIC, 10..11, &tls)
    })
    .await?;
    kcat::consume_all_with(&bootstrap, TOPIC, &tls).await.context("reading is still granted")?;

    // Deleting the user removes its ACLs and its Secret; its certificate is refused afterwards.
    users_api(ns).delete(USER, &DeleteParams::default()).await?;
    wait::eventually("the KafkaUser to be gone", USER_TIMEOUT, || async {
        Ok(match users_api(ns).get_opt(USER).await? {
            None => Check::Done(()),
            Some(user) => Check::Pending(format!("{:?}", user.status)),
        })
    })
    .await?;
    ensure!(secret(ns).await?.is_none(), "the user's Secret must go with it");
    wait::eventually("kafka-acls --list to show no ACL of the deleted user", PROPAGATION, || async {
        let listed = acls::kafka_acls_list(&bootstrap, Some(&admin_properties)).await?;
        let left: Vec<&String> = listed.iter().filter(|entry| entry.contains(PRINCIPAL)).collect();
        Ok(if left.is_empty() { Check::Done(()) } else { Check::Pending(format!("left: {left:#?}")) })
    })
    .await?;
    refused_after_deletion(ns, &bootstrap, &tls).await
}

/// The combined KRaft sample with TLS from the operator's CA on every internal listener, the
/// StandardAuthorizer denying what no ACL allows, and the test's administrator a super user
/// (the cluster controller adds its own and the brokers' principals).
fn tls_cluster_with_acls() -> Result<Value> {
    let mut cluster = kafka_cluster::sample("deploy/samples/kafkacluster-kraft-combined.yaml")?;
    let read_only = cluster["spec"]["readOnlyConfig"].as_str().context("the sample's readOnlyConfig")?.to_owned();
    cluster["spec"]["readOnlyConfig"] = json!(format!("{read_only}{READ_ONLY_CONFIG}super.users=User:CN={ADMIN}\n"));
    kafka_cluster::with_operator_ca_tls_and_scram(&mut cluster, CA_SECRET, SCRAM_PORT)?;
    Ok(cluster)
}

/// A SCRAM user with a generated password, read and write grants on example-topic and a producer
/// quota, over the `sasl_ssl` listener; deleting it removes its credential and quota.
async fn scram_scenario(ns: &TestNamespace, topic_controller_log: &Path) -> Result<()> {
    let dir = pki::work_dir(&ns.name)?;
    let admin = dir.join("admin.properties");
    let ca = pki::pem_secret(&ns.client, &ns.name, CA_SECRET).await?;
    ClientFiles::issue(&dir, &ca, ADMIN).await?.write_kafka_properties(&admin)?;
    let ca_file = dir.join("cluster-ca.crt");
    std::fs::write(&ca_file, &ca.ca)?;
    let user = json!({
        "apiVersion": "kafka.banzaicloud.io/v1alpha1",
        "kind": "KafkaUser",
        "metadata": {"name": SCRAM_USER},
        "spec": {
            "clusterRef": {"name": CLUSTER},
            "secretName": SCRAM_SECRET,
            "createCert": false,
            "scram": {},
            "quotas": {"producerByteRate": 1048576},
            "topicGrants": [{"topicName": TOPIC, "accessType": "write"}, {"topicName": TOPIC, "accessType": "read"}],
        },
    });
    manifests::apply_object(&ns.client, &ns.name, &user).await?;
    wait_named_ready(ns, SCRAM_USER, CLUSTER).await?;
    let secret = named_secret(ns, SCRAM_SECRET).await?.context("the SCRAM user's Secret")?;
    let text = |key: &str| -> Result<String> {
        let data = secret.data.as_ref().and_then(|data| data.get(key)).with_context(|| format!("no {key}"))?;
        Ok(String::from_utf8(data.0.clone())?)
    };
    let password = text("password")?;
    let jaas = text("sasl.jaas.config")?;
    ensure!(password.len() == 32, "a generated password of 32 characters, not {}", password.len());
    ensure!(jaas.contains(&format!("username=\"{SCRAM_USER}\" password=\"{password}\"")), "{jaas}");

    let bootstrap = format!("{CLUSTER}-all-broker.{}.svc.cluster.local:{SCRAM_PORT}", ns.name);
    let settings = scram_settings(&ca_file, &password);
    wait::eventually("the SCRAM user to produce to example-topic over SASL_SSL", PROPAGATION, || async {
        Ok(match kcat::produce_numbered_with(&bootstrap, TOPIC, 100..110, &settings).await {
            Ok(()) => Check::Done(()),
            Err(error) => Check::Pending(format!("{error:#}")),
        })
    })
    .await?;
    let consumed = kcat::consume_all_with(&bootstrap, TOPIC, &settings).await.context("the SCRAM user consuming")?;
    ensure!(consumed.len() >= 10, "the SCRAM user consumed {consumed:?}");
    ensure_unauthorized(
        "the SCRAM user producing to a topic without grant",
        kcat::produce_numbered_with(&bootstrap, OTHER_TOPIC, 0..1, &settings).await,
    )?;
    let wrong = kcat::metadata_with(&bootstrap, None, &scram_settings(&ca_file, "not-the-password")).await;
    ensure!(
        wrong.as_ref().is_err_and(|e| format!("{e:#}").to_lowercase().contains("authentication")),
        "a wrong password: {:?}",
        wrong.map(drop)
    );
    idle_passes_write_nothing(topic_controller_log).await.context("with a SCRAM user and its quota in sync")?;
    let described = describe_user(ns, &admin).await?;
    ensure!(
        described.contains("SCRAM-SHA-512=iterations=4096") && described.contains("producer_byte_rate=1048576.0"),
        "kafka-configs --describe of {SCRAM_USER}:\n{described}"
    );

    users_api(ns).delete(SCRAM_USER, &DeleteParams::default()).await?;
    wait::eventually("the SCRAM user, its credential and quota to be gone", USER_TIMEOUT, || async {
        let left = users_api(ns).get_opt(SCRAM_USER).await?.is_some();
        let described = describe_user(ns, &admin).await?;
        Ok(if !left && !described.contains("SCRAM") && !described.contains("producer_byte_rate") {
            Check::Done(())
        } else {
            Check::Pending(format!("KafkaUser left: {left}; kafka-configs: {described}"))
        })
    })
    .await?;
    let after = kcat::metadata_with(&bootstrap, None, &settings).await;
    ensure!(after.is_err(), "the deleted SCRAM user's password still reads metadata");
    eprintln!("kafka_users: SCRAM user set, served, limited, refused with a wrong password, and removed");
    pki::remove_work_dir(&ns.name);
    Ok(())
}

/// `kafka-configs --describe --entity-type users --entity-name <SCRAM user>`, as the admin
/// over the TLS listener: the user's SCRAM credentials and quotas as Kafka's own tool shows them.
async fn describe_user(ns: &TestNamespace, admin: &Path) -> Result<String> {
    let (bootstrap, admin) = (bootstrap(ns, CLUSTER), admin.display().to_string());
    let args = [
        "kafka-configs",
        "--bootstrap-server",
        bootstrap.as_str(),
        "--command-config",
        admin.as_str(),
        "--describe",
        "--entity-type",
        "users",
        "--entity-name",
        SCRAM_USER,
    ];
    host_command::run_ok(&args, None, Duration::from_secs(90)).await
}

/// kcat over SASL_SSL as the SCRAM user, trusting the cluster CA, host names verified.
fn scram_settings(ca: &Path, password: &str) -> Vec<String> {
    vec![
        "security.protocol=sasl_ssl".to_owned(),
        "sasl.mechanisms=SCRAM-SHA-512".to_owned(),
        format!("sasl.username={SCRAM_USER}"),
        format!("sasl.password={password}"),
        format!("ssl.ca.location={}", ca.display()),
        "ssl.endpoint.identification.algorithm=https".to_owned(),
    ]
}

/// The cluster controller serving ClusterAccess on `grpc_address`, and the topic controller
/// asking it, resyncing every [`RESYNC`].
async fn start_controllers(ns: &TestNamespace, grpc_address: &str) -> Result<(ControllerProcess, ControllerProcess)> {
    crds::install(&ns.client).await?;
    let cluster_controller =
        ControllerProcess::start("cluster-controller", &ns.name, &["--grpc-addr", grpc_address]).await?;
    let endpoint = format!("http://{grpc_address}");
    let topic_controller = ControllerProcess::start(
        "topic-controller",
        &ns.name,
        &["--cluster-access-endpoint", &endpoint, "--resync-interval", &format!("{}s", RESYNC.as_secs())],
    )
    .await?;
    Ok((cluster_controller, topic_controller))
}

/// With everything in sync, passes (one DescribeAcls each) write nothing: no API write (status,
/// Secret, label, finalizer, event) and no Kafka write (ACLs, SCRAM credentials, quotas).
async fn idle_passes_write_nothing(topic_controller_log: &Path) -> Result<()> {
    let address = kafka_topic::metrics_address(topic_controller_log, Duration::from_secs(10)).await?;
    let describe_acls =
        |metrics: &kafka_topic::Metrics| metrics.sum(kafka_topic::KAFKA_REQUESTS, &[("operation", "DescribeAcls")]);
    let before = kafka_topic::scrape(&address).await?;
    tokio::time::sleep(RESYNC * 2 + Duration::from_secs(1)).await;
    let after = kafka_topic::scrape(&address).await?;
    let passes = describe_acls(&after) - describe_acls(&before);
    ensure!(passes >= 2.0, "only {passes} users passes (DescribeAcls) in two resync intervals");
    let mut changes = before.changes(&after, kafka_topic::WRITES);
    changes.extend(
        before
            .changes(&after, kafka_topic::KAFKA_REQUESTS)
            .into_iter()
            .filter(|change| KAFKA_WRITES.iter().any(|op| change.contains(&format!("\"{op}\"")))),
    );
    ensure!(changes.is_empty(), "writes during {passes} idle passes:\n{}", changes.join("\n"));
    eprintln!("kafka_users: idle: {passes} passes, no writes");
    Ok(())
}

/// The deleted user's certificate no longer reads: its ACLs are gone.
async fn refused_after_deletion(ns: &TestNamespace, bootstrap: &str, tls: &[String]) -> Result<()> {
    wait_unauthorized("reading with the deleted user's certificate", || async {
        kcat::consume_all_with(bootstrap, TOPIC, tls).await.map(|_| ())
    })
    .await?;
    pki::remove_work_dir(&ns.name);
    Ok(())
}

/// Produces with `tls` until the user's ACLs reach the brokers.
async fn wait_produced(bootstrap: &str, tls: &[String]) -> Result<()> {
    wait::eventually("the user's certificate to produce to example-topic", PROPAGATION, || async {
        Ok(match kcat::produce_numbered_with(bootstrap, TOPIC, 0..10, tls).await {
            Ok(()) => Check::Done(()),
            Err(error) => Check::Pending(format!("{error:#}")),
        })
    })
    .await
}

/// Leaves no KafkaUser to hold up the namespace's deletion, also after a failure: each is
/// deleted while the topic controller still runs (it removes the ACLs and the finalizer); one
/// still there a minute later loses the finalizer by hand, and the test fails.
async fn remove_users(ns: &TestNamespace) -> Result<()> {
    let api = users_api(ns);
    for user in api.list(&Default::default()).await? {
        api.delete(&user.name_any(), &DeleteParams::default()).await?;
    }
    let finalized = wait::eventually("every KafkaUser to be finalized", USER_TIMEOUT, || async {
        let left: Vec<String> = api.list(&Default::default()).await?.iter().map(|u| u.name_any()).collect();
        Ok(if left.is_empty() { Check::Done(()) } else { Check::Pending(format!("{left:?}")) })
    })
    .await;
    if finalized.is_err() {
        for user in api.list(&Default::default()).await? {
            let patch = json!({"metadata": {"finalizers": null}});
            api.patch(&user.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
    }
    finalized
}

fn users_api(ns: &TestNamespace) -> Api<KafkaUser> {
    Api::namespaced(ns.client.clone(), &ns.name)
}

fn condition<'a>(
    user: &'a KafkaUser,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    user.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
}

/// Ready True for the current generation.
fn ready(user: &KafkaUser) -> bool {
    let generation = user.metadata.generation;
    user.status.as_ref().is_some_and(|s| s.observed_generation == generation)
        && condition(user, "Ready").is_some_and(|c| c.status == "True" && c.observed_generation == generation)
}

async fn wait_user(ns: &TestNamespace, what: &str, check: impl Fn(&KafkaUser) -> bool) -> Result<KafkaUser> {
    wait_named_user(ns, USER, what, check).await
}

async fn wait_named_user(
    ns: &TestNamespace,
    name: &str,
    what: &str,
    check: impl Fn(&KafkaUser) -> bool,
) -> Result<KafkaUser> {
    wait::until(&users_api(ns), name, what, USER_TIMEOUT, check).await
}

/// Ready, `state: created`, labelled with its cluster, with Koperator's finalizer.
async fn wait_ready(ns: &TestNamespace) -> Result<KafkaUser> {
    wait_named_ready(ns, USER, CLUSTER).await
}

async fn wait_named_ready(ns: &TestNamespace, name: &str, cluster: &str) -> Result<KafkaUser> {
    let user = wait_named_user(ns, name, "is Ready", ready).await?;
    let state = serde_json::to_value(user.status.as_ref().and_then(|s| s.state))?;
    ensure!(state == json!("created"), "state {state}");
    ensure!(user.metadata.labels.as_ref().and_then(|l| l.get("kafka_cr")).map(String::as_str) == Some(cluster));
    let finalizers = user.metadata.finalizers.clone().unwrap_or_default();
    ensure!(finalizers.contains(&"finalizer.kafkausers.kafka.banzaicloud.io".to_owned()), "{finalizers:?}");
    Ok(user)
}

async fn secret(ns: &TestNamespace) -> Result<Option<Secret>> {
    named_secret(ns, USER_SECRET).await
}

async fn named_secret(ns: &TestNamespace, name: &str) -> Result<Option<Secret>> {
    Ok(Api::<Secret>::namespaced(ns.client.clone(), &ns.name).get_opt(name).await?)
}

/// The user's Secret as files a client reads: `ca.crt`, `tls.crt`, `tls.key`.
async fn user_files(ns: &TestNamespace, dir: &Path) -> Result<ClientFiles> {
    let expected = ["ca.crt", "keystore.jks", "password", "tls.crt", "tls.key", "truststore.jks"];
    ClientFiles::from_secret(&ns.client, &ns.name, dir, USER_SECRET, &expected).await
}

/// `keystore.jks` and `truststore.jks` of the user's Secret, read by keytool and by Kafka's own
/// console consumer (a JVM client with a consumer group: the read grant's group ACL).
async fn java_client_reads_with_the_key_stores(
    ns: &TestNamespace,
    dir: &Path,
    bootstrap: &str,
    (user, secret_name): (&str, &str),
) -> Result<()> {
    let secret = named_secret(ns, secret_name).await?.context("the user's Secret")?;
    let data = secret.data.unwrap_or_default();
    let password = String::from_utf8(data["password"].0.clone())?;
    let (keystore, truststore) = (dir.join("keystore.jks"), dir.join("truststore.jks"));
    std::fs::write(&keystore, &data["keystore.jks"].0)?;
    std::fs::write(&truststore, &data["truststore.jks"].0)?;
    let listed = host_command::run_ok(
        &["keytool", "-list", "-v", "-keystore", &keystore.display().to_string(), "-storepass", &password],
        None,
        Duration::from_secs(60),
    )
    .await?;
    ensure!(listed.contains("PrivateKeyEntry") && listed.contains(&format!("CN={user}")), "keytool:\n{listed}");
    let properties = dir.join("jks.properties");
    std::fs::write(
        &properties,
        format!(
            "security.protocol=SSL\nssl.keystore.type=JKS\nssl.keystore.location={}\nssl.keystore.password={password}\n\
             ssl.key.password={password}\nssl.truststore.type=JKS\nssl.truststore.location={}\n\
             ssl.truststore.password={password}\n",
            keystore.display(),
            truststore.display()
        ),
    )?;
    let consumed = host_command::run_ok(
        &[
            "kafka-console-consumer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            TOPIC,
            "--command-config",
            &properties.display().to_string(),
            "--from-beginning",
            "--max-messages",
            "10",
            "--timeout-ms",
            "60000",
        ],
        None,
        Duration::from_secs(120),
    )
    .await?;
    ensure!(consumed.lines().count() >= 10, "kafka-console-consumer with the JKS stores read:\n{consumed}");
    Ok(())
}

/// Waits until `kafka-acls --list` (as `admin`, on a TLS cluster) shows for the user's
/// principal exactly its `status.acls`.
async fn wait_listed_as_status(bootstrap: &str, admin: Option<&Path>, user: &KafkaUser) -> Result<()> {
    let principal = format!(",User:CN={},", user.name_any());
    let expected: BTreeSet<String> = user
        .status
        .as_ref()
        .map(|s| s.acls.iter().map(|entry| acls::from_status_notation(entry)).collect::<Result<_>>())
        .transpose()?
        .unwrap_or_default();
    ensure!(!expected.is_empty(), "status.acls is empty");
    wait::eventually("kafka-acls --list to equal status.acls", PROPAGATION, || async {
        let listed: BTreeSet<String> = acls::kafka_acls_list(bootstrap, admin)
            .await?
            .into_iter()
            .filter(|entry| entry.contains(&principal))
            .collect();
        Ok(if listed == expected {
            Check::Done(())
        } else {
            Check::Pending(format!("kafka-acls {listed:#?}\nstatus {expected:#?}"))
        })
    })
    .await
}

fn ensure_unauthorized(what: &str, outcome: Result<()>) -> Result<()> {
    let error = match outcome {
        Ok(()) => bail!("{what} was allowed"),
        Err(error) => format!("{error:#}"),
    };
    ensure!(error.to_lowercase().contains("authoriz"), "{what} failed, but not as unauthorized: {error}");
    Ok(())
}

/// ACL changes reach the brokers a moment later: waits until `attempt` is refused as unauthorized.
async fn wait_unauthorized<F, Fut>(what: &str, attempt: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    wait::eventually(what, PROPAGATION, || async {
        Ok(match attempt().await {
            Err(error) if format!("{error:#}").to_lowercase().contains("authoriz") => Check::Done(()),
            other => Check::Pending(format!("{other:?}")),
        })
    })
    .await
}
