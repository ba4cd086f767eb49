//! SDK placeholder.
