//! Lambda entry point for the chat WebSocket API (`backend_lambda::chat_ws`).

use backend_lambda::{chat_ws, run, service_fn, Error};

// One event at a time: worker threads would only add to the cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (sdk, settings) = backend_lambda::start(chat_ws::NEEDS).await?;
    let socket = chat_ws::service(&sdk, settings).await?;
    run(service_fn(|event| chat_ws::handler(&socket, event))).await
}
