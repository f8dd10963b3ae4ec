//! Detection: gathering probe reports into checks, the verdict of each check,
//! the pure outage state machine, its persisted state, and the task driving them.

mod assemble;
mod diagnose;
mod machine;
pub mod persist;
mod status;
mod task;

pub use assemble::Assembler;
pub use diagnose::{diagnose, Check, Diagnosis, Layer, Thresholds, Verdict};
pub use machine::{Event, Machine, MachineState, OutageRecord, Rules};
pub use status::Status;
pub use task::{run, Outputs, Settings};

#[cfg(test)]
mod scenarios;
