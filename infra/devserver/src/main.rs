//! `cargo run -p devserver`: serves every route on `BIND_ADDR` (default
//! 127.0.0.1:8080) over the embedded adapters under `DATA_DIR` (default ./.data),
//! until Ctrl-C or SIGTERM.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let server = devserver::start(devserver::Config::from_env().await?).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
