//! Generates the man pages (one for the command, one per subcommand) and the
//! shell completions from the clap definitions, so they can never disagree
//! with `--help`. They land in `target/<profile>/assets/` for the Debian
//! package (see `[package.metadata.deb]`) and for deploy.sh.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

// The channel list, which cli.rs reads for `--channel`.
include!("src/alert/channel/list.rs");

#[allow(dead_code)]
mod cli {
    include!("src/cli.rs");
}

const NAME: &str = "connectivity-monitor";

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=src/cli.rs");
    println!("cargo:rerun-if-changed=src/alert/channel/list.rs");
    println!("cargo:rerun-if-changed=config.example.toml");
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out; assets go to target/<profile>/assets.
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is three levels below the profile folder")
        .join("assets");
    std::fs::create_dir_all(&dir)?;
    let mut cmd = cli::Cli::command();
    let example = std::fs::read_to_string("config.example.toml")?;
    // `help` is clap's, not a command with a page of its own: the main page
    // names only pages that exist.
    let man = cmd.clone().disable_help_subcommand(true);
    page(&dir, NAME, &man, &main_sections(&example))?;
    for sub in man.get_subcommands() {
        let name: &'static str = Box::leak(format!("{NAME}-{}", sub.get_name()).into_boxed_str());
        let sub = sub.clone().name(name).version(env!("CARGO_PKG_VERSION"));
        page(&dir, name, &sub, &exit_status(sub.get_name()))?;
    }
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd, NAME, &dir)?;
    }
    Ok(())
}

/// Writes `dir/NAME.1.gz`: clap's sections, then `extra` (roff), then the version.
fn page(dir: &Path, name: &str, cmd: &clap::Command, extra: &str) -> std::io::Result<()> {
    // Debian policy wants man pages compressed (lintian: uncompressed-manual-page).
    let file = std::fs::File::create(dir.join(format!("{name}.1.gz")))?;
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut gz)?;
    man.render_name_section(&mut gz)?;
    man.render_synopsis_section(&mut gz)?;
    man.render_description_section(&mut gz)?;
    man.render_options_section(&mut gz)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut gz)?;
    }
    gz.write_all(extra.as_bytes())?;
    man.render_version_section(&mut gz)?;
    gz.finish()?;
    Ok(())
}

/// What each exit status of `command` means; every command has its own.
fn exit_codes(command: &str) -> &'static [(&'static str, &'static str)] {
    match command {
        "connectivity-monitor-run" => &[
            ("0", "a clean stop (SIGTERM or SIGINT)"),
            (
                "1",
                "it could not start (bad config, no ICMP socket, unwritable folders)",
            ),
        ],
        "connectivity-monitor-once" => &[
            ("0", "the verdict is OK"),
            ("2", "the verdict is DEGRADED"),
            (
                "3",
                "an outage verdict: LAN_DOWN, ISP_DOWN, WAN_DOWN, IPV4_DOWN, IPV6_DOWN, DNS_FAIL or HTTP_FAIL",
            ),
            (
                "1",
                "an error of the monitor itself (bad config, no ICMP socket)",
            ),
        ],
        "connectivity-monitor-check-config" => &[
            ("0", "the config is valid"),
            ("1", "it is not (the reason is printed)"),
        ],
        "connectivity-monitor-notify-test" => &[
            ("0", "every channel took the test message"),
            ("1", "a channel failed, or none is configured"),
        ],
        "connectivity-monitor-discover" => &[
            ("0", "the paths were traced (the table and the suggestion are printed)"),
            (
                "1",
                "no trace could run (no ICMP socket, no target, a bad config)",
            ),
        ],
        "connectivity-monitor-report" => &[
            ("0", "the report was made (with --send: and mailed)"),
            (
                "1",
                "no connection_log.csv in the log folder, a bad config, the output cannot be written, or (with --send) no enabled [notify.email] or the mail was refused",
            ),
        ],
        "connectivity-monitor-fault" => &[
            ("0", "the event was recorded, or the tickets listed"),
            (
                "1",
                "the record would be wrong (an unknown ref, a close before its open, a second open of a ticket still open, a time in the future) and nothing was written, faults.csv cannot be written, or a bad config",
            ),
        ],
        other => panic!("{other} has no EXIT STATUS in build.rs: add its exit codes"),
    }
}

