//! `outbox-relay`, run on a schedule: sends outbox messages whose immediate send
//! after the write did not happen (a queue outage, a timed-out function), and moves
//! a batch of inquiries stored before the index was keyed by status.

use crate::root;
use backend_config::{ConfigError, Part, Settings};
use backend_core::app::{PassOutcome, ScheduledPass};
use lambda_runtime::{Error, LambdaEvent};
use std::time::Duration;

pub const NEEDS: &[Part] = &[Part::Aws];

/// Entries younger than this are still being sent by the request that wrote them.
const GRACE: Duration = Duration::from_secs(30);

/// Builds the function's services on `sdk` (in Lambda, `sdk_config()`: the
/// environment Lambda sets; in the in-process tests, the emulator).
pub async fn service(
    sdk: &aws_config::SdkConfig,
    settings: Settings,
) -> Result<ScheduledPass, ConfigError> {
    let adapters = backend_aws::connect_core(sdk, root::resources(&settings)?);
    Ok(ScheduledPass::new(root::deps(adapters), GRACE))
}

pub async fn handler(
    pass: &ScheduledPass,
    _event: LambdaEvent<serde_json::Value>,
) -> Result<PassOutcome, Error> {
    Ok(pass.run().await?)
}
