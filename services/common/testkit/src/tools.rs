//! The real clients some tests drive, provisioned by the scripts under
//! `scripts/tools/` into the gongkai cache
//! (`${GONGKAI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gongkai}`), and
//! found through the variables `scripts/test.sh` exports, else at the
//! scripts' paths. A missing tool fails the test and names the script.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The gongkai cache directory, as the scripts compute it.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GONGKAI_CACHE_DIR") {
        return dir.into();
    }
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"),
    };
    cache.join("gongkai")
}

/// `variable`'s path, else `default` under the cache; panics naming
/// `script` when there is no file there.
fn tool(variable: &str, default: &str, script: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| cache_dir().join(default), PathBuf::from);
    assert!(path.is_file(), "{} is missing ({variable} unset or wrong): run {script}", path.display());
    path
}

/// The Python that has the test tools of `scripts/tools/requirements.txt`
/// (`GONGKAI_TEST_PYTHON`, else the cache's virtualenv).
///
/// # Panics
/// When there is none: the test must fail, not skip.
pub fn python() -> PathBuf {
    tool("GONGKAI_TEST_PYTHON", "venv/bin/python", "scripts/tools/python.sh")
}

/// The pinned grpcurl (`GONGKAI_TEST_GRPCURL`, else the cache's `bin/`).
///
/// # Panics
/// When there is none: the test must fail, not skip.
pub fn grpcurl() -> PathBuf {
    tool("GONGKAI_TEST_GRPCURL", "bin/grpcurl", "scripts/tools/grpcurl.sh")
}

/// Runs [`python`] on `script` (`python -c`) with `input` on stdin and
/// returns its stdout.
///
/// # Panics
/// When the script fails, e.g. because a module is missing: stderr is shown
/// with the script that provisions the tools.
pub fn run_python(script: &str, input: &[u8]) -> String {
    let python = python();
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}; run scripts/tools/python.sh", python.display()));
    // Fed from a thread so a script that writes before it has read all of
    // its input cannot deadlock against a full pipe.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let Output { status, stdout, stderr } = child.wait_with_output().expect("python runs");
    feeder.join().expect("the feeder thread").expect("python reads its input");
    assert!(
        status.success(),
        "{} failed ({status}); run scripts/tools/python.sh if a module is missing:\n{}",
        python.display(),
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8(stdout).expect("python prints UTF-8")
}
