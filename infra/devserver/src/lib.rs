//! The dev server: the same routers as the Lambda functions, served on one port,
//! with the chat WebSocket and the background work (outbox relay, report and
//! notify workers) run in-process over the embedded adapters. `start` returns once the port is bound,
//! which is what the black-box tests build on.

pub mod chat_ws;
mod listener;
pub mod seed;

use backend_aws::BedrockLlm;
use backend_config::{Part, Settings};
use backend_core::app::auth::{hash_password, AdminAccount, AuthConfig, Authenticator, Secret};
use backend_core::app::chat::{ChatConfig, ChatService};
use backend_core::app::chat_socket::{ChatSocket, RateLimit};
use backend_core::app::drafting::Drafter;
use backend_core::app::erasure::Erasure;
use backend_core::app::limits::WindowLimit;
use backend_core::app::notify::{Notifier, NotifyConfig};
use backend_core::app::reports::ReportService;
use backend_core::app::retention::Retention;
use backend_core::app::worker::{Consumer, QueueWork};
use backend_core::app::{Deps, FeedRelay, ScheduledPass};
use backend_core::ports::llm::{ChatModel, Llm};
use backend_core::ports::{Adapters, Clock, QueueName, SystemClock};
use backend_embedded::{Connections, OutboxMailer};
use backend_http::{router, AppState, Served};
use backend_net::ReqwestOutbound;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use backend_config::Backend;

#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub backend: Backend,
    /// The table, queues and bucket when `backend` is `Aws`.
    pub aws: Option<backend_aws::AwsResources>,
    /// How often the outbox relay looks for unsent messages.
    pub relay_every: Duration,
    /// Admin sign-in; `None` makes a random admin password, printed once at start.
    pub auth: Option<AuthConfig>,
    /// `CORS_ALLOWED_ORIGINS`, as the functions read it.
    pub cors_origins: Vec<String>,
    /// The model reports are drafted with (`BEDROCK_MODEL_ID`, through the AWS
    /// SDK's usual configuration); `None` drafts from the template.
    pub llm: Option<Arc<dyn Llm>>,
    /// Senders, recipients and Slack for notifications (`.eml` files in
    /// `DATA_DIR/outbox` stand in for sending).
    pub notify: NotifyConfig,
    /// The model the chat streams answers from (the same `BEDROCK_MODEL_ID`);
    /// `None` answers from the labelled template.
    pub chat_model: Option<Arc<dyn ChatModel>>,
    pub chat: ChatConfig,
    /// Frames per connection per window on the chat socket.
    pub chat_limit: RateLimit,
    /// Whether the report and notify workers consume the queues in-process
    /// (`WORKERS=off` leaves queued events to be read, as a disabled event source
    /// mapping would).
    pub workers: bool,
    /// How long a client may take to send a request's headers; a connection that
    /// has not finished them by then is closed ([`HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
    /// How long one request may take from its headers to its answer, its body
    /// included; later it is answered 408 (the chat answer's limit plus
    /// [`REQUEST_TIMEOUT_MARGIN`]).
    pub request_timeout: Duration,
    /// Inquiries one address may submit (`SUBMISSIONS_PER_CLIENT_PER_HOUR`).
    pub submissions_per_client: WindowLimit,
    /// `RETENTION_DAYS`: closed inquiries are erased this many days after they
    /// closed, by a sweep in the background loop; `None` keeps them.
    pub retention_days: Option<u32>,
}

/// Long enough for any real client on a slow link, short enough that connections
/// which never finish their headers cannot pile up and hold the server's sockets.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Beyond the longest chat answer: the dashboard's chat routes wait for the whole
/// answer before they respond, and must not be cut off by the request limit.
pub const REQUEST_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

impl Config {
    /// From the settings the environment gives (`Settings` with `Part::DevServer`).
    pub async fn from_env() -> anyhow::Result<Self> {
        let s = Settings::from_env(&[Part::DevServer])?;
        let dev = s
            .dev
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no dev server settings"))?;
        let bedrock = match &s.model_id {
            Some(id) => Some(BedrockLlm::new(&backend_aws::sdk_config().await, id)),
            None => None,
        };
        Ok(Self {
            bind: dev.bind,
            data_dir: dev.data_dir,
            backend: dev.backend,
            aws: s.aws,
            relay_every: Duration::from_secs(2),
            auth: s.auth,
            cors_origins: s.cors_origins,
            llm: bedrock.clone().map(|m| Arc::new(m) as Arc<dyn Llm>),
            notify: s
                .notify
                .ok_or_else(|| anyhow::anyhow!("no notification settings"))?,
            chat_model: bedrock.map(|m| Arc::new(m) as Arc<dyn ChatModel>),
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: s.chat.timeout + REQUEST_TIMEOUT_MARGIN,
            chat: s.chat,
            chat_limit: RateLimit::default(),
            workers: dev.workers,
            submissions_per_client: s.submissions_per_client,
            retention_days: s.retention_days,
        })
    }

