//! The `events/public-api` files: what each must make public-api do.

use super::*;

/// Every public-api event and the status it must answer, with the error code if it
/// is an error.
pub const PUBLIC_API: &[(&str, u16, Option<&str>)] = &[
    ("health.json", 200, None),
    ("services.json", 200, None),
    ("openapi.json", 200, None),
    ("create-inquiry.json", 201, None),
    ("create-inquiry-invalid.json", 400, Some("VALIDATION_ERROR")),
    (
        "create-inquiry-malformed-json.json",
        400,
        Some("INVALID_JSON"),
    ),
    (
        "create-inquiry-wrong-content-type.json",
        415,
        Some("UNSUPPORTED_MEDIA_TYPE"),
    ),
    (
        "create-inquiry-too-large.json",
        413,
        Some("PAYLOAD_TOO_LARGE"),
    ),
    ("unknown-route.json", 404, Some("NOT_FOUND")),
];

pub struct PublicApi {
    pub res: AwsResources,
}

impl PublicApi {
    pub async fn new() -> Self {
        Self {
            res: aws_resources().await,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        aws_env(&self.res)
    }

    /// Every event answers as `PUBLIC_API` says; the created inquiry is really in
    /// DynamoDB and its event in SQS.
    pub async fn check(&self, f: &dyn Invoke) {
        assert_table_matches("public-api", PUBLIC_API.iter().map(|c| c.0));
        let mut created = None;
        for (file, want, code) in PUBLIC_API {
            let out = f.invoke(&event(&format!("public-api/{file}"))).await;
            let status = out["statusCode"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: no statusCode in {out}\n{}", f.log()));
            let body: Value =
                serde_json::from_str(out["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
            assert_eq!(status, u64::from(*want), "{file}: {body}\n{}", f.log());
            if let Some(code) = code {
                assert_eq!(body["code"], *code, "{file}");
                assert_eq!(body["success"], false);
            }
            if *file == "create-inquiry.json" {
                assert_eq!(out["headers"]["x-correlation-id"], "sam-local-corr-1");
                created = Some(body["data"]["id"].as_str().unwrap().to_string());
            }
            if *file == "health.json" {
                assert_eq!(body["checks"], json!({"store": "ok", "queue": "ok"}));
            }
        }

        // The inquiry is really in DynamoDB and its event in SQS.
        let adapters = backend_aws::connect_polling(&sdk_config().await, &self.res);
        let id = created.unwrap();
        let item = adapters
            .store
            .get(&format!("INQ#{id}"), "INQUIRY")
            .await
            .unwrap()
            .expect("stored in DynamoDB");
        assert_eq!(item.data["email"], "jane@example.com");
        // Through the table's stream, as the relay function sends it.
        let msgs = queued(&adapters, QueueName::Events).await;
        assert!(
            msgs.iter().any(|m| m.body.contains(&id)),
            "event queued in SQS"
        );
    }
}
