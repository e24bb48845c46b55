//! The audit log: per user, newest first.

use keyslot_core::store::AuditFilter;

use super::fixtures::{account, audit, id, vault_record};

check!(audit_is_per_user_newest_first, |store| async move {
    let a = account(store.as_ref(), "rupert").await;
    let b = account(store.as_ref(), "sybil").await;
    store
        .append_audit(&[
            audit(Some(&a.user), "item.read"),
            audit(Some(&b.user), "item.read"),
            audit(Some(&a.user), "item.read"),
        ])
        .await
        .unwrap();
    store
        .create_vault(
            vault_record(&a.user, id()),
            audit(Some(&a.user), "vault.create"),
        )
        .await
        .unwrap();
    let events = store.audit_events(&a.user, 10).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["vault.create", "item.read", "item.read", "signup"]
    );
    assert!(events.iter().all(|e| e.user_id == Some(a.user)));
    assert_eq!(store.audit_events(&a.user, 2).await.unwrap().len(), 2);
});

check!(
    audit_pages_filter_by_time_action_and_actor_and_page_without_gaps,
    |store| async move {
        let a = account(store.as_ref(), "tamsin").await;
        let b = account(store.as_ref(), "ulrich").await;
        // 25 events of a's at times 2000..2025, alternating actions and actors, with an
        // address each; one of b's in the middle, which no filter of a's may return.
        let mut batch = Vec::new();
        for n in 0..25_i64 {
            let mut e = audit(
                Some(&a.user),
                if n % 2 == 0 { "item.read" } else { "item.list" },
            );
            e.at = 2_000 + n;
            e.actor = if n % 3 == 0 { "token:t1" } else { "session:s1" }.into();
            e.ip = Some(format!("127.1.0.{n}"));
            e.detail = format!("n={n}");
            batch.push(e);
            if n == 12 {
                let mut theirs = audit(Some(&b.user), "item.read");
                theirs.at = 2_012;
                batch.push(theirs);
            }
        }
        store.append_audit(&batch).await.unwrap();
        let details = |rows: &[(i64, keyslot_core::model::AuditEvent)]| -> Vec<String> {
            rows.iter().map(|(_, e)| e.detail.clone()).collect()
        };

        // Time range: since inclusive, until exclusive; newest first.
        let window = AuditFilter {
            since: Some(2_010),
            until: Some(2_013),
            limit: 100,
            ..AuditFilter::default()
        };
        let rows = store.audit_page(&a.user, &window).await.unwrap();
        assert_eq!(details(&rows), ["n=12", "n=11", "n=10"]);
        assert_eq!(rows[0].1.ip.as_deref(), Some("127.1.0.12"));

        // Action and actor together.
        let reads_by_token = AuditFilter {
            action: Some("item.read".into()),
            actor: Some("token:t1".into()),
            limit: 100,
            ..AuditFilter::default()
        };
        let rows = store.audit_page(&a.user, &reads_by_token).await.unwrap();
        assert_eq!(details(&rows), ["n=24", "n=18", "n=12", "n=6", "n=0"]);

        // Paging by position: pages of 4 of the 13 reads, each starting before the last
        // position of the one before, give every read once, in order, then stop.
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = AuditFilter {
                action: Some("item.read".into()),
                before,
                limit: 4,
                ..AuditFilter::default()
            };
            let rows = store.audit_page(&a.user, &page).await.unwrap();
            seen.extend(details(&rows));
            if rows.len() < 4 {
                break;
            }
            before = rows.last().map(|(position, _)| *position);
        }
        let expected: Vec<String> = (0..25).rev().step_by(2).map(|n| format!("n={n}")).collect();
        assert_eq!(seen, expected);
    }
);
