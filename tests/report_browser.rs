//! The flow report in a real browser: `tasksync demo` writes the report of its simulated
//! months, headless Chromium (the system's package; `.ci/run` installs it) opens it, and the
//! test checks that it rendered: the charts are in the DOM as the browser parsed it, and the
//! screenshot is not blank (the charts' colours cover a good part of it).
//!
//! The picture in the README, `docs/report.png`, is this screenshot:
//! `TASKSYNC_UPDATE_DOCS=1 cargo test --test report_browser` writes it again.
// Tests and benchmarks may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser's window: the page's width, tall enough for all of it.
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 2700;

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            && output.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        }
    }
    panic!(
        "this test needs headless Chromium: `apt-get install chromium` (Debian), or run .ci/test, which installs it"
    );
}

/// Runs headless Chromium on `page` with `args` in a profile of its own; its standard output.
fn browse(profile: &Path, page: &Path, args: &[&str]) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--window-size={WIDTH},{HEIGHT}"),
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .current_dir(profile)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The screenshot's pixels as RGB, with its size.
fn pixels(png_file: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let step = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let rgb = buffer[..frame.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (frame.width, frame.height, rgb)
}

/// The share of pixels within a small distance of `colour`.
fn share(pixels: &[[u8; 3]], colour: [u8; 3]) -> f64 {
    let near = pixels
        .iter()
        .filter(|p| {
            p.iter()
                .zip(colour)
                .all(|(a, b)| (i16::from(*a) - i16::from(b)).abs() <= 24)
        })
        .count();
    near as f64 / pixels.len() as f64
}

#[test]
#[cfg_attr(
    not(tool_chromium),
    ignore = "needs headless Chromium, not found on PATH at build time: `apt-get install chromium`, then `cargo test --test report_browser -- --include-ignored` (`.ci/test` does both)"
)]
fn the_demos_report_renders_in_headless_chromium_with_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("demo");
    let output = common::tasksync(dir.path())
        .args(["demo", "--keep", &kept.display().to_string()])
        .env_remove("NOTION_TOKEN")
        .env_remove("SMTP_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let report = kept.join("report.html");
    assert!(
        stdout.contains(&report.display().to_string()),
        "the demo prints where the report is:\n{stdout}"
    );

    // The DOM as the browser built it: the three charts drawn inside their sections.
    let profile = dir.path().join("profile");
    std::fs::create_dir_all(&profile).unwrap();
    let dom = browse(&profile, &report, &["--dump-dom"]);
    let section = |id: &str| -> String {
        let start = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("#{id} is not in the DOM"));
        let rest = &dom[start..];
        rest[..rest.find("</svg>").expect("a chart is an svg element")].to_string()
    };
    let flow = section("chart-flow");
    assert!(flow.contains("<svg") && flow.matches("<polygon").count() >= 3);
    for chart in ["chart-cycle", "chart-throughput"] {
        let bars = section(chart).matches("<rect").count();
        assert!(bars > 5, "{chart}: {bars} rectangles");
    }
    for table in ["throughput-table", "aging-table"] {
        assert!(dom.contains(&format!("id=\"{table}\"")), "{table}");
    }

    // The picture: not blank, and the charts' colours are on it.
    let screenshot = dir.path().join("report.png");
    browse(
        &profile,
        &report,
        &[&format!("--screenshot={}", screenshot.display())],
    );
    let (width, height, rgb) = pixels(&screenshot);
    assert_eq!((width, height), (WIDTH, HEIGHT));
    let white = share(&rgb, [255, 255, 255]);
    assert!(
        white < 0.93,
        "{:.0}% of the screenshot is white",
        white * 100.0
    );
    // The Done band of the flow and the throughput bars (green), the cycle histogram (blue).
    let green = share(&rgb, [82, 178, 108]) + share(&rgb, [52, 168, 83]);
    let blue = share(&rgb, [66, 133, 244]) + share(&rgb, [95, 152, 245]);
    eprintln!(
        "screenshot {width}x{height}: white {:.1}%, green {:.2}%, blue {:.2}%",
        white * 100.0,
        green * 100.0,
        blue * 100.0
    );
    assert!(green > 0.03, "green covers {:.2}%", green * 100.0);
    assert!(blue > 0.002, "blue covers {:.2}%", blue * 100.0);

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.png");
    if std::env::var_os("TASKSYNC_UPDATE_DOCS").is_some() {
        std::fs::copy(&screenshot, &docs).unwrap();
    }
    // The README's picture is one of these screenshots (same browser, same size).
    let (docs_width, docs_height, _) = pixels(&docs);
    assert_eq!((docs_width, docs_height), (WIDTH, HEIGHT));
}
