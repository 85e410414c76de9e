use crd_types::kafka_user::{AccessType, PatternType, UserTopicGrant};
use kafka_admin::{AclOperation, AclPatternFilter, AclPatternType, AclPermission, AclResourceType};

use super::*;
use crate::user_acls::grants::desired_bindings;
use crate::user_acls::principal::certificate_principal;

fn grant(topic: &str, access_type: AccessType, pattern_type: Option<PatternType>) -> UserTopicGrant {
    UserTopicGrant { topic_name: topic.into(), access_type, pattern_type }
}

fn alice(grants: &[UserTopicGrant]) -> BTreeSet<AclBinding> {
    desired_bindings(&certificate_principal("alice"), grants).expect("valid grants")
}

fn read_orders() -> Vec<UserTopicGrant> {
    vec![grant("orders", AccessType::Read, None)]
}

#[test]
fn in_sync_means_no_request() {
    let desired = alice(&read_orders());
    let changes = AclChanges::between(&desired, &desired.clone());
    assert!(changes.is_empty(), "{changes:?}");
    assert!(changes.delete_filters().is_empty());
}

#[test]
fn a_new_user_creates_every_binding() {
    let desired = alice(&read_orders());
    let changes = AclChanges::between(&desired, &BTreeSet::new());
    assert_eq!(changes.create, desired.into_iter().collect::<Vec<_>>());
    assert!(changes.delete.is_empty());
}

/// Koperator leaves a dropped grant's ACLs in Kafka (a TODO in its controller); here they go,
/// and only the bindings no remaining grant needs.
#[test]
fn a_dropped_grant_deletes_only_what_no_other_grant_needs() {
    let before = alice(&[grant("orders", AccessType::Read, None), grant("audit", AccessType::Read, None)]);
    let after = alice(&read_orders());
    let changes = AclChanges::between(&after, &before);
    assert!(changes.create.is_empty());
    assert_eq!(changes.delete.len(), 3, "{:#?}", changes.delete);
    assert!(changes.delete.iter().all(|b| b.resource_name == "audit"), "the group READ is still needed by orders");
}

#[test]
fn deleting_the_user_deletes_every_binding_exactly() {
    let observed = alice(&[grant("logs.", AccessType::Write, Some(PatternType::Prefixed))]);
    let changes = AclChanges::between(&BTreeSet::new(), &observed);
    assert_eq!(changes.delete.len(), 4);
    let filters = changes.delete_filters();
    assert!(filters.iter().all(|f| f.pattern_type == AclPatternFilter::Prefixed && f.operation.is_some()));
    assert!(filters.iter().all(|f| f.principal.as_deref() == Some("User:CN=alice") && f.host.as_deref() == Some("*")));
}

/// A binding someone changed by hand (Kafka has no update: they delete one and add another)
/// is set back: theirs deleted, the spec's created.
#[test]
fn a_hand_edit_is_set_back() {
    let desired = alice(&read_orders());
    let mut observed = desired.clone();
    let read = desired.iter().find(|b| b.operation == AclOperation::Read && b.resource_type == AclResourceType::Topic);
    let read = read.expect("a topic READ").clone();
    observed.remove(&read);
    let narrowed = AclBinding { host: "10.0.0.7".into(), ..read.clone() };
    let denied = AclBinding { operation: AclOperation::Write, permission: AclPermission::Deny, ..read.clone() };
    observed.insert(narrowed.clone());
    observed.insert(denied.clone());
    let changes = AclChanges::between(&desired, &observed);
    assert_eq!(changes.create, [read]);
    assert_eq!(changes.delete, [denied, narrowed]);
}

#[test]
fn a_literal_grant_becoming_a_prefix_creates_the_new_before_the_old_goes() {
    let before = alice(&read_orders());
    let after = alice(&[grant("orders", AccessType::Read, Some(PatternType::Prefixed))]);
    let changes = AclChanges::between(&after, &before);
    assert_eq!(changes.create.len(), 3);
    assert!(changes.create.iter().all(|b| b.pattern_type == AclPatternType::Prefixed));
    assert_eq!(changes.delete.len(), 3);
    assert!(changes.delete.iter().all(|b| b.pattern_type == AclPatternType::Literal && b.resource_name == "orders"));
}

#[test]
fn a_clusters_bindings_group_by_principal() {
    let bob = desired_bindings(&certificate_principal("bob"), &read_orders()).expect("valid");
    let everyone = alice(&read_orders()).into_iter().chain(bob.clone());
    let by_principal = bindings_by_principal(everyone);
    assert_eq!(by_principal.keys().collect::<Vec<_>>(), ["User:CN=alice", "User:CN=bob"]);
    assert_eq!(by_principal["User:CN=bob"], bob);
}
