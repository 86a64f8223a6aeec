//! `template.yaml` against the code: API Gateway sends each HTTP route of the route
//! table to the function whose router serves it, and no other route, so a route
//! added to a table cannot be forgotten in the deployed API; and the functions whose
//! work reaches the table's index may do so.

use backend_http::routes::{self, Route};
use std::collections::BTreeSet;
use system_tests::workspace_root;

type Routes = BTreeSet<(String, String)>;

/// `(method, path)` of every `HttpApi` event of one function resource, read from
/// the one-line `Properties: { ApiId: …, Method: …, Path: … }` form the template
/// uses; the CORS preflight catch-all is left out.
fn template_routes(function: &str) -> Routes {
    let mut out = Routes::new();
    for line in resource_lines(function) {
        let Some(props) = line
            .trim()
            .strip_prefix("Properties: { ApiId: !Ref HttpApi,")
        else {
            continue;
        };
        let field = |name: &str| {
            props
                .split(',')
                .find_map(|p| p.trim().strip_prefix(name))
                .map(|v| {
                    v.trim()
                        .trim_end_matches('}')
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
                .unwrap_or_else(|| panic!("{function}: no {name} in {line}"))
        };
        let method = field("Method:");
        if method != "OPTIONS" {
            out.insert((method, field("Path:")));
        }
    }
    out
}

/// The lines of one resource of `template.yaml`, its name line left out.
fn resource_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            inside = line.trim() == format!("{name}:");
        } else if inside {
            out.push(line.to_string());
        }
    }
    out
}

/// `(action, resource)` for every action and resource of each policy statement of a
/// function, as the template writes them (`!GetAtt Table.Arn`, …).
fn grants(function: &str) -> BTreeSet<(String, String)> {
    #[derive(PartialEq)]
    enum In {
        Action,
        Resource,
        Other,
    }
    let mut statements: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut mode = In::Other;
    for line in resource_lines(function) {
        let line = line.trim();
        if line.starts_with("- Sid:") {
            statements.push((Vec::new(), Vec::new()));
            mode = In::Other;
        } else if line == "Action:" {
            mode = In::Action;
        } else if let Some(rest) = line.strip_prefix("Resource:") {
            mode = In::Resource;
            if let (false, Some(s)) = (rest.trim().is_empty(), statements.last_mut()) {
                s.1.push(rest.trim().to_string());
                mode = In::Other;
            }
        } else if let (Some(item), Some(s)) = (line.strip_prefix("- "), statements.last_mut()) {
            match mode {
                In::Action => s.0.push(item.to_string()),
                In::Resource => s.1.push(item.to_string()),
                In::Other => {}
            }
        } else {
            mode = In::Other;
        }
    }
    statements
        .into_iter()
        .flat_map(|(actions, resources)| {
            actions
                .into_iter()
                .flat_map(move |a| resources.clone().into_iter().map(move |r| (a.clone(), r)))
        })
        .collect()
}

const TABLE: &str = "!GetAtt Table.Arn";
const INDEX: &str = r#"!Sub "${Table.Arn}/index/gsi1""#;

#[test]
fn functions_that_list_or_move_inquiries_may_use_the_index() {
    let needs: [(&str, &[(&str, &str)]); 3] = [
        // Listings read the status partitions of the index.
        ("AdminApiFunction", &[("dynamodb:Query", INDEX)]),
        // The retention sweep reads the closed inquiries' partition.
        ("ReportWorkerFunction", &[("dynamodb:Query", INDEX)]),
        // The relay's backfills move inquiries out of the legacy partition and count
        // records stored before the counts (a transaction of puts and updates).
        (
            "OutboxRelayFunction",
            &[
                ("dynamodb:Query", INDEX),
                ("dynamodb:GetItem", TABLE),
                ("dynamodb:PutItem", TABLE),
                ("dynamodb:UpdateItem", TABLE),
            ],
        ),
    ];
    for (function, wanted) in needs {
        let granted = grants(function);
        for (action, resource) in wanted {
            assert!(
                granted.contains(&(action.to_string(), resource.to_string())),
                "{function} may not {action} on {resource}: {granted:?}"
            );
        }
    }
}

/// The erasure (admin-api), and a report worker that finds its inquiry erased while
/// it drafted, remove an inquiry's report files with every kept version: the bucket
/// keeps versions, so a plain delete would leave them readable.
#[test]
fn functions_that_erase_may_remove_every_version_of_a_report_file() {
    const BUCKET: &str = "!GetAtt ReportsBucket.Arn";
    const FILES: &str = r#"!Sub "${ReportsBucket.Arn}/reports/*""#;
    for function in ["AdminApiFunction", "ReportWorkerFunction"] {
        let granted = grants(function);
        for (action, resource) in [
            ("s3:ListBucketVersions", BUCKET),
            ("s3:DeleteObject", FILES),
            ("s3:DeleteObjectVersion", FILES),
            ("dynamodb:DeleteItem", TABLE),
            ("dynamodb:ConditionCheckItem", TABLE),
        ] {
            assert!(
                granted.contains(&(action.to_string(), resource.to_string())),
                "{function} may not {action} on {resource}: {granted:?}"
            );
        }
    }
    let listing = resource_lines("AdminApiFunction").join("\n");
    assert!(
        listing.contains("s3:prefix: reports/*"),
        "listing versions is limited to the reports folder"
    );
}

fn table_routes(table: Vec<Route>) -> Routes {
    table
        .into_iter()
        .map(|r| (r.method.as_str().to_string(), r.path.to_string()))
        .collect()
}

#[test]
fn every_public_route_reaches_the_public_api_function() {
    assert_eq!(
        template_routes("PublicApiFunction"),
        table_routes(backend_http::public::table())
    );
}

#[test]
fn every_admin_route_reaches_the_admin_api_function() {
    let deployed = template_routes("AdminApiFunction");
    let served = table_routes(routes::admin());
    assert_eq!(
        served.difference(&deployed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served by admin-api but not routed to it"
    );
    assert_eq!(
        deployed.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed to admin-api but not served by it"
    );
}
