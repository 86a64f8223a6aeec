//! Rendering a report for people: Markdown to HTML in the firm's template, and to a
//! PDF. Raw HTML in the Markdown is shown as text and only http(s) and mailto links
//! stay links, so neither a model nor a prospect can inject markup or scripts.

use crate::domain::report::Report;
use crate::domain::Inquiry;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// Markdown to an HTML fragment, with raw HTML escaped and unsafe links unlinked
/// (their text stays).
pub fn markdown_to_html(md: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    // For each open link or image: was its start dropped?
    let mut dropped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(md, opts).filter_map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
        Event::Start(Tag::Link { ref dest_url, .. })
        | Event::Start(Tag::Image { ref dest_url, .. }) => {
            let unsafe_url = !safe_url(dest_url);
            dropped.push(unsafe_url);
            (!unsafe_url).then_some(e)
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
            if dropped.pop().unwrap_or(false) {
                None
            } else {
                Some(e)
            }
        }
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The whole report page in the firm's template.
pub fn report_page(report: &Report, inquiry: &Inquiry) -> String {
    let services: Vec<&str> = inquiry.services.iter().map(|s| s.name()).collect();
    let author = if report.generated_by == crate::domain::report::TEMPLATE_AUTHOR {
        "Template draft (not AI-written)".to_string()
    } else {
        format!("Drafted by {}", report.generated_by)
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; max-width: 860px; margin: 2rem auto; padding: 0 1rem; line-height: 1.55; }}
header {{ border-bottom: 3px solid #ff9900; margin-bottom: 1.5rem; }}
header .firm {{ color: #232f3e; font-weight: 700; letter-spacing: .04em; text-transform: uppercase; font-size: .85rem; }}
table.meta {{ border-collapse: collapse; margin: 1rem 0; font-size: .9rem; }}
table.meta th {{ text-align: left; padding: .2rem 1rem .2rem 0; color: #52606d; font-weight: 600; }}
blockquote {{ border-left: 4px solid #d9e2ec; margin-left: 0; padding-left: 1rem; color: #3e4c59; }}
footer {{ margin-top: 2rem; font-size: .8rem; color: #7b8794; }}
</style>
</head>
<body>
<header><div class="firm">Cloud Consulting</div><h1>{title}</h1></header>
<table class="meta">
<tr><th>Inquiry</th><td>{inquiry_id}</td></tr>
<tr><th>Company</th><td>{company}</td></tr>
<tr><th>Services</th><td>{services}</td></tr>
<tr><th>Priority</th><td>{priority}</td></tr>
<tr><th>Status</th><td>{status}</td></tr>
<tr><th>Author</th><td>{author}</td></tr>
<tr><th>Created</th><td>{created}</td></tr>
</table>
<main>
{body}
</main>
<footer>Report {report_id} · confidential</footer>
</body>
</html>
"#,
        title = html_escape(&report.title),
        inquiry_id = html_escape(inquiry.id.as_str()),
        company = html_escape(&inquiry.company),
        services = html_escape(&services.join(", ")),
        priority = html_escape(inquiry.priority.as_str()),
        status = html_escape(report.status.as_str()),
        author = html_escape(&author),
        created = html_escape(&report.created_at),
        body = markdown_to_html(&report.content),
        report_id = html_escape(report.id.as_str()),
    )
}

/// The report as a PDF (A4, Helvetica): title, the inquiry's particulars, then the
/// Markdown's text with headings, paragraphs and list items, wrapped and paginated.
/// The standard PDF fonts cover Latin-1; other characters print as `?`.
pub fn report_pdf(report: &Report, inquiry: &Inquiry) -> Result<Vec<u8>, String> {
    use printpdf::{BuiltinFont, Mm, PdfDocument};
    const WIDTH: f32 = 210.0;
    const HEIGHT: f32 = 297.0;
    const MARGIN: f32 = 20.0;

    let latin1 = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if (c as u32) < 256 && !c.is_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    };
    let (doc, page, layer) = PdfDocument::new(latin1(&report.title), Mm(WIDTH), Mm(HEIGHT), "text");
    let regular = doc
        .add_builtin_font(BuiltinFont::Helvetica)
        .map_err(|e| e.to_string())?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(|e| e.to_string())?;
    let mut current = doc.get_page(page).get_layer(layer);
    let mut y = HEIGHT - MARGIN;

    // (text, size in pt, bold)
    let mut lines: Vec<(String, f32, bool)> = vec![
        (report.title.clone(), 16.0, true),
        (String::new(), 6.0, false),
        (
            format!("Inquiry {} - {}", inquiry.id, inquiry.company),
            9.0,
            false,
        ),
        (
            format!(
                "Services: {}",
                inquiry
                    .services
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            9.0,
            false,
        ),
        (
            format!(
                "Priority: {}   Status: {}   Created: {}",
                inquiry.priority,
                report.status.as_str(),
                report.created_at
            ),
            9.0,
            false,
        ),
        (
            if report.generated_by == crate::domain::report::TEMPLATE_AUTHOR {
                "Template draft (not AI-written)".to_string()
            } else {
                format!("Drafted by {}", report.generated_by)
            },
            9.0,
            false,
        ),
        (String::new(), 8.0, false),
    ];
    let mut text = String::new();
    let mut heading: Option<f32> = None;
    let flush = |text: &mut String, size: f32, bold: bool, lines: &mut Vec<(String, f32, bool)>| {
        let t = text.trim().to_string();
        text.clear();
        if t.is_empty() {
            return;
        }
        // Helvetica averages about half an em per character.
        let per_line = ((WIDTH - 2.0 * MARGIN) / (size * 0.5 * 0.3528)) as usize;
        let mut line = String::new();
        for word in t.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > per_line {
                lines.push((std::mem::take(&mut line), size, bold));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push((line, size, bold));
        }
        lines.push((String::new(), size * 0.5, false));
    };
    for event in Parser::new_ext(&report.content, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some(match level {
                    pulldown_cmark::HeadingLevel::H1 => 15.0,
                    pulldown_cmark::HeadingLevel::H2 => 13.0,
                    _ => 11.5,
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut text, heading.unwrap_or(12.0), true, &mut lines);
                heading = None;
            }
            Event::Start(Tag::Item) => text.push_str("- "),
            Event::End(TagEnd::Paragraph)
            | Event::End(TagEnd::Item)
            | Event::End(TagEnd::CodeBlock)
            | Event::End(TagEnd::TableRow) => flush(&mut text, 10.5, false, &mut lines),
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                text.push_str(&t)
            }
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::TableCell) => text.push_str("  "),
            _ => {}
        }
    }
    flush(&mut text, 10.5, false, &mut lines);

    for (line, size, is_bold) in lines {
        let step = size * 0.3528 * 1.35;
        if y - step < MARGIN {
            let (p, l) = doc.add_page(Mm(WIDTH), Mm(HEIGHT), "text");
            current = doc.get_page(p).get_layer(l);
            y = HEIGHT - MARGIN;
        }
        y -= step;
        if !line.is_empty() {
            current.use_text(
                latin1(&line),
                size,
                Mm(MARGIN),
                Mm(y),
                if is_bold { &bold } else { &regular },
            );
        }
    }
    doc.save_to_bytes().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_and_script_links_do_not_survive() {
        let html = markdown_to_html("Hi <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://aws.amazon.com) <img src=x onerror=y>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(
            html.contains(r#"<a href="https://aws.amazon.com">ok</a>"#),
            "{html}"
        );
        assert!(
            html.contains(">x<") || html.contains(" x "),
            "the unsafe link's text stays: {html}"
        );
    }

    #[test]
    fn markdown_structure_renders() {
        let html = markdown_to_html("# T\n\n## S\n\n- a\n- b\n\n> quote\n\n**bold**");
        for tag in [
            "<h1>",
            "<h2>",
            "<ul>",
            "<li>a</li>",
            "<blockquote>",
            "<strong>bold</strong>",
        ] {
            assert!(html.contains(tag), "{tag} in {html}");
        }
    }
}
