//! The site in a real browser: `gongkai dev` takes the PPP lifecycle over
//! gRPC, and Debian's headless Chromium (`/usr/bin/chromium`, installed by
//! `scripts/bootstrap.sh`) opens the home page, searches, opens the project
//! from the result's link and renders its page. The site works without
//! JavaScript, so the search is the GET request the home page's form
//! produces; the test reads the form from the rendered DOM first, so it fails
//! when the form changes. Screenshots of the project page (desktop and phone
//! widths) go to `target/test-output/`. Chromium is shown no CJK font, so
//! the Chinese in them is the site's web font.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gongkai_scenarios::ppp_lifecycle;
use gongkai_store::View;
use reqwest::Url;

use crate::projection::{timeline, wait_for_public_seq};

/// Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Fonts without CJK characters (Debian's `fonts-dejavu-core`, which
/// fontconfig depends on).
const LATIN_FONTS: &str = "/usr/share/fonts/truetype/dejavu";

/// Where screenshots go: the workspace's `target/test-output/`.
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-output");
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    dir
}

/// Runs headless Chromium on `url` with `extra` flags and a fresh profile;
/// returns its stdout.
async fn chromium(url: &Url, extra: &[&str]) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser test needs Debian's `chromium` (run scripts/bootstrap.sh, or \
         `apt-get install chromium`)"
    );
    let profile = tempfile::tempdir().expect("profile dir");
    let mut command = tokio::process::Command::new(CHROMIUM);
    // The reader with no CJK font: Chromium sees only DejaVu (with the
    // system's aliases), so the Chinese in the screenshots is the site's web font.
    assert!(Path::new(LATIN_FONTS).is_dir(), "{LATIN_FONTS} is missing (Debian's fonts-dejavu-core)");
    let fonts = profile.path().join("fonts.conf");
    let config = format!(
        "<fontconfig><include ignore_missing=\"yes\">/etc/fonts/conf.d</include><dir>{LATIN_FONTS}</dir>\
         <cachedir>{}</cachedir></fontconfig>",
        profile.path().display()
    );
    std::fs::write(&fonts, config).expect("fontconfig file written");
    command.env("FONTCONFIG_FILE", &fonts);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--disable-quic",
            "--hide-scrollbars",
            // A reader in China: the site answers Chromium's default
            // `Accept-Language: en-US` in English.
            "--lang=zh-CN",
            "--accept-lang=zh-CN,zh",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url.as_str())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish {url} within 90 s"))
        .unwrap_or_else(|error| panic!("cannot run {CHROMIUM}: {error}"));
    assert!(
        output.status.success(),
        "chromium failed on {url} ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The DOM of `url` after Chromium rendered it.
async fn dump_dom(url: &Url) -> String {
    let dom = chromium(url, &["--dump-dom"]).await;
    assert!(dom.contains("</html>"), "no DOM for {url}: {dom}");
    dom
}

/// A PNG of `url` in a `width`×`height` window, at `file` under the output dir.
async fn screenshot(url: &Url, (width, height): (u32, u32), file: &str) -> PathBuf {
    let path = output_dir().join(file);
    let _ = std::fs::remove_file(&path);
    chromium(url, &[&format!("--screenshot={}", path.display()), &format!("--window-size={width},{height}")]).await;
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("no screenshot at {}: {error}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
    assert!(bytes.len() > 20_000, "{} is only {} bytes: a blank page?", path.display(), bytes.len());
    path
}

/// The first element that starts with `open` (e.g. `<form`) and contains
/// `marker` in its opening tag, up to `close`.
fn element<'a>(dom: &'a str, open: &str, marker: &str, close: &str) -> &'a str {
    dom.match_indices(open)
        .map(|(at, _)| &dom[at..])
        .find(|rest| rest[..rest.find('>').unwrap_or(0)].contains(marker))
        .and_then(|rest| rest.find(close).map(|end| &rest[..end + close.len()]))
        .unwrap_or_else(|| panic!("no {open} … {marker} … {close} in the DOM:\n{dom}"))
}

