//! The error body of every refused API call.

use serde::{Deserialize, Serialize};

/// Every admin API error: `{"errors":[{"code":"…","detail":"…"}]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorItem {
    /// A stable code: `bad_json`, `not_found`, `conflict`, `forbidden`, …
    pub code: String,
    pub detail: String,
}

impl ErrorBody {
    /// One error.
    pub fn one(code: impl Into<String>, detail: impl Into<String>) -> Self {
        ErrorBody {
            errors: vec![ErrorItem {
                code: code.into(),
                detail: detail.into(),
            }],
        }
    }
}