    /// Embedded, on a random loopback port: what the tests start.
    pub fn for_tests(data_dir: PathBuf, auth: AuthConfig) -> Self {
        Self {
            bind: "127.0.0.1:0".parse().expect("literal address"),
            data_dir,
            backend: Backend::Embedded,
            aws: None,
            relay_every: Duration::from_millis(200),
            auth: Some(auth),
            cors_origins: vec!["http://localhost:5173".into()],
            llm: None,
            notify: Settings::from_lookup(|_| None, &[Part::DevServer])
                .ok()
                .and_then(|s| s.notify)
                .expect("the local notification defaults"),
            chat_model: None,
            chat: ChatConfig {
                template_pause: Duration::ZERO,
                ..ChatConfig::default()
            },
            chat_limit: RateLimit::default(),
            workers: true,
            // Tests post many inquiries from one address; the limit's own test
            // lowers it.
            submissions_per_client: WindowLimit {
                max: 1_000_000,
                per: Duration::from_secs(3600),
            },
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: ChatConfig::default().timeout + REQUEST_TIMEOUT_MARGIN,
            retention_days: None,
        }
    }
}

pub struct Server {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Stops accepting, lets requests in flight finish, stops background work.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

pub async fn adapters(cfg: &Config) -> anyhow::Result<Adapters> {
    match (cfg.backend, &cfg.aws) {
        (Backend::Aws, Some(res)) => Ok(backend_aws::connect_polling(
            &backend_aws::sdk_config().await,
            res,
        )),
        (Backend::Aws, None) => anyhow::bail!("BACKEND=aws needs TABLE_NAME and the queue URLs"),
        (Backend::Embedded, _) => {
            backend_embedded::open(&cfg.data_dir, backend_core::app::outbox::feed_filter())
        }
    }
}

pub async fn start(cfg: Config) -> anyhow::Result<Server> {
    start_with(cfg, None, Arc::new(SystemClock)).await
}

/// Starts on given adapters (or those the config names), e.g. with a faulty queue
/// in a test.
pub async fn start_with(
    cfg: Config,
    given: Option<Adapters>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Server> {
    let adapters = match given {
        Some(a) => a,
        None => adapters(&cfg).await?,
    };
    let drafter = Arc::new(Drafter::standard(cfg.llm.clone()));
    let blobs = adapters.blobs.clone();
    let feed = adapters.feed.clone();
    let deps = Deps::new(adapters, clock);
    let reports = blobs
        .clone()
        .map(|b| ReportService::new(deps.clone(), b, drafter));
    let mailer = Arc::new(OutboxMailer::new(cfg.data_dir.join("outbox")));
    let erasure = Erasure::new(deps.clone(), blobs, Some(mailer.clone()));
    let retention = cfg
        .retention_days
        .map(|days| Retention::new(deps.clone(), erasure.clone(), days));
    let listener = tokio::net::TcpListener::bind(cfg.bind).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);

    let auth = match cfg.auth.clone() {
        Some(a) => a,
        None => generated_auth(&cfg.data_dir)?,
    };
    let chat = ChatService::new(deps.clone(), cfg.chat_model.clone(), cfg.chat.clone());
    let auth = Arc::new(Authenticator::new(auth, deps.clone()));
    let served = Served {
        auth: Some(auth.clone()),
        cors_origins: cfg.cors_origins.clone(),
        reports: reports.clone(),
        hooks: cfg.notify.hooks.clone(),
        chat: Some(chat.clone()),
        erasure: Some(erasure),
        submissions_per_client: Some(cfg.submissions_per_client),
    };
    let state = AppState::new(deps.clone(), served);
    let connections = Connections::new();
    let socket = ChatSocket::new(
        chat,
        auth.clone(),
        Arc::new(connections.clone()),
        cfg.chat_limit,
    );
    let app = router(state)
        .merge(chat_ws::routes(socket, connections, auth, stopped.clone()))
        // Again outside the merge: the socket's refusals come from its own router.
        .layer(axum::middleware::map_response(backend_http::no_sniff));
    let limits = listener::Limits {
        header_read: cfg.header_read_timeout,
        request: cfg.request_timeout,
    };
    let http = tokio::spawn(listener::serve(listener, app, limits, stopped.clone()));

    let deps_queue = deps.queue.clone();
    let notify_queue = deps.queue.clone();
    let deps_for_notify = deps.clone();
    // What the outbox-relay function does in Lambda on the table's stream: the
    // outbox entries among the changes go to their queues, then the backfills.
    let feed = feed.map(|feed| FeedRelay::new(deps.clone(), feed));
    let pass = ScheduledPass::new(deps);
    let every = cfg.relay_every;
    let mut on_stop = stopped;
    let relay_task = tokio::spawn(async move {
        loop {
            if let Some(relay) = &feed {
                // Until the feed is drained, without waiting between batches.
                loop {
                    match relay.run_once().await {
                        Ok(pass) if pass.more => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "relaying the change feed failed");
                            break;
                        }
                    }
                }
            }
            if let Err(e) = pass.run().await {
                tracing::warn!(error = %e, "background pass failed");
            }
            if let Some(retention) = &retention {
                match retention.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(erased = n, "retention erased closed inquiries"),
                    Err(e) => tracing::warn!(error = %e, "the retention sweep failed"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = on_stop.wait_for(|s| *s) => break,
            }
        }
    });

