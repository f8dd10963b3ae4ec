//! What every live surface is: a section of the file that runs something
//! reading the live view ([`Surface`]), started when its section is added,
//! stopped when it is removed, and brought in line with a changed one by a
//! reload (in place where it can, by a restart otherwise). The list of
//! surfaces is in `daemon/mod.rs`; [`surfaces!`] makes, from it, the
//! sections at the top of the file and a [`Slot`] for each.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use super::live::LiveView;
use super::part::PartFuture;
use crate::config::{Core, Table};

/// What a surface runs with besides its section.
pub struct Context<'a> {
    /// The view it shows.
    pub live: &'a Arc<LiveView>,
    /// Changes once per check applied to the view.
    pub checks: &'a watch::Receiver<u64>,
    /// The core sections: the targets, the interval.
    pub core: &'a Core,
    /// Where the CSV logs are.
    pub log_dir: &'a Path,
    /// The daemon's one HTTP client, made when a surface first needs it.
    pub http: &'a crate::probe::SharedClient,
}

/// A live surface's section, as the surfaces part runs it.
pub trait Surface: Table + Clone + PartialEq + 'static {
    /// What runs.
    type Running: 'static;

    /// What it shows, in the words of a journal line saying it is off.
    const SHOWS: &'static str;

    /// Starts it; an error leaves it off.
    fn start<'a>(&'a self, ctx: &'a Context<'a>) -> PartFuture<'a, anyhow::Result<Self::Running>>;

    /// Brings `running` in line with `self`, the section as reloaded: in
    /// place where it can, by a restart otherwise. What runs afterwards
    /// (nothing when it could not start again), and a few words for the
    /// reload's journal line when something changed.
    fn reload<'a>(
        &'a self,
        running: Self::Running,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, (Option<Self::Running>, Option<String>)>;

    /// Stops it.
    fn stop(running: Self::Running) -> PartFuture<'static, ()>;

    /// The few words for a start, e.g. `serve started on 127.0.0.1:9790`.
    fn started(&self, name: &str) -> String {
        format!("{name} started")
    }

    /// What `check-config` must say of it beyond the file's own rules:
    /// (errors, warnings). An error is a surface `run` would leave off.
    fn preflight(&self) -> (Vec<String>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
}

/// One surface of the list, running or not, as the surfaces part holds it.
pub trait Slot {
    /// Starts, stops or reloads it to match `new` (its section in it).
    fn apply<'a>(
        &'a mut self,
        new: &'a super::SurfacesConfig,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, Option<String>>;

    /// Stops it if it runs.
    fn stop(self: Box<Self>) -> PartFuture<'static, ()>;
}

/// The [`Slot`] of surface `S`.
pub struct SurfaceSlot<S: Surface> {
    /// Its section's key, e.g. `serve`.
    pub name: &'static str,
    /// Its section in the whole.
    pub section: fn(&super::SurfacesConfig) -> Option<&S>,
    /// What runs.
    pub running: Option<S::Running>,
}

impl<S: Surface> Slot for SurfaceSlot<S> {
    fn apply<'a>(
        &'a mut self,
        new: &'a super::SurfacesConfig,
        ctx: &'a Context<'a>,
    ) -> PartFuture<'a, Option<String>> {
        Box::pin(async move {
            let name = self.name;
            match (self.running.take(), (self.section)(new)) {
                (None, None) => None,
                (Some(r), None) => {
                    S::stop(r).await;
                    Some(format!("{name} stopped"))
                }
                (None, Some(cfg)) => Some(match cfg.start(ctx).await {
                    Ok(r) => {
                        self.running = Some(r);
                        cfg.started(name)
                    }
                    Err(e) => off(name, S::SHOWS, &e),
                }),
                (Some(r), Some(cfg)) => {
                    let (running, note) = cfg.reload(r, ctx).await;
                    self.running = running;
                    note
                }
            }
        })
    }

    fn stop(self: Box<Self>) -> PartFuture<'static, ()> {
        match self.running {
            Some(r) => S::stop(r),
            None => Box::pin(async {}),
        }
    }
}

/// Logs that surface `name` could not start, so that what it `shows` is off
/// until a reload fixes it, and says so in a few words.
pub fn off(name: &str, shows: &str, e: &anyhow::Error) -> String {
    tracing::error!("{name}: {e:#}; {shows} is off until a reload fixes it, monitoring goes on");
    format!("{name} not started: {e:#}")
}

/// The surface modules, their sections (at the top of the file), a slot for
/// each, and what `check-config` says of them, from the list.
macro_rules! surfaces {
    ($($key:ident => $Type:ident,)*) => {
        $( pub mod $key; )*

        sections! {
            /// The live surfaces' sections, each off unless present.
            pub struct SurfacesConfig / RawSurfaces {
                $(
                    #[doc = concat!("`[", stringify!($key), "]`")]
                    $key: Option<$key::$Type>,
                )*
            }
        }

        impl SurfacesConfig {
            /// A slot for every surface of the list, none running.
            pub fn slots() -> Vec<Box<dyn surface::Slot>> {
                vec![$(
                    Box::new(surface::SurfaceSlot::<$key::$Type> {
                        name: stringify!($key),
                        section: |c| c.$key.as_ref(),
                        running: None,
                    }),
                )*]
            }

            /// What `check-config` must say of the configured surfaces:
            /// (errors, warnings).
            pub fn preflight(&self) -> (Vec<String>, Vec<String>) {
                let (mut errors, mut warnings) = (Vec::new(), Vec::new());
                $(
                    if let Some(s) = &self.$key {
                        let (e, w) = surface::Surface::preflight(s);
                        errors.extend(e);
                        warnings.extend(w);
                    }
                )*
                (errors, warnings)
            }
        }
    };
}
