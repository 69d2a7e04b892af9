//! The one place where failures become HTTP answers. Every error is the envelope
//! `{ok: false, message, result: null}` with a precise status; none carries SQL, a stack trace
//! or a secret.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::Invalid;
use domain::ledger::LedgerError;
use store::StoreError;
use stripe::TopUpError;

use crate::envelope::{Null, envelope};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A business rule refused the request (eDRV answers these with 405).
    pub fn refused(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "The service is temporarily unavailable; try again")
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}

fn capitalized(what: &str) -> String {
    let mut chars = what.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, format!("{} not found", capitalized(what))),
            StoreError::Conflict(message) => ApiError::conflict(message),
            StoreError::Refused(message) => ApiError::refused(message),
            StoreError::Ledger(LedgerError::InsufficientFunds) => ApiError::refused("Insufficient available balance"),
            StoreError::Ledger(LedgerError::Overflow) => ApiError::refused("The wallet balance would exceed its maximum"),
            StoreError::Ledger(LedgerError::CaptureExceedsHold) => ApiError::conflict("A capture cannot exceed what was held"),
            StoreError::Corrupt(_) | StoreError::Config(_) | StoreError::Database(_) | StoreError::Sqlite(_) => {
                tracing::error!(error = %e, "storage failed");
                ApiError::unavailable()
            }
        }
    }
}

impl From<TopUpError> for ApiError {
    fn from(e: TopUpError) -> ApiError {
        let message = e.to_string();
        match e {
            TopUpError::Invalid(invalid) => invalid.into(),
            TopUpError::Store(store) => store.into(),
            TopUpError::Refused(_) | TopUpError::Currency(..) | TopUpError::KeyRefused => ApiError::refused(message),
            TopUpError::Declined(_) => ApiError::new(StatusCode::PAYMENT_REQUIRED, message),
            TopUpError::StripeRefused(_) | TopUpError::Signature(_) => ApiError::bad_request(message),
            TopUpError::KeyReused => ApiError::conflict(message),
            TopUpError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message),
            TopUpError::Unreachable => ApiError::new(StatusCode::BAD_GATEWAY, message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        envelope(self.status, false, &self.message, Null)
    }
}

pub type ApiResult = Result<Response, ApiError>;
