//! Helpers for the black-box tests, so each test reads as what it checks:
//! `spawn_app` starts the dev server on a random port and returns a client;
//! `aws` provisions a fresh table and queues in the emulator; `Rie` runs a built
//! Lambda binary under the Runtime Interface Emulator.
//!
//! Tools the tests need (moto, the RIE) are installed and started by the README's
//! test command; a test that needs one fails, never skips, when it is missing.

use async_trait::async_trait;
use backend_aws::AwsResources;
use backend_core::ports::Adapters;
use backend_core::ports::{Delivery, Message, Queue, QueueError, QueueName, SystemClock};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use serde_json::{json, Value};

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

mod app;
mod doubles;
mod emulator;
mod rie;

pub mod bedrock_stub;
pub mod connections_stub;
pub mod lambda_events;
pub mod receiver;
pub mod ws;

pub use app::*;
pub use doubles::*;
pub use emulator::*;
pub use rie::*;
