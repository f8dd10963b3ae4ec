//! The integration tests: one binary (one link, one place for helpers), run
//! by libtest-mimic so that a test this machine cannot run (no root for
//! network namespaces, a tool missing) is reported as ignored, with its
//! reason, never as passed. With `CI` set it runs anyway and fails loudly:
//! CI must run everything.
//!
//! Each module lists its tests with what they need (`TESTS`); a new test is a
//! function plus its line there.

mod common;

mod alerts;
mod claims;
mod cli;
mod dualstack;
mod email;
mod fleet;
mod hostile;
mod live;
mod network;
mod notify;
mod ntfy;
mod packaging;
mod path;
mod report;
mod sensors;
mod systemd;

use common::needs::{Need, Test};
use libtest_mimic::{Arguments, Trial};

/// Every module's tests, with the module's name as their prefix.
const MODULES: &[(&str, &[Test])] = &[
    ("alerts", alerts::TESTS),
    ("claims", claims::TESTS),
    ("cli", cli::TESTS),
    ("dualstack", dualstack::TESTS),
    ("email", email::TESTS),
    ("fleet", fleet::TESTS),
    ("hostile", hostile::TESTS),
    ("live", live::TESTS),
    ("network", network::TESTS),
    ("notify", notify::TESTS),
    ("ntfy", ntfy::TESTS),
    ("packaging", packaging::TESTS),
    ("path", path::TESTS),
    ("report", report::TESTS),
    ("sensors", sensors::TESTS),
    ("systemd", systemd::TESTS),
];

/// Tests at once when not told otherwise: most of them wait on networks
/// and daemons, not on the CPU, and the longest (ten minutes of loss) should
/// overlap the rest.
const THREADS: usize = 6;

fn main() -> std::process::ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(THREADS);
    }
    let ci = std::env::var_os("CI").is_some();
    let mut missing = std::collections::BTreeMap::new();
    let trials = MODULES
        .iter()
        .flat_map(|(module, tests)| tests.iter().map(move |t| (*module, t)))
        .map(|(module, t)| {
            let unmet: Vec<&Need> = t.needs.iter().filter(|n| !n.met()).collect();
            let run = t.run;
            let trial = Trial::test(format!("{module}::{}", t.name), move || {
                run();
                Ok(())
            });
            match unmet.first() {
                // In CI nothing is skipped: the test runs and says what is missing.
                Some(n) if !ci => {
                    *missing.entry(n.reason()).or_insert(0) += 1;
                    trial.with_kind(n.reason()).with_ignored_flag(true)
                }
                _ => trial,
            }
        })
        .collect();
    for (reason, n) in &missing {
        eprintln!("ignored here, {n} test(s): {reason} (CI runs them)");
    }
    libtest_mimic::run(&args, trials).exit_code()
}
