//! Checks that mirror the Kubernetes API server's own validation (and pip's / npm's
//! argument grammar), so a config that plans is a config the cluster accepts.

pub(crate) mod deps;
pub(crate) mod image;
pub(crate) mod names;
pub(crate) mod quantity;
