//! Errors of the storage layer.

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    /// No connection could be had from the pool (or opened).
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The first connection could not be opened.
    #[error("cannot open the database: {0}")]
    Unavailable(String),
    /// The database URL is not one Slipway understands.
    #[error("database_url: {0}")]
    BadUrl(String),
    /// Running or reverting migrations failed.
    #[error("migrations failed: {0}")]
    Migration(String),
    /// A stored value did not parse (a bug or a hand-edited database).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the error is a lost race on a unique key (someone else wrote first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;
