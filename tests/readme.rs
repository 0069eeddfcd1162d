//! The README stays a user's document whose examples are the ones the tests
//! build: its C example is `examples/c/quickstart.c` (built and run by
//! `make -C c_tests test`), its CMake example is `examples/cmake/`'s, its
//! test command is the one CI runs, and the repository refers to nothing
//! outside itself. (Its Rust example runs as a doctest, from `src/lib.rs`.)

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The contents of the README's fenced blocks in `language`.
fn blocks(markdown: &str, language: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line == format!("```{language}") => current = Some(String::new()),
            Some(_) if line == "```" => found.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    found
}

#[test]
fn readme_is_short() {
    let size = read("README.md").len();
    assert!(
        size <= 12 * 1024,
        "README.md is {size} bytes; keep it to 12 KiB, details go to docs/"
    );
}

#[test]
fn readme_c_example_is_the_quickstart_that_the_c_tests_build() {
    let readme = read("README.md");
    let c = blocks(&readme, "c");
    assert_eq!(c.len(), 1, "README.md should have one C example");
    assert_eq!(
        c[0],
        read("examples/c/quickstart.c"),
        "README's C example differs from examples/c/quickstart.c"
    );
}

#[test]
fn readme_cmake_example_is_the_example_project() {
    let readme = read("README.md");
    let project = read("examples/cmake/CMakeLists.txt");
    let cmake = blocks(&readme, "cmake");
    assert!(!cmake.is_empty(), "README.md has no CMake example");
    for block in cmake {
        assert!(
            project.contains(&block),
            "README's CMake example is not part of examples/cmake/CMakeLists.txt:\n{block}"
        );
    }
}

#[test]
fn readme_test_command_is_the_one_ci_runs() {
    let command =
        "cargo test --workspace --all-targets && cargo test --doc && make -C c_tests test";
    assert!(read("README.md").contains(command));
    assert!(read(".ci/run").lines().any(|line| line.trim() == command));
}

/// Every file of the repository (build outputs and `.git` aside).
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), ".git" | "target" | "build") {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn nothing_refers_outside_the_repository() {
    // Spelled in two pieces so that this file does not match itself.
    let outside = ["../", "shared"].concat();
    let spec = ["SP", "EC"].concat();
    let mut all = Vec::new();
    files(root(), &mut all);
    assert!(all.len() > 50, "found only {} files", all.len());
    for path in all {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let relative = path.strip_prefix(root()).unwrap().display().to_string();
        assert!(!text.contains(&outside), "{relative} refers to {outside}");
        // The word is defined in docs/README.md (older commit messages use it).
        if relative != "docs/README.md" {
            assert!(
                !text.contains(&spec),
                "{relative} mentions {spec}, which only docs/README.md explains"
            );
        }
    }
}

/// The GitHub slug of a heading: lower case, punctuation but `-` and `_`
/// dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown file's headings.
fn anchors(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut found = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            found.push(slug(line.trim_start_matches('#')));
        }
    }
    found
}

/// Every relative link of the documents the crate package, the C install
/// (`make install`'s DOCDIR) and the repository carry resolves, anchor
/// included, to a file that all three carry: so the links work off the
/// repository, in a downloaded crate and in an installed copy alike.
#[test]
fn every_link_resolves_within_what_is_shipped() {
    let mut documents = vec![
        "README.md".to_string(),
        "CHANGELOG.md".to_string(),
        "benches/README.md".to_string(),
    ];
    for entry in fs::read_dir(root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            documents.push(format!("docs/{name}"));
        }
    }
    let mut checked = 0;
    for document in &documents {
        let text = read(document);
        let base = Path::new(document).parent().unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let file = if path.is_empty() {
                PathBuf::from(document)
            } else {
                let mut resolved = PathBuf::new();
                for part in base.join(path).components() {
                    match part {
                        std::path::Component::ParentDir => {
                            resolved.pop();
                        }
                        std::path::Component::CurDir => {}
                        other => resolved.push(other),
                    }
                }
                resolved
            };
            let shown = file.display().to_string();
            assert!(
                root().join(&file).exists(),
                "{document}: {target} does not exist"
            );
            assert!(
                documents.contains(&shown),
                "{document}: {target} is not shipped with the documents"
            );
            if !anchor.is_empty() {
                assert!(
                    anchors(&read(&shown)).iter().any(|a| a == anchor),
                    "{document}: {target}: no such heading"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} links");
}
