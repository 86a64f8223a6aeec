//! One address's inquiries exported and erased together, and the background pass's
//! one-off backfill that files older inquiries under their address and links older
//! chat sessions to the inquiry they name.

use super::{app_and_its_store, erase, session_about};
use std::time::{Duration, Instant};
use system_tests::{json, json_of, Value};

/// One address's inquiries are exported and erased together, whatever case the
/// address was typed in, and another address's stay. An inquiry stored before the
/// address index is filed by the background pass's backfill.
#[tokio::test]
async fn an_addresss_inquiries_are_exported_and_erased_together() {
    use backend_core::app::records;
    use backend_core::domain::{Email, InquiryId};
    use backend_core::ports::{Condition, WriteOp};
    let (adapters, app) = app_and_its_store().await;
    let token = app.token().await;
    let p = system_tests::prospect();
    let address = p["email"].as_str().unwrap().to_string();
    let mut shouted = p.clone();
    shouted["email"] = json!(address.to_uppercase());
    let mut ids = Vec::new();
    for body in [&p, &shouted, &system_tests::prospect()] {
        let (status, v) = json_of(app.post_json("/api/v1/inquiries", body).await).await;
        assert_eq!(status, 201, "{v}");
        ids.push(v["data"]["id"].as_str().unwrap().to_string());
    }
    // The second as if stored before the index, and the backfill to run again.
    let unfiled = records::email_entry(
        &Email::parse(&address.to_uppercase()).unwrap(),
        &InquiryId::parse(&ids[1]).unwrap(),
    );
    let state = (records::EMAIL_BACKFILL_PK, records::EMAIL_BACKFILL_SK);
    adapters
        .store
        .write(vec![
            WriteOp::Delete {
                pk: unfiled.pk,
                sk: unfiled.sk,
                condition: Condition::None,
            },
            WriteOp::Delete {
                pk: state.0.into(),
                sk: state.1.into(),
                condition: Condition::None,
            },
        ])
        .await
        .unwrap();
    let post = |path: &'static str, body: Value| {
        let (app, token) = (&app, &token);
        async move { app.admin_post_json(path, token, &body).await }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let exported = loop {
        let (status, v) = post("/api/v1/admin/exports", json!({"email": address})).await;
        assert_eq!(status, 200, "{v}");
        if v["count"] == 2 {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the backfill files the older inquiry: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(exported["more"], false);
    let mut found: Vec<&str> = exported["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["inquiry"]["id"].as_str().unwrap())
        .collect();
    found.sort();
    let mut want = vec![ids[0].as_str(), ids[1].as_str()];
    want.sort();
    assert_eq!(found, want);
    // Pages go on after the last inquiry of the one before.
    let (_, rest) = post(
        "/api/v1/admin/exports",
        json!({"email": address, "after": want[0]}),
    )
    .await;
    assert_eq!(rest["count"], 1, "{rest}");
    assert_eq!(rest["data"][0]["inquiry"]["id"], want[1]);

    let reason = "The prospect asked to be forgotten.";
    let (status, erased) = post(
        "/api/v1/admin/erasures",
        json!({"email": address.to_uppercase(), "reason": reason}),
    )
    .await;
    assert_eq!((status, &erased["count"]), (200, &json!(2)), "{erased}");
    for (id, want) in [(&ids[0], 404), (&ids[1], 404), (&ids[2], 200)] {
        let (status, _) = app
            .admin_json(&format!("/api/v1/inquiries/{id}"), &token)
            .await;
        assert_eq!(status, want, "{id}");
    }
    let (_, again) = post("/api/v1/admin/exports", json!({"email": address})).await;
    assert_eq!(again["count"], 0, "{again}");

    for (path, body, field) in [
        (
            "/api/v1/admin/exports",
            json!({"email": "not an address"}),
            "email",
        ),
        (
            "/api/v1/admin/erasures",
            json!({"email": address}),
            "reason",
        ),
        ("/api/v1/admin/erasures", json!({"reason": reason}), "email"),
    ] {
        let (status, v) = post(path, body).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("VALIDATION_ERROR")),
            "{v}"
        );
        assert!(v["details"]["fields"][field].is_string(), "{path}: {v}");
    }
}

/// A chat session stored before links existed (here: its link removed) is linked to
/// the inquiry it names by the background pass's backfill, and then erased with it.
#[tokio::test]
async fn a_chat_session_stored_before_links_is_linked_and_erased_with_its_inquiry() {
    use backend_core::app::records;
    use backend_core::ports::{Condition, WriteOp};
    let (adapters, app) = app_and_its_store().await;
    let token = app.token().await;
    let (status, v) = json_of(
        app.post_json("/api/v1/inquiries", &system_tests::prospect())
            .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let id = v["data"]["id"].as_str().unwrap().to_string();
    let sid = session_about(&app, &token, &id).await;
    let sid = sid.as_str();
    let inquiry = backend_core::domain::InquiryId::parse(&id).unwrap();
    let link = records::link(
        &inquiry,
        records::LinkKind::ChatSession,
        &records::chat_session_pk(&backend_core::domain::chat::SessionId::parse(sid).unwrap()),
        None,
    );
    let state = (records::EMAIL_BACKFILL_PK, records::EMAIL_BACKFILL_SK);
    let delete = |pk: &str, sk: &str| WriteOp::Delete {
        pk: pk.into(),
        sk: sk.into(),
        condition: Condition::None,
    };
    adapters
        .store
        .write(vec![delete(&link.pk, &link.sk), delete(state.0, state.1)])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while adapters
        .store
        .get(&link.pk, &link.sk)
        .await
        .unwrap()
        .is_none()
    {
        assert!(Instant::now() < deadline, "the backfill links the session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, erased) = erase(&app, &token, &id, "asked to be forgotten").await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["data"]["removed"]["chat_sessions"], 1, "{erased}");
    let (status, _) = app
        .admin_json(&format!("/api/v1/admin/chat/sessions/{sid}"), &token)
        .await;
    assert_eq!(status, 404);
}
