//! The release profile the functions ship with: a panic in a handler must unwind to
//! the layer that turns it into the error envelope. cargo-lambda builds with
//! `panic = "abort"` unless the profile states otherwise, which the debug-profile
//! tests would never see.

use system_tests::workspace_root;

/// The `key = value` lines of one `[section]` of the workspace manifest.
fn manifest_section(name: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let header = format!("[{name}]");
    text.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn release_builds_unwind_on_panic() {
    let release = manifest_section("profile.release");
    assert!(!release.is_empty(), "no [profile.release] in Cargo.toml");
    assert!(
        release.contains(&("panic".to_string(), "\"unwind\"".to_string())),
        "[profile.release] must say panic = \"unwind\": {release:?}"
    );
}
