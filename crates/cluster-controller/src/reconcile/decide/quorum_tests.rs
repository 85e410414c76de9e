use super::*;

fn directory(id: i32, generation: u8) -> DirectoryId {
    let mut bytes = [generation; 16];
    bytes[0] = 0x80 | id as u8;
    DirectoryId(bytes)
}

fn endpoint(id: i32) -> VoterEndpoint {
    VoterEndpoint {
        listener: "CONTROLLER".into(),
        host: format!("kafka-controller-{id}.kafka-controller-headless"),
        port: 29093,
    }
}

fn replica(id: i32, log_end_offset: i64) -> QuorumReplica {
    QuorumReplica {
        id,
        directory_id: directory(id, 1),
        log_end_offset,
        last_fetch_timestamp: -1,
        last_caught_up_timestamp: -1,
    }
}

/// Leader 3; `voters` and `observers` as (id, log end offset) against a high watermark of 1000.
fn quorum(voters: &[(i32, i64)], observers: &[(i32, i64)]) -> QuorumDescription {
    QuorumDescription {
        leader_id: Some(3),
        leader_epoch: 2,
        high_watermark: 1000,
        voters: voters.iter().map(|&(id, leo)| replica(id, leo)).collect(),
        observers: observers.iter().map(|&(id, leo)| replica(id, leo)).collect(),
        endpoints: BTreeMap::new(),
    }
}

fn desired(ids: &[i32]) -> BTreeMap<i32, VoterEndpoint> {
    ids.iter().map(|&id| (id, endpoint(id))).collect()
}

#[test]
fn voters_that_match_the_spec_need_nothing() {
    let decision = next_change(&desired(&[3, 4, 5]), &quorum(&[(3, 1000), (4, 998), (5, 1000)], &[(0, 1000)]));
    assert_eq!(decision, QuorumDecision { voters: vec![3, 4, 5], ..QuorumDecision::default() });
}

#[test]
fn a_caught_up_observer_joins_one_at_a_time() {
    let decision =
        next_change(&desired(&[3, 4, 5, 6, 7]), &quorum(&[(3, 1000), (4, 1000), (5, 995)], &[(6, 1000), (7, 1000)]));
    assert_eq!(decision.change, Some(VoterChange::Add { id: 6, directory: directory(6, 1), endpoint: endpoint(6) }));
    assert!(decision.leaving.is_empty());
}

#[test]
fn a_lagging_or_unseen_controller_is_waited_for_and_named() {
    let lagging = next_change(&desired(&[3, 4, 5, 6]), &quorum(&[(3, 1000), (4, 1000), (5, 1000)], &[(6, 500)]));
    assert_eq!(lagging.change, None);
    assert!(lagging.wait.as_deref().is_some_and(|w| w.contains("controller 6") && w.contains("500 records behind")));

    let unseen = next_change(&desired(&[3, 4, 5, 6]), &quorum(&[(3, 1000), (4, 1000), (5, 1000)], &[(0, 1000)]));
    assert_eq!(unseen.change, None);
    assert!(unseen.wait.as_deref().is_some_and(|w| w.contains("controller 6") && w.contains("not an observer")));
}

#[test]
fn no_voter_joins_while_another_voter_lags() {
    let decision = next_change(&desired(&[3, 4, 5, 6]), &quorum(&[(3, 1000), (4, 200), (5, 1000)], &[(6, 1000)]));
    assert_eq!(decision.change, None);
    assert!(decision.wait.as_deref().is_some_and(|w| w.contains("4 (800 records behind)")), "{decision:?}");
}

#[test]
fn voters_leave_only_after_every_joiner_joined_followers_before_the_leader() {
    // 3 → 5 → 3, the original 3 and 4 leaving: 6 and 7 join first.
    let growing =
        next_change(&desired(&[5, 6, 7]), &quorum(&[(3, 1000), (4, 1000), (5, 1000)], &[(6, 1000), (7, 1000)]));
    assert!(matches!(growing.change, Some(VoterChange::Add { id: 6, .. })));
    assert_eq!(growing.leaving, BTreeSet::from([3, 4]));

    let all = [(3, 1000), (4, 1000), (5, 1000), (6, 1000), (7, 999)];
    let shrinking = next_change(&desired(&[5, 6, 7]), &quorum(&all, &[]));
    // 3 leads: 4 goes first.
    assert_eq!(shrinking.change, Some(VoterChange::Remove { id: 4, directory: directory(4, 1) }));

    let last = next_change(&desired(&[5, 6, 7]), &quorum(&[(3, 1000), (5, 1000), (6, 1000), (7, 1000)], &[]));
    assert_eq!(last.change, Some(VoterChange::Remove { id: 3, directory: directory(3, 1) }));
    assert_eq!(last.leaving, BTreeSet::from([3]));
}

#[test]
fn a_voter_leaves_only_when_those_staying_caught_up() {
    let decision = next_change(&desired(&[3, 4]), &quorum(&[(3, 1000), (4, 1000), (5, 1000)], &[]));
    assert!(matches!(decision.change, Some(VoterChange::Remove { id: 5, .. })));

    let held = next_change(&desired(&[3, 4]), &quorum(&[(3, 1000), (4, -1), (5, 1000)], &[]));
    assert_eq!(held.change, None);
    assert!(held.wait.as_deref().is_some_and(|w| w.contains("controller 5 leaves") && w.contains("4 (offset unknown")));
}

#[test]
fn the_only_voter_never_leaves() {
    let decision = next_change(&desired(&[]), &quorum(&[(3, 1000)], &[(0, 1000)]));
    assert_eq!(decision.change, None);
    assert!(decision.wait.as_deref().is_some_and(|w| w.contains("only voter")));
}

#[test]
fn a_controller_back_with_a_new_log_directory_is_replaced_old_directory_first() {
    let mut described = quorum(&[(3, 1000), (4, 0), (5, 1000)], &[]);
    let mut returned = replica(4, 1000);
    returned.directory_id = directory(4, 2);
    described.observers.push(returned.clone());
    let decision = next_change(&desired(&[3, 4, 5]), &described);
    assert_eq!(decision.change, Some(VoterChange::Remove { id: 4, directory: directory(4, 1) }));

    let mut after = quorum(&[(3, 1000), (5, 1000)], &[]);
    after.observers.push(returned);
    let decision = next_change(&desired(&[3, 4, 5]), &after);
    assert_eq!(decision.change, Some(VoterChange::Add { id: 4, directory: directory(4, 2), endpoint: endpoint(4) }));
}
