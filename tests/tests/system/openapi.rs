//! The OpenAPI document lists exactly the routes the routers register, and each
//! documented operation is really served.

use backend_http::routes::{self, Access};
use std::collections::BTreeSet;
use system_tests::{inquiry_body, json_of, spawn_app, Value};

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The served document is checked in (`shared/http/openapi.json`); it must be the one
/// the route table builds. `UPDATE_OPENAPI=1` rewrites it after a route change.
#[test]
fn the_checked_in_document_is_the_one_the_route_table_builds() {
    let built = backend_http::openapi::document(&routes::all());
    let served: Value = serde_json::from_str(backend_http::openapi::DOCUMENT)
        .expect("shared/http/openapi.json is JSON");
    if served != built {
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            let path = system_tests::workspace_root().join("shared/http/openapi.json");
            let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
        panic!(
            "shared/http/openapi.json differs from the route table's document; \
             run `UPDATE_OPENAPI=1 cargo test -p system-tests --test system openapi::` and commit it"
        );
    }
}

#[tokio::test]
async fn the_document_matches_the_registered_routes() {
    let app = spawn_app().await;
    let (status, doc) = json_of(app.get("/api/v1/openapi.json").await).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect();
    let registered: BTreeSet<(String, String)> = routes::all()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, registered);

    // Admin operations say so, public ones do not.
    for r in routes::all() {
        let op = &doc["paths"][r.path][r.method.as_str().to_lowercase()];
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            secured,
            r.access == Access::Admin,
            "{} {}",
            r.method,
            r.path
        );
        assert!(!op["summary"].as_str().unwrap().is_empty());
    }

    // Every $ref resolves inside the document.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("local schema ref");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling {r}"
        );
    }
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (_, created) = json_of(app.post_json("/api/v1/inquiries", &inquiry_body()).await).await;
    let id = created["data"]["id"].as_str().unwrap();
    let (_, doc) = json_of(app.get("/api/v1/openapi.json").await).await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", id));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = app.client.request(m, &url).bearer_auth(&token);
            if ops[method].get("requestBody").is_some() {
                req = req.json(&serde_json::json!({}));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert_ne!(status, 405, "{method} {path}: {text}");
            assert!(
                !text.contains("No such route"),
                "{method} {path} is documented but not routed"
            );
        }
    }
}
