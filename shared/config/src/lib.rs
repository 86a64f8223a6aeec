//! What a process reads when it starts: its settings, from the environment, checked
//! once (`settings`), and the shape of its logs (`telemetry`).

pub mod settings;
pub mod telemetry;

pub use settings::{Backend, ConfigError, DevServer, Part, Settings};
