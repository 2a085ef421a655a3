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

/// A fontconfig file in `dir` for a reader with no CJK font: Chromium sees
/// only DejaVu (with the system's aliases), so the Chinese in the
/// screenshots is the site's web font.
fn latin_fonts_only(dir: &Path) -> PathBuf {
    assert!(Path::new(LATIN_FONTS).is_dir(), "{LATIN_FONTS} is missing (Debian's fonts-dejavu-core)");
    let fonts = dir.join("fonts.conf");
    let config = format!(
        "<fontconfig><include ignore_missing=\"yes\">/etc/fonts/conf.d</include><dir>{LATIN_FONTS}</dir>\
         <cachedir>{}</cachedir></fontconfig>",
        dir.display()
    );
    std::fs::write(&fonts, config).expect("fontconfig file written");
    fonts
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
    command.env("FONTCONFIG_FILE", latin_fonts_only(profile.path()));
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

/// Where `selectors` land on `url` in each viewport, measured in Chromium
/// once the page's fonts are in (`layout.py`, over the DevTools protocol):
/// per viewport, the page's width, its scroll width and each selector's box
/// (null when absent). Saves a screenshot of each viewport named in
/// `shots` (`{name}-desktop.png`, `{name}-phone.png`) under the output dir.
async fn layout(url: &Url, shots: &str, selectors: &[&str]) -> [serde_json::Value; 2] {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/end_to_end/layout.py");
    let fonts = tempfile::tempdir().expect("fontconfig dir");
    let viewports = [("desktop", DESKTOP), ("phone", PHONE)];
    let mut pngs = Vec::new();
    let mut command = tokio::process::Command::new(gongkai_testkit::tools::python());
    command.env("FONTCONFIG_FILE", latin_fonts_only(fonts.path())).arg(script).args([
        CHROMIUM,
        url.as_str(),
        &serde_json::to_string(selectors).expect("JSON"),
    ]);
    for (name, (width, height)) in viewports {
        let png = output_dir().join(format!("{shots}-{name}.png"));
        let _ = std::fs::remove_file(&png);
        command.arg(format!("{width}x{height}={}", png.display()));
        pngs.push(png);
    }
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .unwrap_or_else(|_| panic!("layout.py did not finish {url} within 90 s"))
        .expect("layout.py runs");
    assert!(output.status.success(), "layout.py failed on {url}: {}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("layout.py printed {line}: {error}")))
        .collect();
    for png in &pngs {
        let bytes = std::fs::read(png).unwrap_or_else(|error| panic!("no screenshot at {}: {error}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", png.display());
    }
    <[serde_json::Value; 2]>::try_from(lines).unwrap_or_else(|lines| panic!("one measurement per viewport: {lines:?}"))
}

/// The bottom of `selector`'s box in one measurement; fails when it is absent.
fn bottom(measured: &serde_json::Value, selector: &str) -> f64 {
    measured["boxes"][selector]["bottom"].as_f64().unwrap_or_else(|| panic!("no {selector} on the page: {measured}"))
}

/// A desktop's first screen and a phone's.
const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

/// The pages a reader looks at first, as the reader sees them, for people
/// to judge (screenshots of each in both languages, desktop and phone) and
/// for the test to measure: the project page's first desktop screen holds
/// its stage, its schedule and its money, and no page scrolls sideways on
/// a phone.
#[tokio::test]
async fn the_first_screens_show_stage_schedule_and_money_and_fit_a_phone() {
    let crate::support::Embedded { _dir, gongkai, clients, store } = crate::support::Embedded::start().await;
    // A PPP project with two lots, and a project with land expropriation.
    let ppp = ppp_lifecycle("2024-230113-77-01-000031", "first-screen-ppp");
    let land = gongkai_scenarios::land::expropriation_lifecycle("2024-230113-77-01-000032", "first-screen-land");
    for lifecycle in [&ppp, &land] {
        let mut head = 0;
        for request in lifecycle.requests.clone() {
            head = clients.send(request).await.expect("accepted").project_seq;
        }
        wait_for_public_seq(&store, &lifecycle.project_code, head, Duration::from_secs(30)).await;
    }
    let site = Url::parse(gongkai.endpoint("site")).expect("site URL");
    let pages = [
        ("home", "/".to_owned()),
        ("ppp-project", format!("/projects/{}", ppp.project_code)),
        ("land-project", format!("/projects/{}", land.project_code)),
        ("region-promptness", "/regions/2301/promptness".to_owned()),
    ];
    let mut shots = 0;
    for (name, path) in &pages {
        for lang in ["zh", "en"] {
            let mut url = site.join(path).expect("page URL");
            if lang == "en" {
                url.set_query(Some("lang=en"));
            }
            let (status, _) = crate::support::http_get(url.as_str()).await;
            assert_eq!(status, 200, "{url}");
            let [desktop, phone] = layout(&url, &format!("{name}-{lang}"), &["ol.stages", "#schedule", "#money"]).await;
            shots += 2;
            for measured in [&desktop, &phone] {
                let (scroll, width) = (measured["scrollWidth"].as_f64(), measured["width"].as_f64());
                let (scroll, width) = scroll.zip(width).unwrap_or_else(|| panic!("no widths for {url}: {measured}"));
                assert!(scroll <= width, "{url} scrolls sideways: {measured}");
            }
            if *name == "ppp-project" {
                let screen = f64::from(DESKTOP.1);
                for selector in ["ol.stages", "#schedule", "#money"] {
                    let end = bottom(&desktop, selector);
                    assert!(end <= screen, "{url}: {selector} ends at {end} px, below the first screen ({screen} px)");
                }
            }
        }
    }
    println!("{shots} screenshots in {}", output_dir().display());
}
