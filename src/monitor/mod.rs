//! Detection: gathering probe reports into checks, the verdict of each check,
//! the pure outage state machine, its persisted state, the task driving them,
//! and the update stream that carries what it learns to every consumer.

mod assemble;
mod diagnose;
mod machine;
pub mod persist;
mod status;
mod task;
pub mod update;

pub use assemble::Assembler;
pub use diagnose::{
    diagnose, Check, Diagnosis, Layer, LossWindow, Side, Thresholds, Verdict, LOSS_WINDOW_CHECKS,
};
#[cfg(test)]
pub use machine::OpenOutage;
pub use machine::{Event, Machine, MachineState, OutageRecord, Rules};
pub use status::Status;
pub use task::{run, unverified_hop, Settings};
pub use update::{Hub, LiveReceiver, LiveSender, Update};

#[cfg(test)]
mod scenarios;
