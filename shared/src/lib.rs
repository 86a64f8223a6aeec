//! The library every function links: the domain (plain types and rules), the use
//! cases over narrow ports, the AWS and embedded adapters of those ports, and the
//! HTTP routers that Lambda and the dev server both serve.
//!
//! Dependencies point inwards: `http` and `adapters` know `app`, `app` knows
//! `ports` and `domain`, and `domain` knows nothing but itself.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod ports;
pub mod telemetry;
