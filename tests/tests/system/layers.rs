//! The layer rules, as Cargo resolves them: the core depends on no SDK, no web
//! framework and no Lambda runtime, and each function links only the SDK clients
//! its own feature turns on, over one TLS stack, in the build `sam build` makes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use system_tests::workspace_root;

/// The normal (non-dev, non-build) dependencies of one package, by name and version,
/// resolved as a build from `dir` with `args` resolves them.
fn dependencies_in(dir: &Path, args: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?} in {}: {}",
        dir.display(),
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

/// A function's dependencies as `sam build` resolves them: cargo-lambda runs
/// `cargo lambda build --bin <function>` in the `CodeUri` folder of the template
/// resource whose `Binary` is the function, and Cargo unifies features over the
/// packages that folder selects. From the workspace root that would be every member,
/// and each function would link every SDK client.
fn function_dependencies(function: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let (mut binary, mut code_uri) = (None, None);
    let mut found = None;
    for line in text.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            (binary, code_uri) = (None, None);
        } else if let Some(b) = line.trim().strip_prefix("Binary:") {
            binary = Some(b.trim().to_string());
        } else if let Some(c) = line.trim().strip_prefix("CodeUri:") {
            code_uri = Some(c.trim().to_string());
        }
        if let (Some(b), Some(c)) = (&binary, &code_uri) {
            if b == function {
                found = Some(c.clone());
            }
        }
    }
    let dir = found.unwrap_or_else(|| panic!("template.yaml builds no Binary: {function}"));
    assert_eq!(
        dir,
        format!("functions/{function}"),
        "{function} must build from its own package"
    );
    dependencies_in(&workspace_root().join(dir), &[])
}

fn names(deps: &BTreeSet<String>) -> BTreeSet<&str> {
    deps.iter()
        .filter_map(|d| d.split_whitespace().next())
        .collect()
}

#[test]
fn the_core_knows_no_sdk_no_web_framework_and_no_lambda() {
    let deps = dependencies_in(&workspace_root(), &["-p", "backend-core"]);
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
        let deps = function_dependencies(function);
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