/// The EXIT STATUS section of one command.
fn exit_status(command: &str) -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, what) in exit_codes(command)
        .iter()
        .chain(&[("64", "a command-line usage error")])
    {
        s.push_str(&format!(".TP\n\\fB{code}\\fR\n{what}\n"));
    }
    s
}

/// EXIT STATUS, FILES, ENVIRONMENT and the config reference for the main page.
fn main_sections(example: &str) -> String {
    let mut s = String::from(
        ".SH \"EXIT STATUS\"\n\
         Each command has its own; see its page. \\fBrun\\fR: 0 after a clean stop, 1 if it cannot start. \
         \\fBcheck-config\\fR: 0 valid, 1 invalid. \\fBonce\\fR: 0 OK, 2 DEGRADED, 3 an outage verdict, 1 an error. \
         \\fBnotify-test\\fR: 0 every channel took it, 1 otherwise. \\fBdiscover\\fR: 0 traced, 1 no trace could run. \
         \\fBreport\\fR: 0 made (and mailed with \\fB--send\\fR), 1 no logs, not written or not mailed. \
         \\fBfault\\fR: 0 recorded or listed, 1 refused (nothing written). Every command: 64 on a usage error.\n\
         .SH FILES\n\
         .TP\n/etc/connectivity-monitor/config.toml\nThe config; without it (and without \\fB-c\\fR) a built-in default runs.\n\
         .TP\n/var/log/connectivity-monitor/outage_log.csv\nOne row per finished outage: start, end, duration, cause, detail.\n\
         .TP\n/var/log/connectivity-monitor/connection_log.csv\nOne row per check.\n\
         .TP\n/var/log/connectivity-monitor/notifications.log\nEvery notification attempt and its result.\n\
         .TP\n/var/log/connectivity-monitor/faults.csv\nThe fault tickets \\fBfault open\\fR and \\fBfault close\\fR record, for the report's claims.\n\
         .TP\n/var/lib/connectivity-monitor/state.json\nThe open outage, so that a restart resumes it.\n\
         .TP\n/var/lib/connectivity-monitor/alerts.json\nAlert conditions that raised an alert, so that recoveries stay paired across restarts.\n\
         .TP\n/var/lib/connectivity-monitor/outbox/\nNotifications not yet delivered, one file each.\n\
         .TP\n/usr/lib/systemd/system/connectivity-monitor-report.timer\nMails the report of the last 7 days every Monday once enabled (\\fBsystemctl enable --now connectivity-monitor-report.timer\\fR).\n\
         .SH ENVIRONMENT\n\
         .TP\nRUST_LOG\nLog filter (a level, or \\fItarget\\fR=\\fIlevel\\fR pairs separated by commas); overrides \\fBlog_level\\fR.\n\
         .TP\nLOGS_DIRECTORY, STATE_DIRECTORY\nSet by systemd; the defaults of \\fBlog_dir\\fR and \\fBstate_dir\\fR.\n\
         .TP\nCREDENTIALS_DIRECTORY\nSet by systemd with \\fBLoadCredential=\\fR; where a secret given by credential name is read.\n\
         .TP\nHTTP_PROXY, HTTPS_PROXY, NO_PROXY\nHonoured by HTTP checks and by the Teams, Telegram and ntfy channels.\n\
         .TP\nNOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, JOURNAL_STREAM\nSet by systemd: readiness, watchdog and journal logging.\n\
         .SH CONFIGURATION\n\
         The config file is TOML; unknown keys are errors. Every key, with its default and meaning, as \
         shipped in config.example.toml:\n.PP\n.nf\n",
    );
    for line in example.lines() {
        let line = line.replace('\\', "\\e");
        if line.starts_with('.') || line.starts_with('\'') {
            s.push_str("\\&");
        }
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(".fi\n");
    s
}
