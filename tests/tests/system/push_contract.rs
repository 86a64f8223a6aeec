//! The push contract: the dev server's in-process registry and the API Gateway
//! Management API adapter (the real SDK client against a local `@connections`
//! stub) deliver frames to an open connection in order, byte for byte, and report
//! a connection that is not (or no longer) open as gone.

use async_trait::async_trait;
use backend_aws::ApiGatewayPush;
use backend_core::ports::push::{Push, PushError};
use backend_embedded::Connections;
use std::sync::{Arc, Mutex};
use system_tests::connections_stub;
use tokio::sync::mpsc;

/// Opens and closes connections on the far side of an adapter, and reads what
/// arrived there since the last read.
#[async_trait]
trait Far: Send + Sync {
    fn open(&self, id: &str);
    fn close(&self, id: &str);
    async fn received(&self, id: &str) -> Vec<String>;
}

struct Registry {
    connections: Connections,
    inboxes: Mutex<Vec<(String, mpsc::Receiver<String>)>>,
}

#[async_trait]
impl Far for Registry {
    fn open(&self, id: &str) {
        let rx = self.connections.register(id);
        self.inboxes.lock().unwrap().push((id.to_string(), rx));
    }
    fn close(&self, id: &str) {
        self.connections.close(id);
    }
    async fn received(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut inboxes = self.inboxes.lock().unwrap();
        for (_, rx) in inboxes.iter_mut().filter(|(n, _)| n == id) {
            while let Ok(f) = rx.try_recv() {
                out.push(f);
            }
        }
        out
    }
}

#[async_trait]
impl Far for connections_stub::Stub {
    fn open(&self, id: &str) {
        connections_stub::Stub::open(self, id)
    }
    fn close(&self, id: &str) {
        connections_stub::Stub::close(self, id)
    }
    async fn received(&self, id: &str) -> Vec<String> {
        let got = self.raw(id);
        self.clear(id);
        got
    }
}

async fn contract(push: Arc<dyn Push>, far: &dyn Far) {
    far.open("conn-a=");
    far.open("conn-b=");
    let frames = [
        r#"{"type":"ack","message_id":"1"}"#.to_string(),
        r#"{"type":"chunk","content":"héllo \"world\"\n"}"#.to_string(),
        format!(r#"{{"type":"chunk","content":"{}"}}"#, "z".repeat(30_000)),
        r#"{"type":"message","content":"done"}"#.to_string(),
    ];
    for f in &frames {
        push.send("conn-a=", f).await.unwrap();
    }
    push.send("conn-b=", "{\"type\":\"heartbeat\"}")
        .await
        .unwrap();
    assert_eq!(
        far.received("conn-a=").await,
        frames,
        "in order, byte for byte"
    );
    assert_eq!(far.received("conn-b=").await, ["{\"type\":\"heartbeat\"}"]);

    assert_eq!(push.send("never-opened", "{}").await, Err(PushError::Gone));
    far.close("conn-a=");
    assert_eq!(push.send("conn-a=", "{}").await, Err(PushError::Gone));
    assert!(far.received("conn-a=").await.is_empty());
}

#[tokio::test]
async fn the_in_process_registry_keeps_the_contract() {
    let connections = Connections::new();
    let far = Registry {
        connections: connections.clone(),
        inboxes: Mutex::default(),
    };
    contract(Arc::new(connections), &far).await;
}

#[tokio::test]
async fn api_gateway_management_keeps_the_contract() {
    let stub = connections_stub::Stub::start().await;
    let sdk = system_tests::local_sdk_config(&stub.callback_url).await;
    let push = ApiGatewayPush::new(&sdk, &stub.callback_url);
    contract(Arc::new(push), &stub).await;
    let stages = stub.stages.lock().unwrap().clone();
    assert!(
        !stages.is_empty() && stages.iter().all(|s| s == "dev"),
        "pushes go to the stage's @connections: {stages:?}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_failure_not_a_gone_connection() {
    let port = system_tests::free_port();
    let url = format!("http://127.0.0.1:{port}/dev");
    let sdk = system_tests::local_sdk_config(&url).await;
    let push = ApiGatewayPush::new(&sdk, &url);
    match push.send("conn-a=", "{}").await {
        Err(PushError::Failed(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_dev_servers_registry_drops_a_socket_that_does_not_read() {
    use backend_core::ports::push::{Push, PushError};
    use backend_embedded::BACKLOG;
    let connections = backend_embedded::Connections::new();
    // Registered, and never read from.
    let _unread = connections.register("slow");
    for n in 0..BACKLOG {
        assert_eq!(connections.send("slow", "{}").await, Ok(()), "frame {n}");
    }
    // A push past the backlog neither waits for the reader nor piles up.
    let past = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        connections.send("slow", "{}"),
    )
    .await
    .expect("a push never waits on a socket that does not read");
    assert_eq!(past, Err(PushError::Gone));
    assert!(!connections.is_open("slow"), "dropped, not left to grow");
    assert_eq!(connections.send("slow", "{}").await, Err(PushError::Gone));
}