/// The value of `name` in the first tag of `html`.
fn attribute<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let tag = &html[..html.find('>')?];
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

#[tokio::test]
async fn chromium_searches_opens_and_renders_the_project_page() {
    let crate::support::Embedded { _dir, gongkai, clients, store } = crate::support::Embedded::start().await;
    let lifecycle = ppp_lifecycle("2024-230113-77-01-000021", "browser");
    let mut head = 0;
    for request in lifecycle.requests.clone() {
        head = clients.send(request).await.expect("accepted").project_seq;
    }
    wait_for_public_seq(&store, &lifecycle.project_code, head, Duration::from_secs(20)).await;
    let public = timeline(&store, View::Public, &lifecycle.project_code).await;
    let code = &lifecycle.project_code;
    let site = Url::parse(gongkai.endpoint("site")).expect("site URL");

    // Home: the search form, as the browser sees it.
    let home = dump_dom(&site).await;
    assert!(home.contains(r#"<html lang="zh-CN">"#), "Chinese by default");
    let form = element(&home, "<form", r#"role="search""#, "</form>");
    assert_eq!(attribute(form, "action"), Some("/projects"), "the search form's action: {form}");
    assert_eq!(attribute(form, "method").map(str::to_ascii_lowercase).as_deref(), Some("get"), "a GET form: {form}");
    let input = element(form, "<input", r#"type="search""#, ">");
    let field = attribute(input, "name").expect("the search box has a name");
    assert_eq!(field, "q", "the search field: {input}");
    let label = element(form, "<label", "for=", "</label>");
    assert_eq!(attribute(label, "for"), attribute(input, "id"), "the search box is labelled");

    // Search: the URL submitting the form with 污水 produces.
    let search = Url::parse_with_params(site.join("/projects").expect("action").as_str(), [(field, "污水")])
        .expect("search URL");
    let results = dump_dom(&search).await;
    let table = element(&results, "<tbody", "", "</tbody>");
    let link = element(table, "<a", &format!(r#"href="/projects/{code}"#), "</a>");
    let href = attribute(link, "href").expect("the result links its project");

    // The project, opened from the result's link.
    let project_url = search.join(href).expect("project URL");
    let page = dump_dom(&project_url).await;
    let name = store.public().public_project(code).await.expect("reads").expect("public").name;
    assert!(page.contains(&format!("<h1>{name}</h1>")), "headed by its name");
    let stage_bar = element(&page, "<ol", r#"class="stages""#, "</ol>");
    for stage in ["立项", "招标", "评标", "中标", "合同", "履约", "竣工"] {
        assert!(stage_bar.contains(stage), "stage bar shows {stage}: {stage_bar}");
    }
    assert_eq!(stage_bar.matches(r#"aria-current="step""#).count(), 1, "exactly one current stage: {stage_bar}");
    let timeline_list = element(&page, "<ol", r#"class="timeline""#, "</ol>");
    assert_eq!(timeline_list.matches(r#"<li id="seq-"#).count(), public.len(), "one timeline item per public entry");
    for entry in &public {
        assert!(timeline_list.contains(&entry.title_zh), "the timeline shows {}", entry.title_zh);
    }
    assert!(page.contains("<time datetime="), "dated entries");

    // Screenshots, desktop and phone.
    let desktop = screenshot(&project_url, (1280, 2400), "project-page.png").await;
    let phone = screenshot(&project_url, (390, 844), "project-page-phone.png").await;
    let mut english_url = project_url.clone();
    english_url.set_query(Some("lang=en"));
    let english_phone = screenshot(&english_url, (390, 844), "project-page-phone-en.png").await;
    println!("screenshots: {}, {} and {}", desktop.display(), phone.display(), english_phone.display());
}
