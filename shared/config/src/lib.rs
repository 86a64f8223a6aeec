//! What a process reads when it starts: its settings, from the environment, checked
//! once (`settings`), the secrets some of them come from (`secrets`), and the shape
//! of its logs (`telemetry`).

pub mod secrets;
pub mod settings;
pub mod telemetry;

pub use settings::{Backend, ConfigError, DevServer, Part, Settings};
