//! Where the path broke: an MTR-style tracer over unprivileged ICMP sockets
//! (`socket.rs`, `trace.rs`), its table and JSON (`show.rs`), and the choice
//! of ISP hops worth watching (`suggest.rs`). Used by `discover` and by the
//! daemon's path capture (`daemon/path.rs`).

mod show;
mod socket;
mod suggest;
mod trace;

pub use show::{entry_json, table};
pub use suggest::{isp_hops, Suggestion};
pub use trace::{trace, Path, TraceSpec};

/// Why a trace could not run, said once and plainly.
pub fn setup_error(e: &std::io::Error) -> String {
    format!(
        "cannot trace the path: {e}. Path tracing uses unprivileged ICMP sockets: allow them with sysctl net.ipv4.ping_group_range (e.g. \"0 2147483647\"; the package's sysctl.d file does)"
    )
}
