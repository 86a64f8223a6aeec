//! `template.yaml` against the code: API Gateway sends each HTTP route of the route
//! table to the function whose router serves it, and no other route, so a route
//! added to a table cannot be forgotten in the deployed API.

use shared::http::routes::{self, Route};
use std::collections::BTreeSet;
use system_tests::workspace_root;

type Routes = BTreeSet<(String, String)>;

/// `(method, path)` of every `HttpApi` event of one function resource, read from
/// the one-line `Properties: { ApiId: …, Method: …, Path: … }` form the template
/// uses; the CORS preflight catch-all is left out.
fn template_routes(function: &str) -> Routes {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let mut inside = false;
    let mut out = Routes::new();
    for line in text.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            inside = line.trim() == format!("{function}:");
            continue;
        }
        let Some(props) = line
            .trim()
            .strip_prefix("Properties: { ApiId: !Ref HttpApi,")
        else {
            continue;
        };
        if !inside {
            continue;
        }
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
        table_routes(shared::http::public::table())
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
