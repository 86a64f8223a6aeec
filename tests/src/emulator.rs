//! The AWS emulator the test command started: fresh resources with unique names
//! per test, adapters on them, and what moto recorded.

use super::*;

/// The moto endpoint the test command started.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: the AWS emulator is not running. Run the README's test command (make test).")
    })
}

/// The raw messages moto's SES has accepted, each as its JSON record. Moto builds
/// this listing from live objects and can fail while other tests change them, so a
/// failed read is retried.
pub async fn moto_sent_mail() -> Vec<String> {
    let url = format!("{}/moto-api/data.json", moto_endpoint());
    for _ in 0..20 {
        if let Ok(resp) = reqwest::get(&url).await {
            if let Ok(data) = resp.json::<Value>().await {
                return data["ses"]
                    .as_object()
                    .map(|o| {
                        o.values()
                            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| m.to_string())
                    .filter(|m| m.contains("raw_data"))
                    .collect();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto's data listing did not answer");
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    local_sdk_config(&moto_endpoint()).await
}

/// A secret with a unique name stored in the emulator; returns its ARN.
pub async fn stored_secret(value: &str) -> String {
    let name = format!("s{}", ulid::Ulid::new().to_string().to_lowercase());
    let out = aws_sdk_secretsmanager::Client::new(&sdk_config().await)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("secret stored in moto");
    out.arn().expect("a stored secret has an ARN").to_string()
}

/// The sign-in settings of the test configuration (`auth_env`) as a function gets
/// them in AWS: a secret in the emulator, named by `ADMIN_SECRET_ID`.
pub async fn auth_secret_env() -> Vec<(&'static str, String)> {
    let env = crate::auth_env();
    let secret = json!({"jwt_secret": lookup(&env, "JWT_SECRET"), "admin_users": lookup(&env, "ADMIN_USERS")});
    vec![("ADMIN_SECRET_ID", stored_secret(&secret.to_string()).await)]
}

/// A fresh table and queues with unique names, so tests never share state.
pub async fn aws_resources() -> AwsResources {
    let sdk = sdk_config().await;
    let name = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
    backend_aws::provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &name)
        .await
        .expect("table created in moto");
    let queues = backend_aws::provision::create_queues(
        &aws_sdk_sqs::Client::new(&sdk),
        &name,
        backend_core::ports::queue::MAX_RECEIVES,
    )
    .await
    .expect("queues created in moto");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    backend_aws::provision::create_bucket(&s3, &name)
        .await
        .expect("bucket created in moto");
    AwsResources {
        table_name: name.clone(),
        queues,
        bucket: Some(name),
    }
}

/// The AWS adapters on fresh resources in the emulator, with the table's stream
/// read by polling.
pub async fn aws_adapters() -> Adapters {
    backend_aws::connect_polling(&sdk_config().await, &aws_resources().await)
}

/// Embedded adapters on an in-memory database, blobs in a fresh temporary folder
/// (left for the OS to clean, as the adapters may outlive any guard here).
pub fn embedded_adapters() -> Adapters {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    backend_embedded::in_memory(&dir, backend_core::app::outbox::feed_filter())
        .expect("in-memory database")
}

/// Embedded adapters on the database in `data_dir` (the dev server's, when it runs
/// there), with the change feed the dev server's relay reads.
pub fn embedded_adapters_in(data_dir: &std::path::Path) -> Adapters {
    backend_embedded::open(data_dir, backend_core::app::outbox::feed_filter())
        .expect("the data directory's database")
}

/// Puts a stored inquiry back where every inquiry sat before the index was keyed by
/// status (the one `INQUIRIES` partition), as data written then looks: without the
/// mark of a counted record either (its counts stay: a test that counts after this
/// writes uncounted records of its own). Its version moves on, as any write's does.
pub async fn move_to_legacy_partition(store: &dyn backend_core::ports::ItemStore, id: &str) {
    use backend_core::ports::{Condition, WriteOp};
    let mut item = store
        .get(&format!("INQ#{id}"), "INQUIRY")
        .await
        .unwrap()
        .expect("inquiry stored");
    let version = item.version;
    item.gsi1pk = Some("INQUIRIES".into());
    if let Some(o) = item.data.as_object_mut() {
        o.remove("_counted");
    }
    item.version = version + 1;
    store
        .write(vec![WriteOp::Put {
            item,
            condition: Condition::Version(version),
        }])
        .await
        .unwrap();
}

/// The index partition a stored inquiry sits in.
pub async fn index_partition(
    store: &dyn backend_core::ports::ItemStore,
    id: &str,
) -> Option<String> {
    store
        .get(&format!("INQ#{id}"), "INQUIRY")
        .await
        .unwrap()
        .and_then(|item| item.gsi1pk)
}

/// The inquiries on `adapters` as of `clock`, and a new prospect's inquiry (unique
/// values, `app::prospect`) submitted through them.
pub async fn submitted_prospect(
    adapters: &Adapters,
    clock: Arc<dyn backend_core::ports::Clock>,
) -> (
    backend_core::app::InquiryService,
    backend_core::domain::InquiryId,
) {
    let deps = backend_core::app::Deps::new(adapters.clone(), clock);
    let inquiries = backend_core::app::InquiryService::new(deps);
    let submitted = inquiries.submit(&crate::prospect(), None, "c").await;
    let id = submitted.expect("a valid submission").inquiry.id;
    (inquiries, id)
}

/// Every item of a table in the emulator, as text.
pub async fn table_text(sdk: &aws_config::SdkConfig, table: &str) -> String {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let mut out = String::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("the table scans");
        for item in page.items() {
            out.push_str(&format!("{item:?}\n"));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// Every version of every object of a bucket in the emulator, as text.
pub async fn bucket_text(sdk: &aws_config::SdkConfig, bucket: &str) -> String {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("the bucket lists");
    let mut out = String::new();
    for v in listed.versions() {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(v.key().unwrap_or_default())
            .set_version_id(v.version_id().map(str::to_string))
            .send()
            .await
            .expect("a listed version reads");
        let bytes = object.body.collect().await.expect("its body").into_bytes();
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    out
}

/// An SDK configuration aimed at a local stub, with test credentials.
pub async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(backend_aws::https_client(backend_aws::Roots::System))
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// Relays what the adapters' change feed holds to the queues, as the dev server's
/// loop (or the stream's Lambda) does after each write.
pub async fn relay(adapters: &Adapters) {
    let feed = adapters
        .feed
        .clone()
        .expect("adapters with a change feed (aws_adapters, embedded_adapters)");
    let deps = backend_core::app::Deps::new(adapters.clone(), Arc::new(SystemClock));
    let relay = backend_core::app::FeedRelay::new(deps, feed);
    while relay.run_once().await.expect("the feed relays").more {}
}

/// At least `n` messages from one of the adapters' queues (received, hidden for a
/// minute), waiting up to ten seconds for a running dev server's relay to send them.
pub async fn arrived(
    adapters: &Adapters,
    queue: backend_core::ports::QueueName,
    n: usize,
) -> Vec<backend_core::ports::Delivery> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n && std::time::Instant::now() < deadline {
        got.extend(
            adapters
                .queue
                .receive(queue, 10, Duration::from_secs(60))
                .await
                .expect("the queue answers"),
        );
        if got.len() < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    got
}

/// What waits in one of the adapters' queues (received, hidden for a minute), once
/// the change feed is relayed.
pub async fn queued(
    adapters: &Adapters,
    queue: backend_core::ports::QueueName,
) -> Vec<backend_core::ports::Delivery> {
    relay(adapters).await;
    adapters
        .queue
        .receive(queue, 10, Duration::from_secs(60))
        .await
        .expect("the queue answers")
}
