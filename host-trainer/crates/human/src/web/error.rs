//! API errors: a status and a message, sent as `{"error": "…"}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::journal::JournalError;
use sonomask_data::dataset::DatasetError;

/// What went wrong with a request; never a panic.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<DatasetError> for ApiError {
    fn from(e: DatasetError) -> Self {
        match e {
            DatasetError::BadClipId(_) => Self::bad_request(e.to_string()),
            DatasetError::UnknownClip { ref id, .. } => {
                Self::not_found(format!("no clip {id:?} in this dataset"))
            }
            // Server-side files: say what failed without the request
            // deciding which file is named.
            other => Self::internal(format!("{other}")),
        }
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        Self::internal(format!("journal: {e}"))
    }
}

/// Bad JSON bodies keep axum's status (400, 413, 415, 422) and message.
impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::new(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new(r.status(), r.body_text())
    }
}
