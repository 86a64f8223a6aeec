//! `cargo run -p devserver`: serves every route on `BIND_ADDR` (default
//! 127.0.0.1:8080) over the embedded adapters under `DATA_DIR` (default ./.data),
//! until Ctrl-C or SIGTERM.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    backend_config::telemetry::init();
    // Listen for the signals before serving, so a stop request that comes the
    // moment the port opens still shuts down cleanly.
    let stop = shutdown_signal()?;
    let server = devserver::start(devserver::Config::from_env().await?).await?;
    stop.await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}
