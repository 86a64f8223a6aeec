//! Sign-in, its rate limit, and the token check on every protected route.

use super::post_inquiry;
use backend_http::routes::{self, Access};
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use system_tests::{json, json_of, spawn_app, Value, ADMIN_PASSWORD, ADMIN_USER, JWT_SECRET};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims() -> Value {
    json!({"sub": "admin:x", "username": "x", "roles": ["admin"], "iss": "cloud-consulting-backend",
           "aud": "cloud-consulting-admin", "iat": now(), "nbf": now() - 10, "exp": now() + 600})
}

fn forge(c: &Value, secret: &str) -> String {
    encode(
        &Header::default(),
        c,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn sign_in_issues_a_token_with_the_contracted_claims() {
    let app = spawn_app().await;
    let (status, v) = json_of(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true);
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    let token = v["token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    for k in [
        "sub", "username", "roles", "iss", "aud", "iat", "nbf", "exp",
    ] {
        assert!(payload.get(k).is_some(), "claim {k} missing in {payload}");
    }
    assert_eq!(payload["roles"], json!(["admin"]));
    assert!(payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap() <= 24 * 3600);
    assert!(!v.to_string().contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn bad_credentials_are_refused_and_repeated_failures_rate_limited() {
    let app = spawn_app().await;
    for body in [
        json!({"username": ADMIN_USER, "password": "wrong"}),
        json!({"username": "nobody", "password": ADMIN_PASSWORD}),
    ] {
        let (status, v) = json_of(app.post_json("/api/v1/auth/login", &body).await).await;
        assert_eq!(
            (status, v["code"].as_str(), v["error"].as_str()),
            (
                401,
                Some("UNAUTHORIZED"),
                Some("Invalid username or password")
            )
        );
    }
    let (status, v) = json_of(
        app.post_json("/api/v1/auth/login", &json!({"username": ""}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(v["details"]["fields"]["password"].is_string());
    for _ in 0..3 {
        app.post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": "wrong"}),
        )
        .await;
    }
    // Five failures: now even the right password waits.
    let resp = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        )
        .await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60);
    let (status, v) = json_of(resp).await;
    assert_eq!((status, v["code"].as_str()), (429, Some("RATE_LIMITED")));
}

#[tokio::test]
async fn no_protected_route_answers_without_a_valid_admin_token() {
    let app = spawn_app().await;
    let id = post_inquiry(&app, &["general"], "hello").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 720);
    let mut early = claims();
    early["nbf"] = json!(now() + 600);
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("someone-else");
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("another-app");
    let mut not_admin = claims();
    not_admin["roles"] = json!(["viewer"]);
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();

    let cases: Vec<(Option<String>, u16)> = vec![
        (None, 401),
        (Some("Bearer".into()), 401),
        (Some("Bearer not.a.jwt".into()), 401),
        (Some(format!("Basic {}", b64(&json!("admin:pw")))), 401),
        (Some(format!("Bearer {}", forge(&expired, JWT_SECRET))), 401),
        (Some(format!("Bearer {}", forge(&early, JWT_SECRET))), 401),
        (
            Some(format!(
                "Bearer {}",
                forge(&claims(), "another-secret-of-at-least-32-bytes!!")
            )),
            401,
        ),
        (Some(format!("Bearer {alg_none}")), 401),
        (Some(format!("Bearer {hs512}")), 401),
        (
            Some(format!("Bearer {}", forge(&wrong_iss, JWT_SECRET))),
            401,
        ),
        (
            Some(format!("Bearer {}", forge(&wrong_aud, JWT_SECRET))),
            401,
        ),
        (
            Some(format!("Bearer {}", forge(&not_admin, JWT_SECRET))),
            403,
        ),
    ];
    let protected: Vec<(reqwest::Method, &str)> = routes::all()
        .into_iter()
        .filter(|r| r.access == Access::Admin)
        .map(|r| (r.method, r.path))
        .collect();
    assert!(protected.len() >= 6, "{protected:?}");
    for (method, path) in &protected {
        let path = path.replace("{id}", &id);
        for (auth, want) in &cases {
            let mut req = app.client.request(method.clone(), app.url(&path));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            if method == reqwest::Method::PUT {
                req = req.json(&json!({"status": "processing"}));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_eq!(status, *want, "{method} {path} with {auth:?}: {body}");
            assert_eq!(body["success"], false);
        }
    }
    // A forged token that is right in every respect is accepted: the refusals above
    // are about the token, not the route.
    let good = format!("Bearer {}", forge(&claims(), JWT_SECRET));
    let resp = app
        .client
        .get(app.url("/api/v1/inquiries"))
        .header("authorization", good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The inquiry was not moved by any refused PUT.
    let token = app.token().await;
    let (_, v) = app
        .admin_json(&format!("/api/v1/inquiries/{id}"), &token)
        .await;
    assert_eq!(v["data"]["status"], "pending");
}
