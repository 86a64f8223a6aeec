//! The JSON body extractor every write route uses: content type (415), size (413)
//! and syntax (400 `INVALID_JSON`) are checked here once, with answers in the
//! envelope, before a handler sees a `serde_json::Value`.
//!
//! API.md: unknown fields, and fields the server owns, are ignored, never rejected
//! (the dashboard sends some of them). Every handler reads the fields it knows by
//! name, so unknown ones fall away there; the fields the server owns on every
//! object ([`SERVER_OWNED`]) are dropped here, once for every route, so no handler
//! can take one from a client. A field the server owns on one occasion only (a chat
//! session's `status` on creation) is ignored by that occasion's parser.

use super::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use backend_core::app::ErrorCode;
use http_body_util::BodyExt;
use serde_json::Value;

/// The largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

pub struct JsonBody(pub Value);

/// Fields of a request body that only the server sets, on every object.
pub const SERVER_OWNED: [&str; 6] = [
    "id",
    "user_id",
    "created_at",
    "updated_at",
    "last_activity",
    "expires_at",
];

/// The body without the fields the server owns.
fn without_server_owned(mut body: Value) -> Value {
    if let Some(obj) = body.as_object_mut() {
        for field in SERVER_OWNED {
            obj.remove(field);
        }
    }
    body
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!("The request body must be at most {} KiB", MAX_BODY / 1024),
    )
}

fn is_json(ct: &str) -> bool {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !ct.is_some_and(is_json) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Content-Type must be application/json",
            ));
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY);
        let bytes = match limited.collect().await {
            Ok(c) => c.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return Err(too_large())
            }
            Err(_) => {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidJson,
                    "The request body could not be read",
                ))
            }
        };
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(ErrorCode::InvalidJson, "The request body is not valid JSON")
                .with_details(serde_json::json!({"line": e.line(), "column": e.column()}))
        })?;
        Ok(JsonBody(without_server_owned(body)))
    }
}

#[cfg(test)]
mod tests {
    use super::{is_json, without_server_owned};
    use serde_json::json;

    #[test]
    fn the_fields_the_server_owns_are_dropped_and_the_rest_kept() {
        let body = json!({"id": "x", "user_id": "u", "created_at": "t", "client_name": "Acme", "status": "active"});
        assert_eq!(
            without_server_owned(body),
            json!({"client_name": "Acme", "status": "active"})
        );
        assert_eq!(without_server_owned(json!([1])), json!([1]));
    }

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "",
            "json",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
