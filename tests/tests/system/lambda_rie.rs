//! The function binaries as built, under the Lambda Runtime Interface Emulator (the
//! one `sam local invoke` runs), fed every file in `events/`, with their AWS
//! adapters aimed at moto. What each event must do is `system_tests::lambda_events`,
//! shared with the in-process run (`lambda_handlers`); here is what only the
//! binaries show: their start, their refusal to start, and their logs.

use std::collections::BTreeMap;
use system_tests::lambda_events::{
    event_files, AdminApi, ChatWs, NotifyWorker, OutboxRelay, PublicApi, ReportWorker, FUNCTIONS,
};
use system_tests::{
    aws_env, aws_resources, built_binary, event, workspace_root, Rie, ADMIN_PASSWORD,
};

#[tokio::test]
async fn public_api_answers_every_event() {
    let rig = PublicApi::new().await;
    let rie = Rie::start(&built_binary("public-api"), &rig.env());
    rig.check(&rie).await;
    assert!(
        rie.log_text().contains("INIT REPORT") || rie.log_text().contains("Init Duration"),
        "{}",
        rie.log_text()
    );
}

#[tokio::test]
async fn public_api_refuses_to_start_without_configuration() {
    let rie = Rie::start(
        &built_binary("public-api"),
        &[("AWS_REGION", "us-east-1".to_string())],
    );
    let (status, _) = rie.invoke_raw(&event("public-api/health.json")).await;
    assert_eq!(status, 502, "the init fails, so no invocation is served");
    let log = rie.log_text();
    assert!(
        log.contains(
            "missing environment variables: TABLE_NAME, REPORTS_QUEUE_URL, EVENTS_QUEUE_URL"
        ),
        "the init log names everything that is missing:\n{log}"
    );
}

#[tokio::test]
async fn outbox_relay_relays_the_stream() {
    let rig = OutboxRelay::new().await;
    let rie = Rie::start(&built_binary("outbox-relay"), &rig.env());
    rig.check(&rie).await;
}

#[test]
fn every_event_directory_has_a_test() {
    let dirs: BTreeMap<String, usize> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let n = event_files(&name).len();
            (name, n)
        })
        .collect();
    assert_eq!(
        dirs.keys().map(String::as_str).collect::<Vec<_>>(),
        FUNCTIONS
    );
}

#[tokio::test]
async fn admin_api_answers_every_event() {
    let rig = AdminApi::new().await;
    let rie = Rie::start(&built_binary("admin-api"), &rig.env());
    let token = rig.check(&rie).await;
    let log = rie.log_text();
    assert!(
        log.contains("\"audit\":true") && log.contains("auth.login"),
        "sign-ins are audited:\n{log}"
    );
    assert!(
        log.contains("\"_aws\"") && log.contains("CloudWatchMetrics"),
        "EMF lines are written in Lambda"
    );
    assert!(
        !log.contains(ADMIN_PASSWORD)
            && !log.contains(system_tests::JWT_SECRET)
            && !log.contains(&token),
        "no secret in any log line"
    );
}

#[tokio::test]
async fn admin_api_refuses_to_start_without_a_signing_secret_and_an_admin() {
    let res = aws_resources().await;
    let mut env = aws_env(&res);
    env.push(("JWT_SECRET", "too-short".into()));
    env.push(("ADMIN_USERS", "[]".into()));
    let rie = Rie::start(&built_binary("admin-api"), &env);
    let (status, _) = rie.invoke_raw(&event("admin-api/login.json")).await;
    assert_eq!(status, 502);
    assert!(
        rie.log_text()
            .contains("JWT_SECRET is invalid: must be at least 32 bytes"),
        "{}",
        rie.log_text()
    );
    drop(rie);

    let mut env = aws_env(&res);
    env.push(("JWT_SECRET", "s".repeat(40)));
    env.push(("ADMIN_USERS", "[]".into()));
    let rie = Rie::start(&built_binary("admin-api"), &env);
    assert_eq!(rie.invoke_raw(&event("admin-api/login.json")).await.0, 502);
    assert!(
        rie.log_text()
            .contains("ADMIN_USERS is invalid: names no admin"),
        "{}",
        rie.log_text()
    );
}

/// The report worker as built: see `ReportWorker`.
#[tokio::test]
async fn report_worker_handles_batches_with_partial_failures() {
    let rig = ReportWorker::new().await;
    let rie = Rie::start(&built_binary("report-worker"), &rig.env());
    rig.check(&rie).await;
}

/// The notify worker as built: see `NotifyWorker`.
#[tokio::test]
async fn notify_worker_sends_each_notification_once() {
    let rig = NotifyWorker::new().await;
    let rie = Rie::start(&built_binary("notify-worker"), &rig.env());
    rig.check(&rie).await;
}

#[tokio::test]
async fn chat_ws_handles_every_route_and_streams_through_connections() {
    let rig = ChatWs::new().await;
    let rie = Rie::start(&built_binary("chat-ws"), &rig.env());
    rig.check(&rie).await;
    let log = rie.log_text();
    assert!(!log.contains(&rig.token) && !log.contains(system_tests::JWT_SECRET));
}
