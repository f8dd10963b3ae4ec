//! What a test needs from the machine beyond cargo, checked once before any
//! test runs: a test whose needs are not met here is ignored with the reason.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// One integration test.
pub struct Test {
    pub name: &'static str,
    pub run: fn(),
    pub needs: &'static [Need],
}

/// Lists a module's tests: `tests![name => [Need::Root], other => []]`.
#[macro_export]
macro_rules! tests {
    ($($name:ident => [$($need:expr),*]),* $(,)?) => {
        pub const TESTS: &[$crate::common::needs::Test] = &[
            $($crate::common::needs::Test {
                name: stringify!($name),
                run: $name,
                needs: &[$($need),*],
            }),*
        ];
    };
}

/// Something a test needs.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Root, to build network namespaces and mount file systems.
    Root,
    /// A program on the PATH.
    Tool(&'static str),
    /// A Python 3 module (`/usr/bin/python3`, where Debian installs them).
    Python(&'static str),
    /// A file: a device, a library.
    File(&'static str),
}

impl Need {
    /// Whether this machine has it.
    pub fn met(&self) -> bool {
        match self {
            Need::Root => root(),
            Need::Tool(t) => on_path(t),
            Need::Python(m) => Command::new("/usr/bin/python3")
                .args(["-c", &format!("import {m}")])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            Need::File(f) => glob_exists(f),
        }
    }

    /// Why a test is ignored without it.
    pub fn reason(&self) -> String {
        match self {
            Need::Root => "needs root (network namespaces)".into(),
            Need::Tool(t) => format!("needs {t}"),
            Need::Python(m) => format!("needs python3 module {m}"),
            Need::File(f) => format!("needs {f}"),
        }
    }
}

/// Whether this process may build network namespaces: asked once, by trying.
fn root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        let probe = format!("cmneeds{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &probe])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let _ = Command::new("ip").args(["netns", "del", &probe]).status();
        }
        ok
    })
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// `f`, where a `*` stands for one folder name (`/usr/lib/*/faketime/...`).
fn glob_exists(f: &str) -> bool {
    match f.split_once("/*/") {
        None => Path::new(f).exists(),
        Some((dir, rest)) => std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join(rest).exists()),
    }
}
