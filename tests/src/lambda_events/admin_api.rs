//! The `events/admin-api` files: what each must make admin-api do.

use super::*;

/// Every admin-api event and the status it must answer (`{{ADMIN_TOKEN}}` in a
/// file is replaced by a token from `login.json`).
pub const ADMIN_API: &[(&str, u16, Option<&str>)] = &[
    ("login.json", 200, None),
    ("login-wrong-password.json", 401, Some("UNAUTHORIZED")),
    ("list-inquiries.json", 200, None),
    (
        "list-inquiries-repeated-filter.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
    ("list-inquiries-no-token.json", 401, Some("UNAUTHORIZED")),
    (
        "list-inquiries-expired-token.json",
        401,
        Some("UNAUTHORIZED"),
    ),
    ("get-inquiry-unknown.json", 404, Some("NOT_FOUND")),
    (
        "change-status-invalid-body.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
    ("admin-inquiries.json", 200, None),
    ("admin-metrics.json", 200, None),
    (
        "admin-metrics-bad-range.json",
        400,
        Some("INVALID_TIME_RANGE"),
    ),
    ("prometheus-metrics.json", 200, None),
    ("chat-ask.json", 200, None),
    ("chat-messages.json", 200, None),
    ("chat-sessions.json", 200, None),
    (
        "chat-session-create-invalid.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
    ("chat-health.json", 200, None),
    ("export-inquiry-unknown.json", 404, Some("NOT_FOUND")),
    ("erase-inquiry-unknown.json", 404, Some("NOT_FOUND")),
    ("export-address-none-filed.json", 200, None),
    ("erase-address-invalid.json", 400, Some("VALIDATION_ERROR")),
    (
        "erase-inquiry-no-reason.json",
        400,
        Some("VALIDATION_ERROR"),
    ),
];

/// Sign-in configured as in AWS: from a secret the environment names.
pub struct AdminApi {
    pub res: AwsResources,
    secret_env: Vec<(&'static str, String)>,
}

impl AdminApi {
    pub async fn new() -> Self {
        Self {
            res: aws_resources().await,
            secret_env: auth_secret_env().await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = aws_env(&self.res);
        env.extend(self.secret_env.clone());
        env
    }

    /// Signs in with `login.json`, then every event answers as `ADMIN_API` says.
    /// Returns the token, for the caller's checks that none is logged.
    pub async fn check(&self, f: &dyn Invoke) -> String {
        assert_table_matches("admin-api", ADMIN_API.iter().map(|c| c.0));
        let login = f.invoke(&event("admin-api/login.json")).await;
        let login_body: Value =
            serde_json::from_str(login["body"].as_str().unwrap_or("null")).unwrap();
        let token = login_body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{login}\n{}", f.log()))
            .to_string();

        for (file, want, code) in ADMIN_API {
            let out = f
                .invoke(&event_with_token(&format!("admin-api/{file}"), &token))
                .await;
            let status = out["statusCode"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: {out}\n{}", f.log()));
            let text = out["body"].as_str().unwrap_or_default();
            assert_eq!(status, u64::from(*want), "{file}: {text}\n{}", f.log());
            if let Some(code) = code {
                let body: Value = serde_json::from_str(text).unwrap();
                assert_eq!(body["code"], *code, "{file}");
            }
            if *file == "list-inquiries-repeated-filter.json" {
                let body: Value = serde_json::from_str(text).unwrap();
                assert_eq!(
                    body["details"]["fields"]["status"], "is given more than once",
                    "{text}"
                );
            }
            if *file == "prometheus-metrics.json" {
                assert!(text.contains("http_requests_total"), "{text}");
            }
            if *file == "chat-messages.json" {
                let body: Value = serde_json::from_str(text).unwrap();
                let roles = crate::roles(&body);
                assert_eq!(roles, ["user", "assistant"], "chat-ask.json's turn: {text}");
            }
        }
        token
    }
}
