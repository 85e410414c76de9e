//! The status conditions of a takeover (see `reconcile::decide::takeover`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crd_types::conditions;
use crd_types::kafka_cluster::KafkaClusterStatus;

use crate::reconcile::decide::outcome::TakeoverReport;
use crate::reconcile::decide::takeover::{FOREIGN_OBJECTS, TAKING_OVER};

/// `TakingOver` True while pods another operator made still run, then False for good (a record
/// that the cluster was taken over); absent on clusters this operator built. `ForeignObjects`
/// True while such objects exist, absent otherwise (so an alert can fire on it).
pub fn set_takeover(status: &mut KafkaClusterStatus, report: &TakeoverReport, generation: Option<i64>, now: Time) {
    let was_taken_over = status.conditions.iter().any(|c| c.type_ == TAKING_OVER);
    if !report.foreign_pods.is_empty() {
        let condition = conditions::new(
            TAKING_OVER,
            true,
            "PodsOfAnotherOperator",
            report.taking_over_message(),
            generation,
            now.clone(),
        );
        conditions::upsert(&mut status.conditions, condition);
    } else if was_taken_over {
        let message = "every node runs a pod of this operator";
        conditions::upsert(
            &mut status.conditions,
            conditions::new(TAKING_OVER, false, "Completed", message, generation, now.clone()),
        );
    }
    if report.foreign_objects.is_empty() {
        status.conditions.retain(|c| c.type_ != FOREIGN_OBJECTS);
    } else {
        let condition = conditions::new(
            FOREIGN_OBJECTS,
            true,
            "ObjectsNotMadeByThisOperator",
            report.foreign_objects_message(),
            generation,
            now,
        );
        conditions::upsert(&mut status.conditions, condition);
    }
}
