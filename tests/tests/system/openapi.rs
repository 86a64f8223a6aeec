//! The OpenAPI document lists exactly the routes the routers register, and each
//! documented operation is really served.

use backend_http::routes::{self, Access};
use std::collections::BTreeSet;
use system_tests::{inquiry_body, json, json_of, spawn_app, Value};

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

/// The document states what the server does: a type, a list or a pattern for every
/// parameter, the media type of every success that is not JSON, the statuses the
/// routes answer beyond the common ones, and the body rules the validators apply.
#[test]
fn the_document_states_parameter_types_media_types_statuses_and_body_rules() {
    let doc = backend_http::openapi::document(&routes::all());
    let op = |method: &str, path: &str| doc["paths"][path][method].clone();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().unwrap() {
                let text = p["schema"].to_string();
                let typed = ["enum", "integer", "pattern", "format", "minLength"]
                    .iter()
                    .any(|k| text.contains(k));
                assert!(
                    typed || p["in"] == "path",
                    "{method} {path}: {} is a bare string",
                    p["name"]
                );
            }
        }
    }
    let media = |method: &str, path: &str| -> BTreeSet<String> {
        op(method, path)["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        media("get", "/api/v1/inquiries/{id}/report/html"),
        set(&["text/html"])
    );
    assert_eq!(
        media("get", "/api/v1/inquiries/{id}/report/pdf"),
        set(&["application/pdf"])
    );
    assert_eq!(
        media("get", "/api/v1/inquiries/{id}/report/download"),
        set(&["application/pdf", "text/html"])
    );
    assert_eq!(media("get", "/api/v1/hooks"), set(&["application/json"]));
    for (method, path, status) in [
        ("post", "/api/v1/auth/login", "401"),
        ("post", "/api/v1/inquiries", "409"),
        (
            "get",
            "/api/v1/admin/reports/download/{inquiry_id}/{format}",
            "400",
        ),
    ] {
        assert!(
            op(method, path)["responses"].get(status).is_some(),
            "{method} {path} does not list {status}"
        );
    }
    let limit = op("get", "/api/v1/inquiries")["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()["schema"]["anyOf"][0]
        .clone();
    assert_eq!(
        limit,
        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20})
    );
    let name = &doc["components"]["schemas"]["NewInquiry"]["properties"]["name"];
    assert_eq!(
        name["allOf"][0]["pattern"],
        backend_core::domain::inquiry::clean_pattern(false),
        "{name}"
    );
}
