//! `--web-demo`: a chat page at `/demo` that loads the SDK's JavaScript package (its web
//! build) and chats with this emulator's agent.
//!
//! Two directories are served as they are, by `tower-http`'s `ServeDir`:
//!
//! - the page (`index.html`, `demo.js`, `demo.css`) at `/demo/`;
//! - the package's web build (what `scripts/build-js.sh` writes to `crates/js/pkg/web`) at
//!   `/demo/pkg/`.
//!
//! Both default to the paths of this checkout; `--web-demo-dir` and `--web-demo-pkg` point
//! elsewhere. The page talks to the emulator it was loaded from (same origin).

use crate::error::EmulatorError;
use axum::Router;
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;

/// Where the page and the package come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebDemo {
    page: PathBuf,
    package: PathBuf,
}

/// The file of the package's web build the page imports.
const PACKAGE_ENTRY: &str = "guest_chat_js.js";

impl WebDemo {
    /// The page and the package of this checkout: `crates/js/demo` and `crates/js/pkg/web`.
    pub fn checkout() -> WebDemo {
        let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js");
        WebDemo {
            page: js.join("demo"),
            package: js.join("pkg/web"),
        }
    }

    /// The page from `page` (a directory with `index.html`), the package's web build from
    /// `package` (a directory with `guest_chat_js.js` and its `.wasm`). Checked here, so
    /// that a missing build is reported at start and not as a 404 in the browser.
    pub fn new(
        page: impl Into<PathBuf>,
        package: impl Into<PathBuf>,
    ) -> Result<WebDemo, EmulatorError> {
        let demo = WebDemo {
            page: page.into(),
            package: package.into(),
        };
        if !demo.page.join("index.html").is_file() {
            return Err(EmulatorError::Config(format!(
                "--web-demo: no index.html in {} (the page lives in crates/js/demo; point --web-demo-dir at it)",
                demo.page.display()
            )));
        }
        if !demo.package.join(PACKAGE_ENTRY).is_file() {
            return Err(EmulatorError::Config(format!(
                "--web-demo: no {PACKAGE_ENTRY} in {}: build the JavaScript package first (scripts/build-js.sh), or point --web-demo-pkg at its web build",
                demo.package.display()
            )));
        }
        Ok(demo)
    }

    /// `--web-demo` with its optional `--web-demo-dir` and `--web-demo-pkg`.
    pub(crate) fn from_flags(
        page: Option<&Path>,
        package: Option<&Path>,
    ) -> Result<WebDemo, EmulatorError> {
        let checkout = WebDemo::checkout();
        WebDemo::new(
            page.map_or(checkout.page, Path::to_path_buf),
            package.map_or(checkout.package, Path::to_path_buf),
        )
    }

    /// The page's directory.
    pub fn page_dir(&self) -> &Path {
        &self.page
    }

    /// The package's directory.
    pub fn package_dir(&self) -> &Path {
        &self.package
    }
}

/// The routes of the demo: `/demo` (the page; it names its files by absolute paths),
/// `/demo/...` and `/demo/pkg/...`.
pub(crate) fn routes(demo: &WebDemo) -> Router {
    Router::new()
        .nest_service("/demo/pkg", ServeDir::new(&demo.package))
        .nest_service("/demo", ServeDir::new(&demo.page))
}
