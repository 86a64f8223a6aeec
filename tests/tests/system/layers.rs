//! The layer rules, as Cargo resolves them: the core depends on no SDK, no web
//! framework and no Lambda runtime, and each function links only the SDK clients
//! its own feature turns on, over one TLS stack.

use std::collections::BTreeSet;
use std::process::Command;
use system_tests::workspace_root;

/// The normal (non-dev, non-build) dependencies of one package, by name and version,
/// resolved as `cargo build -p <package>` would resolve them.
fn dependencies(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}

fn names(deps: &BTreeSet<String>) -> BTreeSet<&str> {
    deps.iter()
        .filter_map(|d| d.split_whitespace().next())
        .collect()
}

#[test]
fn the_core_knows_no_sdk_no_web_framework_and_no_lambda() {
    let deps = dependencies("backend-core");
    let outward: Vec<&str> = names(&deps)
        .into_iter()
        .filter(|n| {
            n.starts_with("aws-")
                || n.starts_with("backend-") && *n != "backend-core"
                || [
                    "axum",
                    "hyper",
                    "lambda_runtime",
                    "lambda_http",
                    "rusqlite",
                    "reqwest",
                ]
                .contains(n)
        })
        .collect();
    assert!(outward.is_empty(), "backend-core depends on {outward:?}");
}

#[test]
fn each_function_links_only_the_sdk_clients_it_builds() {
    let sdks = [
        "aws-sdk-dynamodb",
        "aws-sdk-sqs",
        "aws-sdk-s3",
        "aws-sdk-sesv2",
        "aws-sdk-bedrockruntime",
        "aws-sdk-apigatewaymanagement",
    ];
    let expected: &[(&str, &[&str])] = &[
        ("public-api", &["aws-sdk-dynamodb", "aws-sdk-sqs"]),
        ("outbox-relay", &["aws-sdk-dynamodb", "aws-sdk-sqs"]),
        (
            "admin-api",
            &[
                "aws-sdk-dynamodb",
                "aws-sdk-sqs",
                "aws-sdk-s3",
                "aws-sdk-bedrockruntime",
            ],
        ),
        (
            "report-worker",
            &[
                "aws-sdk-dynamodb",
                "aws-sdk-sqs",
                "aws-sdk-s3",
                "aws-sdk-bedrockruntime",
            ],
        ),
        (
            "notify-worker",
            &["aws-sdk-dynamodb", "aws-sdk-sqs", "aws-sdk-sesv2"],
        ),
        (
            "chat-ws",
            &[
                "aws-sdk-dynamodb",
                "aws-sdk-sqs",
                "aws-sdk-bedrockruntime",
                "aws-sdk-apigatewaymanagement",
            ],
        ),
    ];
    for (function, wanted) in expected {
        let deps = dependencies(function);
        let linked: Vec<&str> = names(&deps)
            .into_iter()
            .filter(|n| sdks.contains(n))
            .collect();
        let mut wanted = wanted.to_vec();
        wanted.sort();
        assert_eq!(linked, wanted, "{function}");
        let tls: Vec<&String> = deps.iter().filter(|d| d.starts_with("rustls ")).collect();
        assert_eq!(tls.len(), 1, "{function} links {tls:?}");
        let hyper: Vec<&String> = deps.iter().filter(|d| d.starts_with("hyper ")).collect();
        assert_eq!(hyper.len(), 1, "{function} links {hyper:?}");
    }
}
