//! The item-store contract: every adapter (SQLite, DynamoDB on moto) must pass each
//! case unchanged. A case that passes on one and fails on the other is a bug.

use backend_core::ports::{
    Condition, Cursor, Item, ItemStore, Query, SkRange, StoreError, WriteOp,
};
use serde_json::json;
use std::sync::Arc;

type Store = Arc<dyn ItemStore>;

fn put(item: Item, condition: Condition) -> WriteOp {
    WriteOp::Put { item, condition }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn create_once(s: Store) {
    let a = Item::new("P#1", "A", json!({"n": 1}));
    s.write(vec![put(a.clone(), Condition::NotExists)])
        .await
        .unwrap();
    let again = Item::new("P#1", "A", json!({"n": 2}));
    let err = s
        .write(vec![put(again, Condition::NotExists)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(s.get("P#1", "A").await.unwrap(), Some(a));
    assert_eq!(s.get("P#1", "B").await.unwrap(), None);
}

async fn optimistic_versions(s: Store) {
    s.write(vec![put(
        Item::new("P#2", "A", json!({"v": 1})),
        Condition::NotExists,
    )])
    .await
    .unwrap();
    let mut next = Item::new("P#2", "A", json!({"v": 2}));
    next.version = 2;
    s.write(vec![put(next.clone(), Condition::Version(1))])
        .await
        .unwrap();
    // A writer that read version 1 loses.
    let mut stale = Item::new("P#2", "A", json!({"v": 99}));
    stale.version = 2;
    let err = s
        .write(vec![put(stale, Condition::Version(1))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed));
    assert_eq!(
        s.get("P#2", "A").await.unwrap().unwrap().data,
        json!({"v": 2})
    );
    // Versions also guard deletes, and a missing item has no version.
    let del = |v| WriteOp::Delete {
        pk: "P#2".into(),
        sk: "A".into(),
        condition: Condition::Version(v),
    };
    assert!(matches!(
        s.write(vec![del(1)]).await,
        Err(StoreError::ConditionFailed)
    ));
    s.write(vec![del(2)]).await.unwrap();
    assert_eq!(s.get("P#2", "A").await.unwrap(), None);
    assert!(matches!(
        s.write(vec![put(next, Condition::Version(2))]).await,
        Err(StoreError::ConditionFailed)
    ));
}

async fn batches_are_all_or_nothing(s: Store) {
    s.write(vec![put(
        Item::new("P#3", "A", json!({})),
        Condition::NotExists,
    )])
    .await
    .unwrap();
    let err = s
        .write(vec![
            put(Item::new("P#3", "B", json!({})), Condition::NotExists),
            put(Item::new("P#3", "A", json!({"x": 1})), Condition::NotExists),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed));
    assert_eq!(
        s.get("P#3", "B").await.unwrap(),
        None,
        "the first write of a failed batch must not land"
    );
    s.write(vec![
        put(Item::new("P#3", "B", json!({})), Condition::NotExists),
        put(Item::new("P#3", "C", json!({})), Condition::None),
        WriteOp::Delete {
            pk: "P#3".into(),
            sk: "A".into(),
            condition: Condition::None,
        },
    ])
    .await
    .unwrap();
    assert!(s.get("P#3", "B").await.unwrap().is_some());
    assert!(s.get("P#3", "A").await.unwrap().is_none());
}

async fn malformed_batches_are_refused(s: Store) {
    assert!(matches!(s.write(vec![]).await, Err(StoreError::Invalid(_))));
    let twice = vec![
        put(Item::new("P#4", "A", json!({})), Condition::None),
        put(Item::new("P#4", "A", json!({})), Condition::None),
    ];
    assert!(matches!(s.write(twice).await, Err(StoreError::Invalid(_))));
    let many = (0..26)
        .map(|i| {
            put(
                Item::new("P#4", format!("{i:02}"), json!({})),
                Condition::None,
            )
        })
        .collect();
    assert!(matches!(s.write(many).await, Err(StoreError::Invalid(_))));
}

async fn table_ranges_order_and_pages(s: Store) {
    for i in 1..=7 {
        s.write(vec![put(
            Item::new("P#5", format!("s{i:02}"), json!({ "i": i })),
            Condition::None,
        )])
        .await
        .unwrap();
    }
    s.write(vec![put(
        Item::new("P#5x", "s01", json!({})),
        Condition::None,
    )])
    .await
    .unwrap();
    s.write(vec![put(
        Item::new("P#5", "t01", json!({})),
        Condition::None,
    )])
    .await
    .unwrap();

    let sks =
        |p: &backend_core::ports::Page| p.items.iter().map(|i| i.sk.clone()).collect::<Vec<_>>();
    let q = Query::table("P#5")
        .range(SkRange::Prefix("s".into()))
        .limit(3);
    let p1 = s.query(&q).await.unwrap();
    assert_eq!(sks(&p1), ["s01", "s02", "s03"]);
    let p2 = s.query(&q.clone().after(p1.next.clone())).await.unwrap();
    assert_eq!(sks(&p2), ["s04", "s05", "s06"]);
    let p3 = s.query(&q.clone().after(p2.next.clone())).await.unwrap();
    assert_eq!(sks(&p3), ["s07"]);
    assert!(p3.next.is_none(), "the last page has no cursor");

    let exact = s
        .query(
            &Query::table("P#5")
                .range(SkRange::Prefix("s".into()))
                .limit(7),
        )
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 7);
    assert!(
        exact.next.is_none(),
        "a page that ends the listing exactly has no cursor"
    );

    let desc = s
        .query(&Query::table("P#5").descending().limit(2))
        .await
        .unwrap();
    assert_eq!(sks(&desc), ["t01", "s07"]);
    let desc2 = s
        .query(&Query::table("P#5").descending().limit(2).after(desc.next))
        .await
        .unwrap();
    assert_eq!(sks(&desc2), ["s06", "s05"]);

    let between = s
        .query(&Query::table("P#5").range(SkRange::Between("s03".into(), "s05".into())))
        .await
        .unwrap();
    assert_eq!(sks(&between), ["s03", "s04", "s05"]);
    assert!(s
        .query(&Query::table("P#none"))
        .await
        .unwrap()
        .items
        .is_empty());
}

async fn index_lists_newest_first(s: Store) {
    let part = format!("IDX#{}", ulid::Ulid::new());
    for (i, at) in ["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-02"]
        .iter()
        .enumerate()
    {
        let item = Item::new(format!("E#{i}"), "A", json!({ "i": i })).indexed(&part, *at);
        s.write(vec![put(item, Condition::None)]).await.unwrap();
    }
    // Not in the index: no index keys.
    s.write(vec![put(Item::new("E#9", "A", json!({})), Condition::None)])
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = s
            .query(&Query::index(&part).descending().limit(3).after(after))
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(
            page.items
                .iter()
                .map(|i| (i.gsi1sk.clone().unwrap(), i.pk.clone())),
        );
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0].0, "2026-01-03");
    assert_eq!(seen[3].0, "2026-01-01");
    let pks: std::collections::HashSet<_> = seen.iter().map(|x| x.1.clone()).collect();
    assert_eq!(pks.len(), 4, "no item twice across pages: {seen:?}");

    let jan2 = s
        .query(
            &Query::index(&part).range(SkRange::Between("2026-01-02".into(), "2026-01-02~".into())),
        )
        .await
        .unwrap();
    assert_eq!(jan2.items.len(), 2);
}