    let mut tasks = vec![http, relay_task];
    if cfg.workers {
        let notifier = Notifier::new(
            deps_for_notify,
            mailer,
            Arc::new(ReqwestOutbound::allowing_private()),
            cfg.notify.clone(),
        );
        let idle = cfg.relay_every.min(Duration::from_millis(500));
        let notifier: Arc<dyn QueueWork> = Arc::new(notifier);
        let reports = reports.map(|r| Arc::new(r) as Arc<dyn QueueWork>);
        // Several batches of a queue in flight at once, as Lambda runs several
        // instances of a function on a busy queue: a batch spends most of its time
        // waiting (on the store's thread, on files), and one at a time left the
        // machine half idle.
        for _ in 0..CONSUMERS_PER_QUEUE {
            tasks.push(spawn_worker(
                notify_queue.clone(),
                QueueName::Events,
                idle,
                stop.subscribe(),
                notifier.clone(),
            ));
            if let Some(reports) = &reports {
                tasks.push(spawn_worker(
                    deps_queue.clone(),
                    QueueName::Reports,
                    idle,
                    stop.subscribe(),
                    reports.clone(),
                ));
            }
        }
    }

    tracing::info!(%addr, backend = ?cfg.backend, model = cfg.llm.is_some(), workers = cfg.workers, data_dir = %cfg.data_dir.display(), "dev server listening");
    Ok(Server { addr, stop, tasks })
}

/// Batches of one queue worked on at once by the dev server.
const CONSUMERS_PER_QUEUE: usize = 4;

/// Runs a queue's worker in-process until `stop`, as a Lambda event source mapping
/// would run its function.
fn spawn_worker(
    queue: Arc<dyn backend_core::ports::Queue>,
    name: QueueName,
    idle: Duration,
    stop: watch::Receiver<bool>,
    work: Arc<dyn QueueWork>,
) -> JoinHandle<()> {
    let consumer = Consumer {
        queue,
        name,
        visibility: Duration::from_secs(60),
        idle,
    };
    tokio::spawn(async move { consumer.run(stop, work).await })
}

/// Sign-in for a dev server with none configured: a signing secret kept in the data
/// directory (so tokens survive a restart) and a fresh random `admin` password,
/// printed once.
fn generated_auth(data_dir: &std::path::Path) -> anyhow::Result<AuthConfig> {
    use rand::distr::{Alphanumeric, SampleString};
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("dev-jwt-secret");
    let secret = match std::fs::read(&path) {
        Ok(s) if s.len() >= 32 => s,
        _ => {
            let s = Alphanumeric
                .sample_string(&mut rand::rng(), 48)
                .into_bytes();
            std::fs::write(&path, &s)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            s
        }
    };
    let password = Alphanumeric.sample_string(&mut rand::rng(), 20);
    println!("dev server admin sign-in for this run: username `admin`, password `{password}`");
    Ok(AuthConfig {
        secret: Secret::new(secret).map_err(|e| anyhow::anyhow!("the dev signing secret {e}"))?,
        issuer: backend_core::app::auth::DEFAULT_ISSUER.into(),
        audience: backend_core::app::auth::DEFAULT_AUDIENCE.into(),
        ttl: Duration::from_secs(8 * 3600),
        admins: vec![AdminAccount {
            username: "admin".into(),
            password_hash: hash_password(&password),
        }],
    })
}
