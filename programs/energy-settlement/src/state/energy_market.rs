use anchor_lang::prelude::*;

/// A network's energy market. Seeds: `["energy", network]`. It is the authority of the
/// escrow vault (seeds `["energy_vault", market]`).
#[account]
#[derive(InitSpace, Debug)]
pub struct EnergyMarket {
    /// The registry network (kind Energy).
    pub network: Pubkey,
    /// The stablecoin orders settle in.
    pub quote_mint: Pubkey,
    /// Escrow vault of every interval's bids.
    pub vault: Pubkey,
    /// Quote-mint account of the network treasury's owner: grid fees and rounding
    /// (`sync_treasury` points it at the new owner's after the treasury is rotated).
    pub treasury: Pubkey,
    /// Length of an interval in seconds; interval `i` covers `[i * len, (i + 1) * len)`.
    pub interval_secs: u64,
    /// Orders for an interval close this many seconds before it starts.
    pub gate_closure_secs: u64,
    /// Seconds after an interval ends during which meters may still report before a
    /// missing reading counts as zero.
    pub settlement_delay_secs: u64,
    /// Most orders per side of one interval (at most 32).
    pub max_orders_per_interval: u8,
    /// Grid fee taken from producers' payments, in basis points.
    pub grid_fee_bps: u16,
    /// Lowest price or limit accepted, quote base units per kWh (at least 1).
    pub price_floor: u64,
    /// Highest price or limit accepted, quote base units per kWh.
    pub price_cap: u64,
    /// Bump of this PDA.
    pub bump: u8,
    /// Bump of the vault PDA.
    pub vault_bump: u8,
}

impl EnergyMarket {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"energy";
    /// Seed prefix of the vault.
    pub const VAULT_SEED: &'static [u8] = b"energy_vault";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Unix time at which interval `index` starts.
    pub fn interval_start(&self, index: u64) -> Option<i64> {
        i64::try_from(index.checked_mul(self.interval_secs)?).ok()
    }

    /// Unix time at which interval `index` ends.
    pub fn interval_end(&self, index: u64) -> Option<i64> {
        self.interval_start(index.checked_add(1)?)
    }

    /// Unix time of interval `index`'s gate closure.
    pub fn gate_closure(&self, index: u64) -> Option<i64> {
        self.interval_start(index)?
            .checked_sub(i64::try_from(self.gate_closure_secs).ok()?)
    }

    /// Unix time after which a missing reading of interval `index` counts as zero.
    pub fn reading_deadline(&self, index: u64) -> Option<i64> {
        self.interval_end(index)?
            .checked_add(i64::try_from(self.settlement_delay_secs).ok()?)
    }
}
