//! Where the path broke: an MTR-style tracer over ICMP sockets (`socket.rs`,
//! `trace.rs`, its bookkeeping in `progress.rs`), hop figures read as mtr's authors advise (`hop.rs`), what a
//! finished trace says (`reading.rs`), its table and `paths.jsonl` entry
//! (`show.rs`), and the choice of ISP hops worth watching (`suggest.rs`).
//! Used by `discover`, the daemon's path capture (`daemon/path.rs`) and the report.

mod hop;
mod progress;
mod reading;
mod show;
mod suggest;
mod trace;

pub use reading::Path;
pub use show::{table, Entry};
pub use suggest::{isp_hops, Suggestion};
pub use trace::{trace, Hints, Pacer, TraceSpec};

/// Why a trace could not run, said once and plainly.
pub fn setup_error(e: &std::io::Error) -> String {
    format!(
        "cannot trace the path: {e}. Path tracing uses unprivileged ICMP sockets: allow them with sysctl net.ipv4.ping_group_range (e.g. \"0 2147483647\"; the package's sysctl.d file does), or give the process CAP_NET_RAW for a raw ICMP socket"
    )
}
