//! The inflater (RFC 7692 section 7.2.2), on miniz_oxide. PLACEHOLDER.

/// Why a compressed message could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates past the message size limit (1009).
    TooLarge,
    /// It is not valid deflate data (1007).
    Invalid,
}

/// Inflates the compressed messages of one connection.
#[derive(Debug)]
pub(crate) struct Inflater;
