//! Generates the man page and shell completions from the clap definitions, so
//! they can never disagree with `--help`. They land in `target/<profile>/assets/`
//! for the Debian package (see `[package.metadata.deb]`).

use std::path::PathBuf;

use clap::CommandFactory;

#[allow(dead_code)]
mod cli {
    include!("src/cli.rs");
}

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=src/cli.rs");
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out; assets go to target/<profile>/assets.
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is three levels below the profile folder")
        .join("assets");
    std::fs::create_dir_all(&dir)?;
    let mut cmd = cli::Cli::command();
    let name = "connectivity-monitor";
    // Debian policy wants man pages compressed (lintian: uncompressed-manual-page).
    let page = std::fs::File::create(dir.join(format!("{name}.1.gz")))?;
    let mut gz = flate2::write::GzEncoder::new(page, flate2::Compression::best());
    clap_mangen::Man::new(cmd.clone()).render(&mut gz)?;
    gz.finish()?;
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd, name, &dir)?;
    }
    Ok(())
}
