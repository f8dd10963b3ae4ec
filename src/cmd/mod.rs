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

/// Loads the config file on a thread of its own and keeps a copy made here.
/// Its parse tree is many small allocations beside the few that last; on
/// this thread they would leave the heap full of holes the daemon never
/// fills (about 1.5 MiB with a thousand targets). The scratch thread's heap
/// is then given back to the system.
pub fn load_config(
    path: Option<&std::path::Path>,
) -> Result<crate::daemon::config::Config, crate::config::ConfigError> {
    let parsed = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("config".into())
            .spawn_scoped(s, || crate::daemon::config::Config::load(path))
            .map(|t| t.join())
    });
    match parsed {
        // The copy is made on this thread, so it lives in this thread's heap.
        Ok(Ok(Ok(config))) => {
            let copy = crate::daemon::config::Config::clone(&config);
            drop(config);
            crate::util::release_free_memory();
            Ok(copy)
        }
        Ok(Ok(Err(e))) => {
            crate::util::release_free_memory();
            Err(e)
        }
        // No thread to spare (or it died): parse here.
        _ => crate::daemon::config::Config::load(path),
    }
}
