//! The KafkaCluster reconciler, a pipeline:
//! 1. observe (reads only): the caches ([`observe::ObservedCluster`]);
//! 2. validate (pure): the spec, then the StorageClasses it names; an invalid spec ends the pass
//!    with a Degraded condition naming the field and the fix;
//! 3. decide (pure): [`decide::decide`] returns the plan, or the facts it still needs from Kafka,
//!    Cruise Control or the apiserver, which [`observe::facts`] answers before it decides again;
//! 4. apply (the only writer): [`apply::apply`] carries the plan out in its order;
//! 5. status (pure, then one write when it changed).
//!
//! A failed pass is counted, logged and published as a Warning event with the whole error
//! chain; [`error_policy`] retries transient failures soon and permanent ones slowly.

pub mod apply;
pub mod certificate_expiry;
pub mod certificates;
mod cluster_id;
pub mod decide;
mod error;
pub mod observe;
pub mod writes;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::Recorder;
use kube::{Resource, ResourceExt};
use tracing::Instrument as _;

use crd_types::KafkaCluster;
use operator_runtime::error_class::{RetryPacing, retry_action};
use operator_runtime::reconcile_report::{ReconcileReporter, regarding};

use crate::model;
use crate::status;

use decide::{Decision, Facts, Notice};
pub use error::Error;
use observe::OwnedStores;
use observe::kafka::KafkaAccess;
use writes::Writer;

/// How often a settled cluster is looked at again even when nothing changed.
const RESYNC: Duration = Duration::from_secs(300);
/// Retry delay while something is in flight.
const SOON: Duration = Duration::from_secs(15);
/// The decision asks for facts at most this many times per pass (each round answers every
/// request it made; three kinds of facts depend on others at most).
const FACT_ROUNDS: usize = 4;

pub struct Context {
    pub writer: Writer,
    pub stores: OwnedStores,
    pub recorder: Recorder,
    pub kafka: KafkaAccess,
    /// Counts every pass and publishes a Warning event for a failed one.
    pub reporter: ReconcileReporter,
    /// The cert-manager objects this process applied.
    pub cert_manager: certificates::AppliedCertManager,
    /// When each cluster's certificates expire, for alerts.
    pub certificate_expiry: certificate_expiry::CertificateExpiry,
}

/// One pass over one KafkaCluster, wrapped with what every pass records.
pub async fn reconcile(guarded: Arc<DeserializeGuard<KafkaCluster>>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let namespace = guarded.namespace().unwrap_or_default();
    let regarding = regarding::<KafkaCluster>(&namespace, &guarded.name_any(), guarded.uid());
    // The pass's span is the parent of what it creates for others to carry out (the
    // traceparent a CruiseControlOperation records), so the runner's work joins its trace.
    let span = tracing::info_span!("reconcile KafkaCluster", namespace = %namespace, cluster = %guarded.name_any());
    let pass = async {
        match &guarded.0 {
            Ok(cluster) => run(cluster, &ctx).await,
            Err(invalid) => Err(Error::Unreadable { name: guarded.name_any(), source: Box::new(invalid.clone()) }),
        }
    };
    let outcome = ctx.reporter.observe(&regarding, pass.instrument(span)).await;
    ctx.kafka.end_pass(&namespace, &guarded.name_any());
    outcome
}

/// Transient failures are retried within seconds, permanent ones after minutes.
pub fn error_policy(guarded: Arc<DeserializeGuard<KafkaCluster>>, error: &Error, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(cluster = %guarded.name_any(), error = %operator_runtime::error_chain(error), "reconcile failed");
    retry_action(error, &RetryPacing::default())
}

