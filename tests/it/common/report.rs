//! A real Chromium driven over the DevTools protocol (`headless_chrome`), for
//! pages a person reads on a phone or prints: the HTML report and the status
//! page. The browser has no way out: every name resolves nowhere and every
//! request but loopback goes to a closed proxy.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::types::PrintToPdfOptions;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

/// The browser binary (a test that drives it needs `Need::Tool("chromium")`).
pub fn chromium_path() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium is missing (apt-get install chromium)")
}

/// A headless Chromium with the network off.
pub fn browser() -> Browser {
    let path = chromium_path();
    let mut args: Vec<&OsStr> = super::CHROMIUM_HEADLESS
        .iter()
        .filter(|a| **a != "--headless")
        .map(OsStr::new)
        .collect();
    args.extend(
        [
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--hide-scrollbars",
        ]
        .map(OsStr::new),
    );
    let options = LaunchOptions::default_builder()
        .path(Some(path))
        .headless(true)
        .sandbox(false)
        .args(args)
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .expect("launch options");
    Browser::new(options).expect("chromium starts")
}

/// A tab of `width` × `height` CSS pixels, as a phone shows it when `mobile`.
pub fn tab(browser: &Browser, width: u32, height: u32, mobile: bool) -> Arc<Tab> {
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(Duration::from_secs(30));
    let metrics: SetDeviceMetricsOverride = serde_json::from_value(serde_json::json!({
        "width": width, "height": height, "deviceScaleFactor": 1.0, "mobile": mobile
    }))
    .expect("device metrics");
    tab.call_method(metrics).expect("viewport set");
    tab
}

/// Loads `url` in `tab` and waits until it has loaded.
pub fn open(tab: &Tab, url: &str) {
    tab.navigate_to(url)
        .and_then(|t| t.wait_until_navigated())
        .unwrap_or_else(|e| panic!("{url}: {e}"));
}

/// Evaluates `js`, an expression that returns `JSON.stringify(...)`, and parses it.
pub fn eval(tab: &Tab, js: &str) -> Value {
    let v = tab
        .evaluate(js, false)
        .unwrap_or_else(|e| panic!("{e}: {js}"));
    let text = v
        .value
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no JSON text from {js}"));
    serde_json::from_str(&text).unwrap()
}

/// How the page lies in the viewport: its width, the document's width, and
/// every piece of text whose box passes the viewport's left or right edge.
pub const LAYOUT: &str = r#"JSON.stringify((() => {
  const width = window.innerWidth, bad = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const b of range.getClientRects()) {
      if (b.width > 0 && (b.right > width + 0.5 || b.left < -0.5)) {
        bad.push(n.textContent.trim().slice(0, 50) + " [" + Math.round(b.left) + ", " + Math.round(b.right) + "]");
      }
    }
  }
  return { width, document: document.documentElement.scrollWidth, bad };
})())"#;

/// Asserts that nothing on the page in `tab` runs off its side.
pub fn assert_fits(tab: &Tab, what: &str) -> Value {
    let layout = eval(tab, LAYOUT);
    let width = layout["width"].as_f64().unwrap();
    assert!(
        layout["document"].as_f64().unwrap() <= width,
        "{what}: the document is wider than the viewport: {layout}"
    );
    assert_eq!(
        layout["bad"],
        serde_json::json!([]),
        "{what}: text past the viewport's edge"
    );
    layout
}

/// Whether each element `selector` picks is shown inside the viewport, with
/// its text: `[{"text", "shown"}]`.
pub fn shown(tab: &Tab, selector: &str) -> Vec<(String, bool)> {
    let js = format!(
        r#"JSON.stringify([...document.querySelectorAll({selector:?})].map(e => {{
  const b = e.getBoundingClientRect(), s = getComputedStyle(e);
  const shown = b.width > 0 && b.height > 0 && b.left >= -0.5 && b.right <= window.innerWidth + 0.5
    && s.visibility !== "hidden" && s.display !== "none" && parseFloat(s.opacity) > 0;
  return {{ text: e.textContent.trim(), shown }};
}}))"#
    );
    eval(tab, &js)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["text"].as_str().unwrap().to_owned(), v["shown"] == true))
        .collect()
}

/// The page in `tab` printed to PDF as a person's "Save as PDF" would: its
/// own page size, backgrounds as they are.
pub fn pdf(tab: &Tab) -> Vec<u8> {
    tab.print_to_pdf(Some(PrintToPdfOptions {
        prefer_css_page_size: Some(true),
        print_background: Some(true),
        ..Default::default()
    }))
    .expect("print to PDF")
}

/// A PNG of the whole page in `tab` (for a person looking into a failure).
pub fn screenshot(tab: &Tab, path: &Path) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("screenshot");
    std::fs::write(path, png).unwrap();
}

/// Each page's size in points and its text, by poppler's `pdfinfo` and
/// `pdftotext` (a test that reads them needs `Need::Tool("pdfinfo")`).
pub fn pdf_pages(pdf: &Path) -> Vec<((f64, f64), String)> {
    let info = Command::new("pdfinfo")
        .args(["-f", "1", "-l", "9999"])
        .arg(pdf)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .expect("pdfinfo is missing (apt-get install poppler-utils)");
    let sizes: Vec<(f64, f64)> = info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains(" size: "))
        .map(|l| {
            let dims: Vec<f64> = l
                .split(" size: ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (dims[0], dims[1])
        })
        .collect();
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    sizes.into_iter().zip(pages).collect()
}
