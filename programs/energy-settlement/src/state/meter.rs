use anchor_lang::prelude::*;
use depin_core::energy::PlacementTally;

/// Intervals with open gates a device may hold orders in at once (see [`Meter::tallies`]).
pub const MAX_OPEN_INTERVALS: usize = 8;

/// One interval's order placements by the meter's device, cancelled ones included.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct OrderTally {
    /// The interval.
    pub interval: u64,
    /// Asks placed in it.
    pub asks: u8,
    /// Bids placed in it.
    pub bids: u8,
}

/// One device's state in one market: the meter's replay protection and its order
/// placements. Seeds: `["meter", market, device]`. Created by the device's first order or
/// first reading, whichever comes first.
#[account]
#[derive(InitSpace, Debug)]
pub struct Meter {
    /// The market.
    pub market: Pubkey,
    /// The registry device (the meter).
    pub device: Pubkey,
    /// Highest counter accepted so far; the next reading must carry a higher one.
    pub last_counter: u64,
    /// Readings accepted.
    pub readings: u64,
    /// Placements per interval (`depin_core::energy::record_placement`): at most
    /// `MAX_PLACEMENTS_PER_DEVICE` orders per side of an interval, in at most
    /// [`MAX_OPEN_INTERVALS`] intervals whose gate is still open. An entry whose interval's
    /// gate has closed is reused.
    pub tallies: [OrderTally; MAX_OPEN_INTERVALS],
    /// Bump of this PDA.
    pub bump: u8,
}

impl Meter {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"meter";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Counts one more placement in `interval` on one side (see
    /// `depin_core::energy::record_placement`); nothing changes on a refusal.
    pub fn record_placement(
        &mut self,
        interval: u64,
        ask: bool,
        gate_open: impl Fn(u64) -> bool,
    ) -> core::result::Result<(), depin_core::CoreError> {
        let mut tallies = self.tallies.map(|t| PlacementTally {
            interval: t.interval,
            asks: t.asks,
            bids: t.bids,
        });
        depin_core::energy::record_placement(&mut tallies, interval, ask, gate_open)?;
        self.tallies = tallies.map(|t| OrderTally {
            interval: t.interval,
            asks: t.asks,
            bids: t.bids,
        });
        Ok(())
    }
}
