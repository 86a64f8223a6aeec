//! Inquiry listings over the status-keyed index, on the embedded store and on
//! DynamoDB: a status filter, a cursor walk while statuses change, inquiries written
//! before the index was keyed by status and their backfill, and a reversed date range.

use backend_core::app::{Deps, InquiryFilter, InquiryService};
use backend_core::domain::{InquiryId, InquiryStatus};
use backend_core::ports::Adapters;
use backend_core::ports::SystemClock;
use std::sync::Arc;
use system_tests::{index_partition, inquiry_body, json, move_to_legacy_partition};

fn service(adapters: &Adapters) -> InquiryService {
    InquiryService::new(Deps::new(adapters.clone(), Arc::new(SystemClock)))
}

async fn submit(svc: &InquiryService, n: usize) -> Vec<InquiryId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = inquiry_body();
        body["message"] = json!(format!("Inquiry number {i}"));
        let out = svc.submit(&body, None, "c").await.unwrap();
        ids.push(InquiryId::parse(out.inquiry.id.as_str()).unwrap());
    }
    ids
}

fn with_status(status: InquiryStatus) -> InquiryFilter {
    InquiryFilter {
        status: Some(status),
        ..InquiryFilter::default()
    }
}

/// Every page of a walk, `limit` at a time, moving the first listed inquiry of each
/// page to `processing` between pages.
async fn walk_changing_statuses(svc: &InquiryService, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = svc
            .list(&InquiryFilter::default(), limit, cursor)
            .await
            .unwrap();
        if let Some(first) = page.inquiries.first() {
            if first.status == InquiryStatus::Pending {
                svc.change_status(&first.id, InquiryStatus::Processing, None, "t", "c")
                    .await
                    .unwrap();
            }
        }
        seen.extend(page.inquiries.iter().map(|i| i.id.to_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(backend_core::ports::Cursor::decode(&c).unwrap()),
            None => return seen,
        }
    }
}

async fn listings_follow_status_and_survive_a_walk(adapters: Adapters) {
    let svc = service(&adapters);
    let ids = submit(&svc, 7).await;
    for id in &ids[..3] {
        svc.change_status(id, InquiryStatus::Processing, None, "t", "c")
            .await
            .unwrap();
    }
    let processing = svc
        .list(&with_status(InquiryStatus::Processing), 10, None)
        .await
        .unwrap();
    let listed: Vec<_> = processing.inquiries.iter().map(|i| i.id.clone()).collect();
    assert_eq!(
        listed,
        ids[..3].iter().rev().cloned().collect::<Vec<_>>(),
        "newest first, only the moved ones"
    );
    let pending = svc
        .page(&with_status(InquiryStatus::Pending), 0, 100)
        .await
        .unwrap();
    assert_eq!(pending.len(), 4);
    // The counts moved with the statuses.
    let count = |f: InquiryFilter| {
        let svc = svc.clone();
        async move { svc.count(&f).await.unwrap() }
    };
    assert_eq!(count(with_status(InquiryStatus::Pending)).await, 4);
    assert_eq!(count(with_status(InquiryStatus::Processing)).await, 3);
    assert_eq!(count(InquiryFilter::default()).await, 7);

    let seen = walk_changing_statuses(&svc, 2).await;
    let mut expected: Vec<String> = ids.iter().rev().map(|i| i.to_string()).collect();
    assert_eq!(seen, expected, "each inquiry once, in creation order");
    expected.sort();
    let mut all: Vec<String> = svc
        .page(&InquiryFilter::default(), 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.to_string())
        .collect();
    all.sort();
    assert_eq!(all, expected);
}

