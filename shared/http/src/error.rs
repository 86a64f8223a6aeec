//! The error envelope of API.md: `{"success": false, "error", "code", "details"?}`.
//! Internal errors are logged in full and answered without internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use backend_core::app::AppError;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn validation(fields: &backend_core::domain::FieldErrors) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "The request has invalid fields",
        )
        .with_details(json!({ "fields": fields }))
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} not found"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "An internal error occurred",
        )
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let code = e.code();
        match e {
            AppError::Validation(fields) => Self::validation(&fields),
            AppError::NotFound => Self::not_found("Resource"),
            AppError::Conflict(msg) => Self::new(StatusCode::CONFLICT, code, msg),
            AppError::InvalidTransition { from, to } => Self::new(
                StatusCode::CONFLICT,
                code,
                format!("An inquiry cannot move from {from} to {to}"),
            )
            .with_details(json!({
                "from": from,
                "to": to,
                "allowed": from.allowed_next(),
            })),
            AppError::Unavailable(detail) => {
                tracing::error!(error = %detail, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "The service is temporarily unavailable; please retry",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"success": false, "error": self.message, "code": self.code});
        if let Some(d) = self.details {
            body["details"] = d;
        }
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "No such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method not allowed on this route",
    )
}

pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "handler panicked");
    ApiError::internal().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend_core::app::chat_socket::app_refusal;
    use backend_core::app::AppError;
    use backend_core::domain::InquiryStatus;

    #[test]
    fn a_refusal_carries_the_code_the_http_envelope_gives() {
        let cases = || {
            vec![
                AppError::Validation([("content".to_string(), "is empty".to_string())].into()),
                AppError::NotFound,
                AppError::Conflict("taken".into()),
                AppError::InvalidTransition {
                    from: InquiryStatus::Closed,
                    to: InquiryStatus::Pending,
                },
                AppError::Unavailable("store down".into()),
            ]
        };
        for (socket, http) in cases().iter().zip(cases()) {
            assert_eq!(app_refusal(socket).code, ApiError::from(http).code);
        }
    }
}