async fn run(cluster: &KafkaCluster, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = cluster.namespace().ok_or(Error::MissingNamespace)?;
    if cluster.meta().deletion_timestamp.is_some() {
        // Owner references take the cluster's objects along; only the user's client settings,
        // what was applied to cert-manager and the certificates' expiry are remembered here.
        ctx.kafka.forget(&namespace, &cluster.name_any());
        ctx.cert_manager.forget(&namespace, &cluster.name_any());
        ctx.certificate_expiry.forget(&namespace, &cluster.name_any());
        return Ok(Requeue::await_change());
    }

    // 1. observe
    observe::wait_until_ready(&ctx.stores).await;
    let mut observed = observe::read(&ctx.stores, &namespace, &cluster.name_any());

    // 2. validate
    let validated = match model::validate(cluster) {
        Ok(validated) => validated,
        Err(problems) => {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return report_invalid(ctx, cluster, &namespace, &problems).await;
        }
    };
    let mut problems = decide::missing_storage_classes(&validated, &observed);
    problems.extend(decide::static_quorum_change(&validated, &observed));
    problems.extend(decide::in_place_protocol_change(&validated, &observed));
    // The user's certificates: bad ones end the pass before anything is written but the status.
    let user_secrets = crate::build::pki::user_provided::secret_names(&validated);
    observe::read_user_secrets(&ctx.writer.client, &namespace, &user_secrets, &mut observed)
        .await
        .map_err(Error::Observe)?;
    ctx.certificate_expiry.publish(&namespace, &cluster.name_any(), &observed.secrets);
    let user_certificates =
        match decide::user_certificates::check(&validated, &observed.secrets, time::OffsetDateTime::now_utc()) {
            Some(Ok(checked)) => Some(checked),
            Some(Err(found)) => {
                problems.extend(found);
                None
            }
            None => None,
        };
    if let Some(checked) = &user_certificates
        && let Some(tls) = &checked.client
    {
        ctx.kafka.use_provided(&validated, tls.clone());
    }
    if !problems.is_empty() {
        return report_invalid(ctx, cluster, &namespace, &problems).await;
    }

    // 3. decide, asking for facts until the plan is complete
    let new_cluster_id = cluster_id::generate();
    let external_hosts = decide::external_access::certificate_hosts(&validated, &observed);
    let prepared = certificates::prepare(
        &validated,
        &observed,
        &external_hosts,
        &ctx.cert_manager,
        time::OffsetDateTime::now_utc(),
    );
    let inputs = decide::Inputs {
        cluster,
        validated: &validated,
        observed: &observed,
        new_cluster_id: &new_cluster_id,
        certificates: prepared.as_ref(),
        user_certificates: user_certificates.as_ref(),
    };
    let mut facts = Facts::default();
    let mut plan = None;
    for _ in 0..FACT_ROUNDS {
        match decide::decide(&inputs, &facts) {
            Decision::Plan(decided) => {
                plan = Some(decided);
                break;
            }
            // Each round answers what it asked; asking again would loop.
            Decision::Need(requests) if requests.iter().all(|request| facts.answers(request)) => break,
            Decision::Need(requests) => {
                observe::facts::answer(&ctx.kafka, &ctx.writer.client, &validated, requests, &mut facts)
                    .await
                    .map_err(Error::Observe)?;
            }
        }
    }
    let plan = plan.ok_or(Error::FactsUnsettled { rounds: FACT_ROUNDS })?;

    // 4. apply
    let target = apply::Target {
        writer: &ctx.writer,
        recorder: &ctx.recorder,
        kafka: &ctx.kafka,
        cluster,
        validated: &validated,
        cert_manager: &ctx.cert_manager,
    };
    let decide::Plan { steps, notices, status: mut draft, settled } = *plan;
    match apply::apply(&target, steps, &mut draft.dynamic_config).await {
        Err(error) if error.is_missing_cert_manager() => {
            let problem = format!("{MISSING_CERT_MANAGER} ({})", operator_runtime::error_chain(&error));
            return report_invalid(ctx, cluster, &namespace, &[problem]).await;
        }
        Err(error) => match error.refusal() {
            Some(problem) => return report_invalid(ctx, cluster, &namespace, &[problem]).await,
            None => return Err(error.into()),
        },
        Ok(()) => {}
    }
    for notice in notices {
        apply::publish(&target, notice).await;
    }

    // 5. status
    let status = status::running_status(cluster.status.as_ref(), &validated, &draft, now());
    apply::write_status(&ctx.writer, cluster, &namespace, status).await?;
    Ok(Requeue::requeue(if settled { RESYNC } else { SOON }))
}

const MISSING_CERT_MANAGER: &str = "spec.listenersConfig.sslSecrets: the default pkiBackend (cert-manager) needs \
    cert-manager (its cert-manager.io/v1 API and its namespace cert-manager), and the apiserver has not \
    got them; install cert-manager, or set sslSecrets.pkiBackend: operator-ca for certificates from the \
    operator's own CA";

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

async fn report_invalid(
    ctx: &Context,
    cluster: &KafkaCluster,
    namespace: &str,
    problems: &[String],
) -> Result<Requeue, Error> {
    let status = status::degraded_status(cluster.status.as_ref(), cluster.meta().generation, problems, now());
    let newly_degraded = apply::write_status(&ctx.writer, cluster, namespace, status).await?;
    if newly_degraded {
        let notice = Notice::warning("InvalidSpec", "Validate", problems.join("; "));
        apply::publish_to(&ctx.recorder, cluster, notice).await;
    }
    // A fixed spec arrives as a watch event; the periodic look is only a safety net.
    Ok(Requeue::requeue(RESYNC))
}
