//! Structured logs: one JSON object per line, level from `LOG_LEVEL` (or
//! `RUST_LOG`), fields flattened so CloudWatch Logs Insights can query them.
//!
//! The level is read as `Targets` directives (`info`, `backend_core=debug,warn`), not
//! as an `EnvFilter`: that one's span and field matching links a regex engine into
//! every function for a setting that only ever names levels and modules.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub fn init() {
    let filter = ["LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            Targets::new().with_default(tracing_subscriber::filter::LevelFilter::INFO)
        });
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false);
    // try_init: a test binary may call this more than once.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
