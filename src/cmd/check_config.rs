//! `check-config`: validate the config and print it as it will be used.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

/// Prints `# valid: SOURCE` and the effective config; a bad one is an error.
pub fn run(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    println!("# valid: {}", config.source);
    for note in &config.notes {
        println!("# note: {note}");
    }
    print!("{}", config.to_toml());
    Ok(ExitCode::SUCCESS)
}
