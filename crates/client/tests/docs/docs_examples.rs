//! Every Rust block of the documentation is a program of `examples/`, byte for byte, so that
//! `cargo test` compiles it (and `tests/docs/examples.rs` runs the ones that need a server). A block
//! that drifts from its example, or has none, fails here with the place to fix.
//!
//! Read: README.md, docs/*.md and each crate's README.md. A Rust block is one whose fence info
//! string starts with `rust` (`rust`, `rust,no_run`, ...).

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The documentation files this test covers, relative to the repository root.
fn markdown_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![PathBuf::from("README.md")];
    for dir in [
        "docs",
        "crates/model",
        "crates/client",
        "crates/emulator",
        "crates/cli",
    ] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .map(|p| Path::new(dir).join(p.file_name().expect("file name")))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

struct Block {
    file: PathBuf,
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
}

/// The Rust blocks of a markdown text (fences at any indentation are found, so that an
/// indented block cannot escape the check).
fn rust_blocks(file: &Path, markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let fence = line.trim_start();
        let Some(info) = fence.strip_prefix("```") else {
            continue;
        };
        let is_rust = info.trim().starts_with("rust");
        let mut body = String::new();
        for (_, inner) in lines.by_ref() {
            if inner.trim_start() == "```" {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        if is_rust {
            blocks.push(Block {
                file: file.to_owned(),
                line: n + 1,
                text: body,
            });
        }
    }
    blocks
}

fn examples() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("examples directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).expect("example readable"))
        })
        .collect();
    out.sort();
    out
}

/// Where `block` first differs from `example`, for the failure message.
fn first_difference(block: &str, example: &str) -> String {
    let (mut b, mut e) = (block.lines(), example.lines());
    for n in 1.. {
        match (b.next(), e.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => {
                return format!(
                    "line {n} of the block: {:?}, of the example: {:?}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                )
            }
        }
    }
    unreachable!()
}

fn all_blocks() -> Vec<Block> {
    let root = repo_root();
    let mut blocks = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(root.join(&file))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        blocks.extend(rust_blocks(&file, &text));
    }
    blocks
}

#[test]
fn every_rust_block_in_the_docs_is_an_example_file() {
    let examples = examples();
    let blocks = all_blocks();
    assert!(
        blocks.len() >= 5,
        "expected the README, docs and crate READMEs to hold Rust blocks, found {}",
        blocks.len()
    );
    let mut problems = Vec::new();
    for block in &blocks {
        if examples.iter().any(|(_, text)| *text == block.text) {
            continue;
        }
        // Name the example it was meant to be: the one with the same first line.
        let first = block.text.lines().next().unwrap_or("");
        let hint = match examples
            .iter()
            .find(|(_, text)| text.lines().next() == Some(first))
        {
            Some((name, text)) => format!(
                "it differs from examples/{name}: {}",
                first_difference(&block.text, text)
            ),
            None => "no file in crates/client/examples/ starts like it".to_owned(),
        };
        problems.push(format!(
            "{}:{}: this Rust block is not a copy of an example ({hint})",
            block.file.display(),
            block.line
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_rust_block_has_hidden_rustdoc_lines() {
    let mut problems = Vec::new();
    for block in all_blocks() {
        for (i, line) in block.text.lines().enumerate() {
            if line == "#" || line.starts_with("# ") {
                problems.push(format!(
                    "{}:{}: hidden rustdoc line {line:?}",
                    block.file.display(),
                    block.line + 1 + i
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_sdk_example_is_the_quickstart_the_tests_run() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let blocks = rust_blocks(Path::new("README.md"), &readme);
    let quickstart = examples()
        .into_iter()
        .find(|(name, _)| name == "quickstart.rs")
        .expect("examples/quickstart.rs")
        .1;
    assert!(
        blocks.first().is_some_and(|b| b.text == quickstart),
        "the README's first Rust block must be examples/quickstart.rs, which tests/docs/examples.rs runs"
    );
}

/// The checker itself: a drifted block and a block with no example are caught.
#[test]
fn the_block_extractor_sees_fenced_and_indented_blocks() {
    let md =
        "text\n```rust\nfn main() {}\n```\n  ```rust,no_run\n  let x = 1;\n  ```\n```sh\nls\n```\n";
    let blocks = rust_blocks(Path::new("x.md"), md);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].text, "fn main() {}\n");
    assert_eq!(blocks[0].line, 2);
    assert_eq!(blocks[1].line, 5);
    assert!(first_difference("a\nb\n", "a\nc\n").starts_with("line 2"));
}
