//! Loss judged over the last checks, not over one check's few echoes.
//!
//! A check sends a handful of echoes per target: on a lossy line one check
//! can lose them all by chance, and one check's figure swings widely. So
//! whether a target counts towards loss, and whether the line is lossy enough
//! to excuse a DNS or HTTP timeout, is judged over the last [`CHECKS`] checks:
//! - a target that answered an echo within the window counts, and a check in
//!   which it lost every echo counts as 100 % loss for it;
//! - a target silent for the whole window is down, not lossy, and leaves the
//!   loss figures alone.

/// Checks in the window: the one being judged and the ones just before it.
pub const CHECKS: usize = 10;

/// Echo requests sent and replies received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Echoes {
    pub sent: u32,
    pub received: u32,
}

impl Echoes {
    /// Adds `o`'s counts.
    pub fn add(&mut self, o: Echoes) {
        self.sent = self.sent.saturating_add(o.sent);
        self.received = self.received.saturating_add(o.received);
    }

    /// Loss in percent; `None` when nothing was sent.
    pub fn loss_pct(self) -> Option<f64> {
        (self.sent > 0).then(|| {
            f64::from(self.sent.saturating_sub(self.received)) * 100.0 / f64::from(self.sent)
        })
    }
}

/// The echoes of every ICMP probe to an internet target over the checks
/// before the one being judged; one slot per probe per check, in a ring.
#[derive(Debug, Clone, Default)]
pub struct LossWindow {
    probes: usize,
    /// `CHECKS - 1` rows of `probes` slots; row `next` is the oldest.
    slots: Vec<Echoes>,
    /// Rows holding a check.
    filled: usize,
    next: usize,
}

impl LossWindow {
    /// The echoes probe `i` (the i-th ICMP target probe of the plan) had in the window's earlier checks.
    pub fn before(&self, i: usize) -> Echoes {
        let mut sum = Echoes::default();
        if i < self.probes {
            for row in 0..self.filled {
                sum.add(self.slots[row * self.probes + i]);
            }
        }
        sum
    }

    /// Adds the judged check's echoes, one per ICMP target probe in plan order;
    /// the oldest check leaves. A plan of another size starts a new window.
    pub fn record(&mut self, current: &[Echoes]) {
        if current.len() != self.probes {
            *self = LossWindow {
                probes: current.len(),
                slots: vec![Echoes::default(); current.len() * (CHECKS - 1)],
                ..LossWindow::default()
            };
        }
        if self.probes == 0 {
            return;
        }
        let row = self.next * self.probes;
        self.slots[row..row + self.probes].copy_from_slice(current);
        self.next = (self.next + 1) % (CHECKS - 1);
        self.filled = (self.filled + 1).min(CHECKS - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(sent: u32, received: u32) -> Echoes {
        Echoes { sent, received }
    }

    #[test]
    fn the_window_holds_the_last_checks_and_forgets_older_ones() {
        let mut w = LossWindow::default();
        w.record(&[e(3, 3), e(3, 0)]);
        assert_eq!(w.before(0), e(3, 3));
        for _ in 0..CHECKS - 1 {
            w.record(&[e(3, 1), e(3, 0)]);
        }
        assert_eq!(w.before(0), e(27, 9), "the first check has left");
        assert_eq!(w.before(1), e(27, 0));
        w.record(&[e(3, 1)]);
        assert_eq!(w.before(0), e(3, 1), "another plan starts a new window");
        assert_eq!(w.before(5), Echoes::default());
    }
}
