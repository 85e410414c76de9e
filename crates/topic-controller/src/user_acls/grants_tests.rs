use super::*;

const ALICE: &str = "User:CN=alice";

fn grant(topic: &str, access_type: AccessType, pattern_type: Option<PatternType>) -> UserTopicGrant {
    UserTopicGrant { topic_name: topic.into(), access_type, pattern_type }
}

fn status(grants: &[UserTopicGrant]) -> Vec<String> {
    status_acls(&desired_bindings(ALICE, grants).expect("valid grants"))
}

#[test]
fn read_allows_describe_and_read_on_the_topic_and_read_on_every_group() {
    assert_eq!(
        status(&[grant("orders", AccessType::Read, None)]),
        [
            "User:CN=alice,Topic,LITERAL,orders,Read,Allow,*",
            "User:CN=alice,Topic,LITERAL,orders,Describe,Allow,*",
            "User:CN=alice,Topic,LITERAL,orders,DescribeConfigs,Allow,*",
            "User:CN=alice,Group,LITERAL,*,Read,Allow,*",
        ]
    );
}

#[test]
fn write_allows_describe_write_and_create_on_the_pattern() {
    assert_eq!(
        status(&[grant("logs.", AccessType::Write, Some(PatternType::Prefixed))]),
        [
            "User:CN=alice,Topic,PREFIXED,logs.,Write,Allow,*",
            "User:CN=alice,Topic,PREFIXED,logs.,Create,Allow,*",
            "User:CN=alice,Topic,PREFIXED,logs.,Describe,Allow,*",
            "User:CN=alice,Topic,PREFIXED,logs.,DescribeConfigs,Allow,*",
        ]
    );
}

/// deploy/samples/kafkauser.yaml: write on my-topic, read on every `metrics.` topic. Bindings
/// shared by grants (DESCRIBE on one topic, READ on every group) appear once.
#[test]
fn the_sample_users_grants_overlap_into_one_set() {
    let grants = [
        grant("my-topic", AccessType::Write, None),
        grant("metrics.", AccessType::Read, Some(PatternType::Prefixed)),
        grant("my-topic", AccessType::Read, Some(PatternType::Literal)),
        grant("other", AccessType::Read, None),
    ];
    let bindings = desired_bindings(ALICE, &grants).expect("valid grants");
    // my-topic: describe, describe configs, write, create, read; metrics.: describe, describe
    // configs, read; other: the same three; the group once.
    assert_eq!(bindings.len(), 5 + 3 + 3 + 1);
    let groups: Vec<&AclBinding> = bindings.iter().filter(|b| b.resource_type == AclResourceType::Group).collect();
    assert_eq!(groups.len(), 1);
    assert!(bindings.iter().all(|b| b.principal == ALICE && b.host == "*" && b.permission == AclPermission::Allow));
}

#[test]
fn no_grant_no_binding() {
    assert_eq!(desired_bindings(ALICE, &[]), Ok(BTreeSet::new()));
}

/// Kafka only accepts `any` and `match` in filters; Koperator passes them to CreateAcls, which
/// fails. Here they fail the whole set, each named with its index and the fix.
#[test]
fn any_and_match_are_refused_by_index_and_nothing_is_desired() {
    let grants = [
        grant("orders", AccessType::Read, None),
        grant("orders", AccessType::Write, Some(PatternType::Match)),
        grant("*", AccessType::Read, Some(PatternType::Any)),
    ];
    let errors = desired_bindings(ALICE, &grants).expect_err("filters only");
    assert_eq!(errors, [GrantError { index: 1, pattern: "match" }, GrantError { index: 2, pattern: "any" }]);
    let message = errors[0].to_string();
    assert!(message.starts_with("spec.topicGrants[1].patternType: `match` only selects existing ACLs"), "{message}");
    assert!(message.contains("use `literal`") && message.contains("or `prefixed`"), "{message}");
}

#[test]
fn camel_case_is_koperators_spelling() {
    assert_eq!(camel_case("DESCRIBE_CONFIGS"), "DescribeConfigs");
    assert_eq!(camel_case("TRANSACTIONAL_ID"), "TransactionalId");
    assert_eq!(camel_case("READ"), "Read");
}