async fn expired_items_do_not_exist(s: Store) {
    let gone = Item::new("P#6", "A", json!({"old": true}))
        .expiring_at(now() - 10)
        .indexed("IDX#6", "x");
    let live = Item::new("P#6", "B", json!({})).expiring_at(now() + 3600);
    s.write(vec![put(gone, Condition::None), put(live, Condition::None)])
        .await
        .unwrap();
    assert_eq!(s.get("P#6", "A").await.unwrap(), None);
    assert!(s.get("P#6", "B").await.unwrap().is_some());
    let page = s.query(&Query::table("P#6")).await.unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(),
        ["B"]
    );
    assert!(s
        .query(&Query::index("IDX#6"))
        .await
        .unwrap()
        .items
        .is_empty());
    // An expired key may be created again.
    s.write(vec![put(
        Item::new("P#6", "A", json!({"new": true})),
        Condition::NotExists,
    )])
    .await
    .unwrap();
    assert_eq!(
        s.get("P#6", "A").await.unwrap().unwrap().data,
        json!({"new": true})
    );
}

async fn queries_with_empty_keys_or_reversed_ranges_are_refused(s: Store) {
    let bad = [
        Query::table(""),
        Query::table("P").range(SkRange::Prefix(String::new())),
        Query::index("I").range(SkRange::Between(String::new(), "z".into())),
        Query::table("P").range(SkRange::Between("b".into(), "a".into())),
        Query::table("P").limit(0),
    ];
    for q in bad {
        assert!(
            matches!(s.query(&q).await, Err(StoreError::Invalid(_))),
            "{q:?}"
        );
    }
}

