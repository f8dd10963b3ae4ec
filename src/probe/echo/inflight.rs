//! The echoes in flight, matched to their replies by sequence number.

use tokio::time::Instant;

/// An echo in flight: whose (its slot, and the probe's id in case a new
/// set of probes moved it), which round, when it left.
#[derive(Clone, Copy)]
pub(super) struct Pending {
    pub slot: usize,
    pub id: u64,
    pub round: u64,
    pub seq: u16,
    pub at: Instant,
}

/// The echoes in flight, by sequence number: a ring twice as large as what
/// can be in flight, so an entry is never reused while it may be answered.
pub(super) struct InFlight {
    slots: Vec<Option<Pending>>,
}

impl InFlight {
    pub fn new(capacity: usize) -> InFlight {
        InFlight {
            slots: vec![None; capacity.next_power_of_two().clamp(64, 1 << 16)],
        }
    }

    /// How many echoes the ring holds.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn put(&mut self, p: Pending) {
        let i = usize::from(p.seq) & (self.slots.len() - 1);
        self.slots[i] = Some(p);
    }

    pub fn take(&mut self, seq: u16) -> Option<Pending> {
        let i = usize::from(seq) & (self.slots.len() - 1);
        match self.slots[i] {
            Some(p) if p.seq == seq => self.slots[i].take(),
            _ => None,
        }
    }
}
