use depot_core::Refusal;
use depot_core::package::PackageError;
use depot_storage::StorageError;
use depot_store::StoreError;

/// What `Retry-After` says while the database is away: long enough not to hammer it, short
/// enough that a site's updater tries again within its own run.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// What `Retry-After` says while the identity source is away: it is read every half minute.
pub const SOURCE_RETRY_SECS: u64 = 60;

/// Everything a use case can refuse or fail with. The web layer maps each variant to a status and
/// a JSON body; nothing here knows about HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that is malformed on its face (a bad version in a URL, a bad target list).
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    /// A package whose content is unacceptable (not a zip, no manifest, a bomb, …).
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A package whose manifest contradicts the URL it was uploaded to.
    #[error("{0}")]
    Mismatch(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("the upload exceeds the limit of {0} bytes")]
    TooLarge(u64),
    #[error("missing or unknown API token")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// A download or key request refused, with its `REL_…` code (docs/product.md §4).
    #[error("{refusal}: {description}")]
    Denied {
        refusal: Refusal,
        description: String,
    },
    /// `REL_RLM`: too many attempts; try again after this many seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the upload was interrupted: {0}")]
    UploadAborted(String),
    #[error(transparent)]
    Store(StoreError),
    /// The database is away for a moment; the same request may succeed shortly.
    #[error("{0}")]
    Unavailable(StoreError),
    /// The identity source (a Joomla site's database) has been unreachable for too long to
    /// trust what depot last saw of it; says so in words a customer can read.
    #[error("{0}")]
    SourceUnavailable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The mail server refused or could not be reached (the outbox retries).
    #[error("{0}")]
    Mail(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl ServiceError {
    /// A refusal with its default description.
    pub fn refused(refusal: Refusal) -> Self {
        ServiceError::Denied {
            refusal,
            description: refusal.description().to_string(),
        }
    }

    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        ServiceError::Invalid {
            code,
            detail: detail.into(),
        }
    }

    /// Seconds a client should wait before trying again, for the errors that pass.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ServiceError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            ServiceError::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            ServiceError::SourceUnavailable(_) => Some(SOURCE_RETRY_SECS),
            _ => None,
        }
    }

    /// The `REL_…` refusal this error is answered with on downloads and the jBackend API, when
    /// it is one (not a failure of the server).
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            ServiceError::Denied { refusal, .. } => Some(*refusal),
            ServiceError::RateLimited { .. } => Some(Refusal::RateLimited),
            ServiceError::NotFound { .. } => Some(Refusal::PackageNotFound),
            ServiceError::Invalid { .. } => Some(Refusal::BadRequest),
            ServiceError::Unavailable(_) | ServiceError::SourceUnavailable(_) => {
                Some(Refusal::Unavailable)
            }
            _ => None,
        }
    }

    /// A stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid { code, .. } => code,
            ServiceError::Package(e) => e.code(),
            ServiceError::Mismatch(_) => "manifest_mismatch",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::TooLarge(_) => "too_large",
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::UploadAborted(_) => "upload_aborted",
            ServiceError::Denied { refusal, .. } => refusal.code(),
            ServiceError::RateLimited { .. } => Refusal::RateLimited.code(),
            ServiceError::Unavailable(_) | ServiceError::SourceUnavailable(_) => "unavailable",
            ServiceError::Store(_)
            | ServiceError::Storage(_)
            | ServiceError::Mail(_)
            | ServiceError::Io(_) => "internal",
        }
    }
}

impl From<StoreError> for ServiceError {
    /// A unique constraint the database enforced is the caller's conflict, not a failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ServiceError::Conflict(format!("{what} already exists")),
            StoreError::BadText => {
                ServiceError::invalid("bad_text", "text may not contain NUL characters")
            }
            e @ (StoreError::Unavailable(_) | StoreError::DiskFull(_)) => {
                ServiceError::Unavailable(e)
            }
            other => ServiceError::Store(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