async fn data_round_trips(s: Store) {
    let data =
        json!({"text": "<b>ü</b> \"quoted\" \n 😀", "n": 1.5, "list": [1, null, {"k": false}]});
    s.write(vec![put(
        Item::new("P#7", "A", data.clone()),
        Condition::None,
    )])
    .await
    .unwrap();
    assert_eq!(s.get("P#7", "A").await.unwrap().unwrap().data, data);
    s.ping().await.unwrap();
}

async fn many_items_in_one_read_in_the_order_asked(s: Store) {
    let key = |pk: &str, sk: &str| (pk.to_string(), sk.to_string());
    let mut ops: Vec<WriteOp> = (0..3)
        .map(|i| {
            put(
                Item::new(format!("M#{i}"), "X", json!({"i": i})),
                Condition::NotExists,
            )
        })
        .collect();
    ops.push(put(
        Item::new("M#gone", "X", json!({})).expiring_at(now() - 1),
        Condition::None,
    ));
    s.write(ops).await.unwrap();
    let got = s
        .get_many(&[
            key("M#2", "X"),
            key("M#nothing", "X"),
            key("M#0", "X"),
            key("M#gone", "X"),
            key("M#1", "X"),
        ])
        .await
        .unwrap();
    let seen: Vec<Option<i64>> = got
        .iter()
        .map(|i| i.as_ref().map(|i| i.data["i"].as_i64().unwrap()))
        .collect();
    assert_eq!(seen, [Some(2), None, Some(0), None, Some(1)]);
    assert!(s.get_many(&[]).await.unwrap().is_empty());
    // DynamoDB's BatchGetItem takes 100 keys, each once; every adapter says so.
    let too_many: Vec<_> = (0..101).map(|i| key(&format!("M#{i}"), "X")).collect();
    assert!(matches!(
        s.get_many(&too_many).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.get_many(&[key("M#0", "X"), key("M#0", "X")]).await,
        Err(StoreError::Invalid(_))
    ));
    let hundred: Vec<_> = (0..100).map(|i| key(&format!("M#{i}"), "X")).collect();
    assert_eq!(s.get_many(&hundred).await.unwrap().len(), 100);
}

