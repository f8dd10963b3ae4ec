//! One file per subcommand; each loads what it needs and owns its output.

pub mod check_config;
pub mod discover;
pub mod fault;
pub mod notify_test;
pub mod once;
pub mod report;
pub mod run;

/// The runtime every command uses.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    // One thread does: probes wait on the network, and file writes run on
    // blocking threads, so a second worker would only cost memory.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