/// An inquiry stored before the index was keyed by status sits in the old single
/// partition: it is listed, found by its status, and moves when next written.
async fn inquiries_in_the_old_partition_are_still_listed(adapters: Adapters) {
    let svc = service(&adapters);
    let ids = submit(&svc, 2).await;
    let old = &ids[0];
    move_to_legacy_partition(&*adapters.store, &old.to_string()).await;

    let all = svc.list(&InquiryFilter::default(), 10, None).await.unwrap();
    assert_eq!(all.inquiries.len(), 2, "the old inquiry is listed");
    let pending = svc
        .list(&with_status(InquiryStatus::Pending), 1, None)
        .await
        .unwrap();
    assert_eq!(pending.inquiries[0].id, ids[1]);
    let cursor = backend_core::ports::Cursor::decode(&pending.next_cursor.expect("a second page"));
    let rest = svc
        .list(&with_status(InquiryStatus::Pending), 1, cursor)
        .await
        .unwrap();
    assert_eq!(rest.inquiries[0].id, *old, "found by its status");
    assert!(rest.next_cursor.is_none());

    svc.change_status(old, InquiryStatus::Processing, None, "t", "c")
        .await
        .unwrap();
    assert_eq!(
        index_partition(&*adapters.store, &old.to_string())
            .await
            .as_deref(),
        Some("INQUIRIES#processing"),
        "its next write moved it"
    );
}

/// The scheduled backfill moves old-partition inquiries into their status
/// partitions, and the listings stay the same.
async fn the_backfill_empties_the_old_partition(adapters: Adapters) {
    let svc = service(&adapters);
    let ids = submit(&svc, 3).await;
    for id in &ids {
        move_to_legacy_partition(&*adapters.store, &id.to_string()).await;
    }
    let before = svc.page(&InquiryFilter::default(), 0, 100).await.unwrap();
    assert_eq!(svc.reindex_legacy(2).await.unwrap(), 2);
    assert_eq!(svc.reindex_legacy(2).await.unwrap(), 1);
    assert_eq!(svc.reindex_legacy(2).await.unwrap(), 0);
    for id in &ids {
        assert_eq!(
            index_partition(&*adapters.store, &id.to_string())
                .await
                .as_deref(),
            Some("INQUIRIES#pending")
        );
    }
    assert_eq!(
        svc.page(&InquiryFilter::default(), 0, 100).await.unwrap(),
        before
    );
    // A moved inquiry changes status as any other.
    svc.change_status(&ids[0], InquiryStatus::Processing, None, "t", "c")
        .await
        .unwrap();
}

async fn a_reversed_date_range_lists_nothing(adapters: Adapters) {
    let svc = service(&adapters);
    submit(&svc, 1).await;
    let f = InquiryFilter {
        created: backend_core::app::inquiries::Created {
            from: Some("2030-01-01".into()),
            to: Some("2020-01-01".into()),
        },
        ..InquiryFilter::default()
    };
    let page = svc.list(&f, 10, None).await.unwrap();
    assert!(page.inquiries.is_empty());
    assert!(svc.page(&f, 0, 10).await.unwrap().is_empty());
    assert_eq!(svc.count(&f).await.unwrap(), 0);
}

on_both_adapters!(
    listings_follow_status_and_survive_a_walk,
    inquiries_in_the_old_partition_are_still_listed,
    the_backfill_empties_the_old_partition,
    a_reversed_date_range_lists_nothing,
);

#[tokio::test]
async fn ids_come_from_the_id_source_so_a_test_can_name_them() {
    use backend_core::ports::clock::FixedClock;
    use backend_core::ports::SequentialIds;
    let at = time::macros::datetime!(2026-11-30 12:00 UTC);
    let deps = Deps::new(system_tests::embedded_adapters(), Arc::new(FixedClock(at)))
        .with_ids(Arc::new(SequentialIds::default()));
    let svc = InquiryService::new(deps);
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as u64;
    let first = svc.submit(&inquiry_body(), None, "c").await.unwrap();
    let second = svc.submit(&inquiry_body(), None, "c").await.unwrap();
    // Each submission takes one id for the inquiry and one for its event.
    assert_eq!(
        first.inquiry.id,
        InquiryId::new(ulid::Ulid::from_parts(ms, 1))
    );
    assert_eq!(
        second.inquiry.id,
        InquiryId::new(ulid::Ulid::from_parts(ms, 3))
    );
    let listed = svc.list(&InquiryFilter::default(), 10, None).await.unwrap();
    let ids: Vec<&InquiryId> = listed.inquiries.iter().map(|i| &i.id).collect();
    assert_eq!(ids, [&second.inquiry.id, &first.inquiry.id], "newest first");
}