async fn counters_stop_at_their_limit_inside_a_batch(s: Store) {
    let count = || WriteOp::Count {
        pk: "C#1".into(),
        sk: "W#1".into(),
        max: 2,
        expires_at: now() + 600,
    };
    // Counted on its own, and in a batch with another write.
    s.write(vec![count()]).await.unwrap();
    s.write(vec![
        count(),
        put(Item::new("C#1", "A", json!({})), Condition::NotExists),
    ])
    .await
    .unwrap();
    assert_eq!(s.get("C#1", "W#1").await.unwrap().unwrap().version, 2);
    // At the limit the whole batch is refused, and nothing in it written.
    let err = s
        .write(vec![
            count(),
            put(Item::new("C#1", "B", json!({})), Condition::NotExists),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(s.get("C#1", "B").await.unwrap(), None);
    assert_eq!(s.get("C#1", "W#1").await.unwrap().unwrap().version, 2);
    // A counter past its expiry counts from nothing.
    s.write(vec![WriteOp::Count {
        pk: "C#2".into(),
        sk: "W#1".into(),
        max: 1,
        expires_at: now() - 1,
    }])
    .await
    .unwrap();
    assert_eq!(s.get("C#2", "W#1").await.unwrap(), None, "expired at once");
}

fn add(pk: &str, sk: &str, deltas: &[(&str, i64)]) -> WriteOp {
    WriteOp::Add {
        pk: pk.into(),
        sk: sk.into(),
        deltas: deltas.iter().map(|(n, d)| (n.to_string(), *d)).collect(),
    }
}

async fn adds_accumulate_named_numbers(s: Store) {
    // Made by the first add, alone and then inside a batch with other writes.
    s.write(vec![add("N#1", "B", &[("a:x|*", 2), ("b", -1)])])
        .await
        .unwrap();
    s.write(vec![
        add("N#1", "B", &[("a:x|*", 3), ("c", 7)]),
        add("N#1", "C", &[("a:x|*", 1)]),
        put(Item::new("N#1", "D", json!({})), Condition::NotExists),
    ])
    .await
    .unwrap();
    let item = s.get("N#1", "B").await.unwrap().expect("made by the add");
    assert_eq!(item.data, json!({"a:x|*": 5, "b": -1, "c": 7}));
    // Read back alike by a query.
    let page = s.query(&Query::table("N#1")).await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.items[0].data, json!({"a:x|*": 5, "b": -1, "c": 7}));
    assert_eq!(page.items[1].data, json!({"a:x|*": 1}));
    // A batch refused on another item's condition adds nothing.
    let err = s
        .write(vec![
            add("N#1", "B", &[("b", 100)]),
            put(Item::new("N#1", "D", json!({})), Condition::NotExists),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(s.get("N#1", "B").await.unwrap().unwrap().data["b"], -1);
    // Concurrent adds to one item are all kept.
    let adds = (0..20).map(|_| {
        let s = s.clone();
        async move { s.write(vec![add("N#2", "B", &[("n", 1)])]).await }
    });
    for r in futures::future::join_all(adds).await {
        r.unwrap();
    }
    assert_eq!(s.get("N#2", "B").await.unwrap().unwrap().data["n"], 20);
    // Empty, repeated or oversized names are refused before anything is written.
    for bad in [
        add("N#3", "B", &[]),
        add("N#3", "B", &[("n", 1), ("n", 2)]),
        add("N#3", "B", &[("", 1)]),
        add("N#3", "B", &[(&"x".repeat(65), 1)]),
    ] {
        let err = s.write(vec![bad]).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    assert_eq!(s.get("N#3", "B").await.unwrap(), None);
}

async fn checks_hold_a_batch_to_an_item_it_does_not_write(s: Store) {
    let check = |sk: &str, condition| WriteOp::Check {
        pk: "K#1".into(),
        sk: sk.into(),
        condition,
    };
    let with =
        |c: WriteOp, sk: &str| vec![c, put(Item::new("K#1", sk, json!({})), Condition::None)];
    assert!(matches!(
        s.write(with(check("A", Condition::Exists), "B")).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        s.get("K#1", "B").await.unwrap(),
        None,
        "nothing of it landed"
    );
    let a = Item::new("K#1", "A", json!({"n": 1}));
    s.write(vec![put(a.clone(), Condition::NotExists)])
        .await
        .unwrap();
    for ok in [Condition::Exists, Condition::Version(1)] {
        s.write(with(check("A", ok), "B")).await.unwrap();
    }
    for refused in [Condition::Version(2), Condition::NotExists] {
        assert!(
            matches!(
                s.write(with(check("A", refused), "C")).await,
                Err(StoreError::ConditionFailed)
            ),
            "{refused:?}"
        );
    }
    assert_eq!(
        s.get("K#1", "A").await.unwrap(),
        Some(a),
        "a check writes nothing"
    );
    assert!(s.get("K#1", "B").await.unwrap().is_some());
    assert_eq!(s.get("K#1", "C").await.unwrap(), None);
    // A check on its own, and an expired item, which does not exist.
    s.write(vec![check("A", Condition::Exists)]).await.unwrap();
    s.write(vec![put(
        Item::new("K#1", "D", json!({})).expiring_at(now() - 10),
        Condition::None,
    )])
    .await
    .unwrap();
    assert!(matches!(
        s.write(vec![check("D", Condition::Exists)]).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(matches!(
        s.write(vec![check("A", Condition::None)]).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Batches written at the same moment stand or fall alone: one refused halfway
/// leaves nothing of itself and takes nothing of the others with it (the embedded
/// store commits calls that queue up together, each in a savepoint of its own).
///
/// On the embedded store only: moto undoes a refused transaction by putting back a
/// copy of the whole table taken before it, so writes that ran beside it vanish
/// there, which DynamoDB does not do.
#[tokio::test]
async fn concurrent_embedded_batches_stand_or_fall_alone() {
    let s = system_tests::embedded_adapters().store;
    // Every third batch's second item is there already, so that batch is refused
    // after its first put was made.
    for n in (0..30).step_by(3) {
        s.write(vec![put(
            Item::new(format!("C#{n}"), "B", json!({"seeded": true})),
            Condition::None,
        )])
        .await
        .unwrap();
    }
    let writes = (0..30).map(|n| {
        let s = s.clone();
        tokio::spawn(async move {
            let pk = format!("C#{n}");
            let batch = vec![
                put(
                    Item::new(pk.clone(), "A", json!({"n": n})),
                    Condition::NotExists,
                ),
                put(Item::new(pk, "B", json!({"n": n})), Condition::NotExists),
            ];
            (n, s.write(batch).await)
        })
    });
    for w in writes.collect::<Vec<_>>() {
        let (n, result) = w.await.unwrap();
        let pk = format!("C#{n}");
        let (a, b) = (
            s.get(&pk, "A").await.unwrap(),
            s.get(&pk, "B").await.unwrap(),
        );
        if n % 3 == 0 {
            assert!(
                matches!(result, Err(StoreError::ConditionFailed)),
                "{n}: {result:?}"
            );
            assert_eq!(a, None, "{n}: the refused batch's first put stayed");
            assert_eq!(b.unwrap().data, json!({"seeded": true}));
        } else {
            result.unwrap();
            assert_eq!(a.unwrap().data, json!({"n": n}));
            assert_eq!(b.unwrap().data, json!({"n": n}));
        }
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::embedded_adapters().store).await; })*
        }
        mod dynamodb {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::aws_adapters().await.store).await; })*
        }
    };
}

contract!(
    create_once,
    optimistic_versions,
    batches_are_all_or_nothing,
    malformed_batches_are_refused,
    table_ranges_order_and_pages,
    index_lists_newest_first,
    expired_items_do_not_exist,
    queries_with_empty_keys_or_reversed_ranges_are_refused,
    data_round_trips,
    many_items_in_one_read_in_the_order_asked,
    counters_stop_at_their_limit_inside_a_batch,
    adds_accumulate_named_numbers,
    checks_hold_a_batch_to_an_item_it_does_not_write,
);

/// A write the embedded store has answered is committed: a reader of the same file
/// sees it at once, even though calls that queued up were committed together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_embedded_write_is_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = system_tests::embedded_adapters_in(dir.path()).store;
    let file = dir.path().join("consulting.sqlite3");
    let writes = (0..40).map(|n| {
        let (s, file) = (s.clone(), file.clone());
        tokio::spawn(async move {
            let pk = format!("D#{n}");
            s.write(vec![put(
                Item::new(pk.clone(), "A", json!({"n": n})),
                Condition::None,
            )])
            .await
            .unwrap();
            let reader = rusqlite::Connection::open_with_flags(
                &file,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            let rows: i64 = reader
                .query_row("SELECT count(*) FROM items WHERE pk = ?1", [&pk], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(rows, 1, "{pk} was answered before it was committed");
        })
    });
    for w in writes.collect::<Vec<_>>() {
        w.await.unwrap();
    }
}

#[test]
fn cursors_refuse_anything_they_did_not_make() {
    for junk in ["", "not base64!", "e30", "AAAA"] {
        assert!(Cursor::decode(junk).is_none(), "{junk:?}");
    }
    let c = Cursor {
        pk: "a".into(),
        sk: "b".into(),
        gsi1sk: Some("c".into()),
    };
    assert_eq!(Cursor::decode(&c.encode()), Some(c));
}
