//! What a use case can fail with, in terms a caller can act on, and the one
//! vocabulary of codes a client sees for a refusal: the HTTP envelope's `code` and a
//! chat socket's `error` frame both come from [`ErrorCode`], so the two cannot drift.

use super::auth::AuthError;
use crate::domain::{FieldErrors, InquiryStatus};
use crate::ports::{QueueError, StoreError};
use serde::Serialize;

/// Every code a client can be refused with (API.md's error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidTimeRange,
    NotFound,
    MethodNotAllowed,
    Conflict,
    InvalidTransition,
    Unauthorized,
    Forbidden,
    RateLimited,
    Unavailable,
    InternalError,
    InvalidFrame,
    FrameTooLarge,
    UpgradeRequired,
    /// A request that took longer than the server waits (its body never ended).
    RequestTimeout,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        Self::ValidationError,
        Self::InvalidJson,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::InvalidTimeRange,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::InvalidTransition,
        Self::Unauthorized,
        Self::Forbidden,
        Self::RateLimited,
        Self::Unavailable,
        Self::InternalError,
        Self::InvalidFrame,
        Self::FrameTooLarge,
        Self::UpgradeRequired,
        Self::RequestTimeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::InvalidJson => "INVALID_JSON",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::InvalidTimeRange => "INVALID_TIME_RANGE",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::InternalError => "INTERNAL_ERROR",
            Self::InvalidFrame => "INVALID_FRAME",
            Self::FrameTooLarge => "FRAME_TOO_LARGE",
            Self::UpgradeRequired => "UPGRADE_REQUIRED",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a lookup did not find, so a refusal can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Inquiry,
    Report,
    ChatSession,
    Hook,
}

impl Missing {
    /// As a sentence starts with it: "Inquiry not found".
    pub fn noun(self) -> &'static str {
        match self {
            Self::Inquiry => "Inquiry",
            Self::Report => "Report",
            Self::ChatSession => "Chat session",
            Self::Hook => "Hook",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{} not found", .0.noun())]
    NotFound(Missing),
    #[error("{0}")]
    Conflict(String),
    #[error("cannot move an inquiry from {from} to {to}")]
    InvalidTransition {
        from: InquiryStatus,
        to: InquiryStatus,
    },
    /// Sign-in or a token refused.
    #[error("{0}")]
    Auth(AuthError),
    /// Over a limit (a paid model call per admin, say); worth retrying after a while.
    #[error("{reason}; retry in {retry_after} s")]
    RateLimited { retry_after: u64, reason: String },
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
}

impl AppError {
    /// The code a client sees for this refusal, in the HTTP envelope and in a chat
    /// socket's error frame alike.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Validation(_) => ErrorCode::ValidationError,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            AppError::Auth(AuthError::BadCredentials | AuthError::Unauthorized) => {
                ErrorCode::Unauthorized
            }
            AppError::Auth(AuthError::Forbidden) => ErrorCode::Forbidden,
            AppError::Auth(AuthError::RateLimited { .. }) | AppError::RateLimited { .. } => {
                ErrorCode::RateLimited
            }
            AppError::Unavailable(_) => ErrorCode::Unavailable,
        }
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        AppError::Auth(e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed => {
                AppError::Conflict("the item changed concurrently".into())
            }
            other => AppError::Unavailable(other.to_string()),
        }
    }
}

impl From<QueueError> for AppError {
    fn from(e: QueueError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_api_md_spells_them() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert!(code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_'));
        }
    }
}
