//! Lambda entry point for the chat WebSocket API (`backend_lambda::chat_ws`).

use backend_lambda::{chat_ws, run, service_fn, Error, Settings};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    backend_lambda::init_logs();
    let socket = chat_ws::service(Settings::from_env(chat_ws::NEEDS)?).await?;
    run(service_fn(|event| chat_ws::handler(&socket, event))).await
}
