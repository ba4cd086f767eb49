//! `--web-demo`: the page and the package's web build served at `/demo`, checked at start.

use guest_chat_emulator::{Emulator, EmulatorArgs, WebDemo};
use std::fs;

fn dirs() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let page = tmp.path().join("demo");
    let pkg = tmp.path().join("pkg");
    fs::create_dir_all(&page).expect("page dir");
    fs::create_dir_all(&pkg).expect("pkg dir");
    fs::write(
        page.join("index.html"),
        "<!doctype html><title>demo page</title>",
    )
    .expect("index");
    fs::write(page.join("demo.js"), "export const x = 1;").expect("demo.js");
    fs::write(
        pkg.join("guest_chat_js.js"),
        "export default function init() {}",
    )
    .expect("entry");
    fs::write(pkg.join("guest_chat_js_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    (tmp, page, pkg)
}

#[tokio::test]
async fn serves_the_page_and_the_package_under_demo() {
    let (_tmp, page, pkg) = dirs();
    let emu = Emulator::builder()
        .web_demo(WebDemo::new(&page, &pkg).expect("valid dirs"))
        .start()
        .await
        .expect("start");
    let base = emu.base_url();
    let http = reqwest::Client::new();
    // `GET path` below the emulator's base URL.
    let get = |path: &str| {
        let url = format!("{base}{path}");
        let http = http.clone();
        async move { http.get(url).send().await.expect("GET") }
    };
    for path in ["/demo", "/demo/"] {
        let r = get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.text().await.expect("body").contains("demo page"),
            "{path}"
        );
    }
    let js = get("/demo/demo.js").await;
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .contains("javascript"));
    let wasm = get("/demo/pkg/guest_chat_js_bg.wasm").await;
    assert_eq!(wasm.status(), 200);
    // instantiateStreaming needs the right type.
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(
        wasm.bytes().await.expect("body").as_ref(),
        b"\0asm\x01\0\0\0"
    );
    let missing = get("/demo/nope.js").await;
    assert_eq!(missing.status(), 404);
    // The API is untouched.
    let api = get("/api/v2/webchat/guest/conversations/x/members").await;
    assert_eq!(api.status(), 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn without_the_flag_there_is_no_page() {
    let emu = Emulator::builder().start().await.expect("start");
    let r = reqwest::get(format!("{}/demo", emu.base_url()))
        .await
        .expect("GET");
    assert_eq!(r.status(), 404);
    emu.shutdown().await;
}

#[test]
fn a_missing_build_is_reported_at_start() {
    let (tmp, page, _pkg) = dirs();
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).expect("dir");
    let e = WebDemo::new(&page, &empty).expect_err("no package");
    assert!(e.to_string().contains("scripts/build-js.sh"), "{e}");
    let e = WebDemo::new(&empty, &page).expect_err("no page");
    assert!(e.to_string().contains("index.html"), "{e}");
}

#[test]
fn the_flags_need_web_demo() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }
    assert!(Cli::try_parse_from(["x", "--web-demo-dir", "/tmp"]).is_err());
    let cli =
        Cli::try_parse_from(["x", "--web-demo", "--web-demo-pkg", "/nonexistent"]).expect("parse");
    let e = cli.args.to_builder().expect_err("no package there");
    assert!(e.to_string().contains("--web-demo"), "{e}");
}
