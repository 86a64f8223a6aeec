//! What every file in `events/` must make each function do, however the function is
//! run: the function binaries as built under the RIE (`lambda_rie`) and the named
//! handlers called in-process (`lambda_handlers`) both feed every event through the
//! same tables and checks here, so one table drives both runs. A file in
//! `events/<function>/` missing from its table fails either run.
//!
//! Each function has a rig: `new()` makes its fresh moto resources (and stubs, and
//! whatever the events need already stored), `env()` is the environment the function
//! runs with, and `check(&dyn Invoke)` feeds it every event and asserts what must
//! come back and what must have happened.

mod admin_api;
mod chat_ws;
mod notify_worker;
mod outbox_relay;
mod public_api;
mod report_worker;

pub use admin_api::*;
pub use chat_ws::*;
pub use notify_worker::*;
pub use outbox_relay::*;
pub use public_api::*;
pub use report_worker::*;

use super::*;
use backend_core::ports::QueueName;

/// One way of running a function: an event in, the JSON Lambda would answer out.
#[async_trait]
pub trait Invoke: Send + Sync {
    async fn invoke(&self, event: &Value) -> Value;
    /// What the function has logged, for failure messages (empty if not captured).
    fn log(&self) -> String;
}

#[async_trait]
impl Invoke for Rie {
    async fn invoke(&self, event: &Value) -> Value {
        Rie::invoke(self, event).await
    }
    fn log(&self) -> String {
        self.log_text()
    }
}

/// The functions, each with a directory in `events/`.
pub const FUNCTIONS: [&str; 6] = [
    "admin-api",
    "chat-ws",
    "notify-worker",
    "outbox-relay",
    "public-api",
    "report-worker",
];

/// The file names in `events/<dir>/`, sorted.
pub fn event_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("events").join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Fails unless `events/<dir>/` holds exactly the files `listed`.
fn assert_table_matches<'a>(dir: &str, listed: impl IntoIterator<Item = &'a str>) {
    let mut listed: Vec<String> = listed.into_iter().map(str::to_string).collect();
    listed.sort();
    assert_eq!(
        event_files(dir),
        listed,
        "events/{dir} and its table must match"
    );
}

/// Stores an inquiry through the use case and returns its id and the event body
/// that reached `queue`, as a function would receive it.
pub async fn queued_inquiry(adapters: &Adapters, queue: QueueName) -> (String, String) {
    let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
    let out = backend_core::app::InquiryService::new(deps)
        .submit(&inquiry_body(), None, "c")
        .await
        .unwrap();
    let got = queued(adapters, queue).await;
    (out.inquiry.id.to_string(), got[0].body.clone())
}
