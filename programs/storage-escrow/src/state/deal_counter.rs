use anchor_lang::prelude::*;

/// How many deals a client has proposed. Seeds: `["deal_counter", client]`.
///
/// Deal ids are sequential per client: `propose_deal` takes exactly `next_deal_id` and moves
/// it on. A deal's address (`["deal", client, deal_id]`) is therefore used once: after the
/// deal is cancelled or completed and its account closed, no deal can ever be proposed there
/// again, so nothing signed for one deal can land on another.
#[account]
#[derive(InitSpace, Debug)]
pub struct DealCounter {
    /// The client.
    pub client: Pubkey,
    /// Id the client's next deal must have.
    pub next_deal_id: u64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl DealCounter {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"deal_counter";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;
}
