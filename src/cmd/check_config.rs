//! `check-config`: validate the config and print it as it will be used.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

/// Prints `# valid: SOURCE` and the effective config; a bad one is an error.
pub fn run(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(path)?;
    // What `run` would leave off is refused here, so that it is found before a restart.
    let (mut errors, warnings) = crate::daemon::surfaces::preflight(&config);
    errors.extend(crate::push::preflight(&config));
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("connectivity-monitor: {}: {e}", config.source);
        }
        return Ok(ExitCode::from(1));
    }
    println!("# valid: {}", config.source);
    for w in &warnings {
        println!("# warning: {w}");
    }
    for note in &config.notes {
        println!("# note: {note}");
    }
    // Not an error of the file: the service may run as another user (systemd
    // makes its folders), but whoever runs the daemon as this user must know.
    for (key, dir) in [
        ("log_dir", &config.monitor.log_dir),
        ("state_dir", &config.monitor.state_dir),
    ] {
        if let Err(why) = crate::util::check_writable(dir) {
            eprintln!("warning: monitor.{key}: {why} (as this user)");
        }
    }
    print!("{}", config.to_toml());
    Ok(ExitCode::SUCCESS)
}
