//! The core of the backend: the domain (plain types and rules), the ports (narrow
//! traits the use cases need from the world) and the use cases over them.
//!
//! This crate depends on no AWS SDK, no web framework and no environment variable:
//! the adapters crates implement its ports, the HTTP crate and the Lambda glue
//! translate requests into its calls, and a composition root (one per side) reads
//! the settings and wires them together. Cargo enforces that direction, since
//! nothing here can name those crates.

pub mod app;
pub mod domain;
pub mod ports;
