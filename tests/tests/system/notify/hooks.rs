//! Hooks: signed webhook calls to the hooks an event matches, once each; outbound
//! addresses guarded against SSRF; the hooks listed without secrets and run on
//! demand; hooks kept in the item store.

use super::{created_event, hooks_from, notifier, SECRET};
use backend_core::app::notify::Notifier;
use backend_core::app::Deps;
use backend_core::ports::SystemClock;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use system_tests::receiver::receiver;
use system_tests::{inquiry_body, json, json_of, spawn_app, Value};

#[tokio::test]
async fn matching_hooks_get_a_signed_call_once_and_others_none() {
    let adapters = system_tests::embedded_adapters();
    let (rx, url) = receiver(1).await; // the first call fails: retried in-process
    let (other, other_url) = receiver(0).await;
    let mut cfg = system_tests::notify_config(None);
    cfg.hooks = hooks_from(json!([
        {"id": "crm", "name": "CRM", "event": "inquiry_created", "filter": {"services": ["migration"]},
         "action": {"type": "webhook", "url": url, "secret": SECRET}},
        {"id": "general-only", "name": "Other", "event": "inquiry_created", "filter": {"services": ["general"]},
         "action": {"type": "webhook", "url": other_url, "secret": SECRET}},
        {"id": "off", "name": "Off", "event": "inquiry_created", "enabled": false,
         "action": {"type": "webhook", "url": other_url, "secret": SECRET}}
    ]));
    let (n, _) = notifier(&adapters, cfg);
    let body = created_event(&adapters).await;
    n.handle(&body).await.unwrap();
    n.handle(&body).await.unwrap();
    assert_eq!(rx.raw.lock().unwrap().len(), 1, "delivered once");
    assert_eq!(rx.calls.load(Ordering::SeqCst), 2, "after one retry");
    assert_eq!(
        other.calls.load(Ordering::SeqCst),
        0,
        "filtered out or disabled hooks are not called"
    );

    let raw = rx.raw.lock().unwrap()[0].clone();
    let headers = rx.headers.lock().unwrap()[0].clone();
    let sig = headers
        .iter()
        .find(|(k, _)| k == "x-signature")
        .map(|(_, v)| v.clone())
        .expect("signature header");
    let (t, v1) = sig.split_once(',').unwrap();
    let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    // Recomputed here from the raw body, as a receiver would.
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{raw}").as_bytes());
    mac.verify_slice(&hex::decode(v1.strip_prefix("v1=").unwrap()).unwrap())
        .expect("a valid HMAC-SHA256 signature");
    assert!((time::OffsetDateTime::now_utc().unix_timestamp() - t).abs() < 60);
    let payload: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(payload["type"], "inquiry_created");
    assert_eq!(payload["hook_id"], "crm");
    assert!(payload["inquiry"]["id"]
        .as_str()
        .unwrap()
        .starts_with("inq_"));
}

#[tokio::test]
async fn outbound_urls_are_guarded_against_ssrf() {
    use backend_net::outbound::vet;
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://192.168.1.10/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost/x",
        "https://user:pass@127.0.0.1/x",
        "ftp://example.com/x",
        "not a url",
    ] {
        let err = vet(url, false).await.unwrap_err();
        assert!(
            matches!(
                err,
                backend_core::ports::outbound::OutboundError::Permanent(_)
            ),
            "{url}: {err:?}"
        );
    }
    // A hook aimed at a loopback receiver is refused outside the dev server, and the
    // refusal is recorded as a permanent failure, not retried.
    let adapters = system_tests::embedded_adapters();
    let (rx, url) = receiver(0).await;
    let mut cfg = system_tests::notify_config(None);
    cfg.hooks = hooks_from(
        json!([{"id": "local", "name": "Local", "event": "inquiry_created", "action": {"type": "webhook", "url": url, "secret": SECRET}}]),
    );
    let deps = Deps::new(adapters.clone(), Arc::new(SystemClock));
    let n = Notifier::new(
        deps,
        Arc::new(system_tests::RecordingMailer::default()),
        Arc::new(backend_net::outbound::ReqwestOutbound::new()),
        cfg,
    );
    let body = created_event(&adapters).await;
    n.handle(&body).await.unwrap();
    assert_eq!(rx.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn hooks_are_listed_without_secrets_and_run_on_demand() {
    let (rx, url) = receiver(0).await;
    let configured = hooks_from(json!([
        {"id": "crm", "name": "CRM", "event": "status_changed", "action": {"type": "webhook", "url": url, "secret": SECRET}},
        {"id": "team", "name": "Team", "event": "inquiry_created", "action": {"type": "slack", "url": "https://hooks.slack.com/services/T/B/secret-part"}}
    ]));
    let app = system_tests::spawn_app_with(|c| c.notify.hooks = configured).await;
    let token = app.token().await;
    let (s, v) = app.admin_json("/api/v1/hooks", &token).await;
    assert_eq!(s, 200);
    let text = v.to_string();
    assert!(
        !text.contains(SECRET) && !text.contains("secret-part"),
        "no secret in {text}"
    );
    assert_eq!(
        v["data"][0]["action"],
        json!({"type": "webhook", "url": url, "signed": true})
    );
    assert_eq!(v["data"][1]["action"], json!({"type": "slack"}));

    let (_, created) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    let id = created["data"]["id"].as_str().unwrap();
    let trigger = |body: Value| {
        app.client
            .post(app.url("/api/v1/hooks/trigger"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let (s, v) = json_of(
        trigger(json!({"hook_id": "crm", "inquiry_id": id}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert!(v["data"]["dispatch_id"]
        .as_str()
        .unwrap()
        .starts_with("evt_"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx.raw.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the triggered hook was not called"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rx.bodies.lock().unwrap()[0]["hook_id"], "crm");

    for (body, field) in [
        (json!({"hook_id": "nope", "inquiry_id": id}), "hook_id"),
        (json!({"event": "teleported", "inquiry_id": id}), "event"),
        (json!({"hook_id": "crm", "inquiry_id": "x"}), "inquiry_id"),
        (json!({"inquiry_id": id}), "hook_id"),
    ] {
        let (s, v) = json_of(trigger(body).await.unwrap()).await;
        assert_eq!(s, 400, "{v}");
        assert!(v["details"]["fields"][field].is_string(), "{v}");
    }
    let (s, _) = json_of(
        trigger(json!({"hook_id": "crm", "inquiry_id": "inq_01aaaaaaaaaaaaaaaaaaaaaaaa"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn hooks_stored_in_the_item_store_are_listed_and_fire() {
    let (rx, url) = receiver(0).await;
    let app = spawn_app().await;
    let token = app.token().await;
    let adapters = system_tests::embedded_adapters_in(&app.data_dir);
    let registry =
        backend_core::app::hook_registry::HookRegistry::new(vec![], adapters.store.clone());
    let bad = registry.save(&json!({"id": "bad id!", "name": "x", "event": "inquiry_created", "action": {"type": "slack", "url": "https://x"}})).await;
    assert!(
        bad.is_err(),
        "stored hooks are validated as configured ones are"
    );
    registry
        .save(
            &json!({"id": "stored", "name": "Stored", "event": "inquiry_created",
                      "action": {"type": "webhook", "url": url, "secret": SECRET}}),
        )
        .await
        .unwrap();
    let (_, v) = app.admin_json("/api/v1/hooks", &token).await;
    assert_eq!(v["data"][0]["id"], "stored");
    assert!(!v.to_string().contains(SECRET));
    app.post_json("/api/v1/inquiries", &inquiry_body()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx.raw.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the stored hook did not fire");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.raw.lock().unwrap().len(), 1);
}
