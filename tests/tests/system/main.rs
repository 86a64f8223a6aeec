//! Every black-box test of the system, one module per area, in one test binary:
//! linked once instead of once per area (each area links the whole SDK). One area
//! runs alone with `cargo test -p system-tests --test system <area>::`.

/// Runs each case (an async fn taking `Adapters`) on the embedded adapters and on the
/// AWS ones in the emulator, as `<module>::sqlite::<case>` and `<module>::dynamodb::<case>`.
macro_rules! on_both_adapters {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::embedded_adapters()).await; })*
        }
        mod dynamodb {
            $(#[tokio::test] async fn $case() { super::$case(system_tests::aws_adapters().await).await; })*
        }
    };
}

mod admin_api;
mod bedrock;
mod blob_contract;
mod chat;
mod chat_access;
mod dashboard;
mod devserver_process;
mod hardening;
mod lambda_handlers;
mod lambda_rie;
mod layers;
mod listing;
mod notify;
mod openapi;
mod outbox;
mod privacy;
mod public_api;
mod push_contract;
mod queue_contract;
mod release_profile;
mod reports;
mod scale;
mod secrets;
mod store_contract;
mod template;
