//! The admin API, black-box: sign-in and the token check on every protected route,
//! inquiry management, and the figures, one module each.

mod figures;
mod inquiries;
mod sign_in;

use system_tests::{inquiry_body, json, json_of, TestApp, Value};

/// Posts an inquiry through the public route and returns its `data`.
async fn post_inquiry(app: &TestApp, services: &[&str], message: &str) -> Value {
    let mut b = inquiry_body();
    b["services"] = json!(services);
    b["message"] = json!(message);
    let (status, v) = json_of(app.post_json("/api/v1/inquiries", &b).await).await;
    assert_eq!(status, 201, "{v}");
    v["data"].clone()
}
