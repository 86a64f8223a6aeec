//! Settings from Secrets Manager, against the emulator: the reader's contract
//! (every secret in one call, refusals named, values never shown) and a function's
//! start reading its sign-in settings from the secret its environment names.

use backend_aws::{read_secrets, SecretsError};
use backend_lambda::Part;
use system_tests::{aws_env, aws_resources, json, lookup, sdk_config, stored_secret};

#[tokio::test]
async fn every_named_secret_is_read_in_one_call_keyed_by_the_id_given() {
    let sdk = sdk_config().await;
    let by_arn = stored_secret("first").await;
    let second_arn = stored_secret("second").await;
    let by_name = aws_sdk_secretsmanager::Client::new(&sdk)
        .describe_secret()
        .secret_id(&second_arn)
        .send()
        .await
        .unwrap()
        .name()
        .unwrap()
        .to_string();
    let got = read_secrets(&sdk, &[by_arn.clone(), by_name.clone()])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[&by_arn], "first");
    assert_eq!(got[&by_name], "second");
    assert!(read_secrets(&sdk, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_or_binary_secret_is_named_and_no_value_is_shown() {
    let sdk = sdk_config().await;
    let present = stored_secret("hunter2-value").await;
    let missing = "no-such-secret-here".to_string();
    let err = read_secrets(&sdk, &[present.clone(), missing.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SecretsError::Refused { id, .. } if *id == missing),
        "{err:?}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let binary = format!("b{}", ulid::Ulid::new().to_string().to_lowercase());
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&binary)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(vec![
            0u8, 1, 2,
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        read_secrets(&sdk, std::slice::from_ref(&binary))
            .await
            .unwrap_err(),
        SecretsError::NotAString { id: binary }
    );
}

#[tokio::test]
async fn a_functions_sign_in_settings_come_from_the_secret_its_environment_names() {
    let sdk = sdk_config().await;
    let res = aws_resources().await;
    let mut env = aws_env(&res);
    env.extend(system_tests::auth_secret_env().await);
    assert!(lookup(&env, "JWT_SECRET").is_none() && lookup(&env, "ADMIN_USERS").is_none());
    let settings = backend_lambda::settings(&sdk, |k| lookup(&env, k), &[Part::Aws, Part::Auth])
        .await
        .unwrap();
    let auth = settings.auth.expect("sign-in configured from the secret");
    assert_eq!(auth.admins.len(), 1);
    assert_eq!(auth.admins[0].username, system_tests::ADMIN_USER);

    // A secret of the wrong shape stops the start, naming the variable, not the value.
    let bad = stored_secret(&json!({"jwt_secret": "hunter2-hunter2"}).to_string()).await;
    let env = [("ADMIN_SECRET_ID", bad)];
    let err = backend_lambda::settings(&sdk, |k| lookup(&env, k), &[Part::Auth])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ADMIN_SECRET_ID"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
