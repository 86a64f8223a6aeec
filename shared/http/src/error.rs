//! The error envelope of API.md: `{"success": false, "error", "code", "details"?}`.
//! Internal errors are logged in full and answered without internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use backend_core::app::auth::AuthError;
use backend_core::app::ErrorCode;
use backend_core::app::{AppError, Missing};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
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
            ErrorCode::ValidationError,
            "The request has invalid fields",
        )
        .with_details(json!({ "fields": fields }))
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 503: what the route needs is not configured in this process.
    pub fn unconfigured(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            format!("{what} not configured here"),
        )
    }

    pub fn not_found(what: Missing) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("{} not found", what.noun()),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "An internal error occurred",
        )
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let code = e.code();
        let e_text = e.to_string();
        match e {
            AppError::Validation(fields) => Self::validation(&fields),
            AppError::NotFound(what) => Self::not_found(what),
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
            AppError::Auth(refused) => {
                let status = match refused {
                    AuthError::BadCredentials | AuthError::Unauthorized => StatusCode::UNAUTHORIZED,
                    AuthError::Forbidden => StatusCode::FORBIDDEN,
                    AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                };
                let mut err = Self::new(status, code, refused.to_string());
                if let AuthError::RateLimited { retry_after } = refused {
                    err.retry_after = Some(retry_after);
                }
                err
            }
            AppError::RateLimited { retry_after, .. } => {
                let mut err = Self::new(StatusCode::TOO_MANY_REQUESTS, code, e_text);
                err.retry_after = Some(retry_after);
                err
            }
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
        let mut body = json!({"success": false, "error": self.message, "code": self.code.as_str()});
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
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "No such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
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
    use backend_core::app::auth::AuthError;
    use backend_core::app::chat_socket::app_refusal;
    use backend_core::app::{AppError, Missing};
    use backend_core::domain::InquiryStatus;

    #[test]
    fn a_refusal_carries_the_code_the_http_envelope_gives() {
        let cases = || {
            vec![
                AppError::Validation([("content".to_string(), "is empty".to_string())].into()),
                AppError::NotFound(Missing::ChatSession),
                AppError::Conflict("taken".into()),
                AppError::InvalidTransition {
                    from: InquiryStatus::Closed,
                    to: InquiryStatus::Pending,
                },
                AppError::Auth(AuthError::Forbidden),
                AppError::Unavailable("store down".into()),
            ]
        };
        for (socket, http) in cases().iter().zip(cases()) {
            assert_eq!(app_refusal(socket).code, ApiError::from(http).code);
        }
    }
}
