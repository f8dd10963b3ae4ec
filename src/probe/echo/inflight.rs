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

    /// The same echoes in a ring of at least `capacity`: a new set of probes
    /// with more echoes keeps those in flight for the probes it keeps. Each
    /// keeps its place modulo the larger power of two, so none collide.
    pub fn grown(self, capacity: usize) -> InFlight {
        let mut ring = InFlight::new(capacity.max(self.slots.len()));
        for p in self.slots.into_iter().flatten() {
            ring.put(p);
        }
        ring
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_ring_keeps_every_echo_in_flight() {
        let at = Instant::now();
        let mut ring = InFlight::new(64);
        for seq in [1u16, 63, 64, 65, 1000] {
            ring.put(Pending {
                slot: usize::from(seq),
                id: 7,
                round: 3,
                seq,
                at,
            });
        }
        let mut ring = ring.grown(200);
        assert_eq!(ring.capacity(), 256);
        // In 64 places 65 took 1's; every echo the ring held is still there.
        for seq in [63u16, 64, 65, 1000] {
            assert_eq!(
                ring.take(seq).map(|p| p.slot),
                Some(usize::from(seq)),
                "{seq}"
            );
        }
        assert!(ring.take(2).is_none());
    }
}
