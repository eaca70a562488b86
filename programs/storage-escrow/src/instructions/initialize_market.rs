use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::fees::MAX_BPS;
use device_registry::state::{Network, NetworkKind};

use crate::error::StorageError;
use crate::events::MarketInitialized;
use crate::state::StorageMarket;

/// Longest challenge window: the SlotHashes sysvar keeps the hashes of the last 512 slots
/// with a block, so a proof at most 511 of them after the challenge still finds its seed.
pub const MAX_CHALLENGE_WINDOW_SLOTS: u64 = 511;

/// Shortest challenge window: the seed of a challenge opened at slot S is the hash of the
/// first slot with a block after S, which the SlotHashes sysvar holds from the slot after
/// it on, so a window of one such slot would close before any proof could be checked
/// (every period a fault). Two leaves the provider one slot to land its proof.
pub const MIN_CHALLENGE_WINDOW_SLOTS: u64 = 2;

/// Arguments of `initialize_market`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializeMarketArgs {
    /// Proving period in seconds, 1 to `depin_core::epoch::MAX_DURATION_SECS` (366 days).
    pub proving_period_secs: u64,
    /// Slots with a block within which a proof must follow its challenge (2 to 511;
    /// skipped slots do not count).
    pub challenge_window_slots: u64,
    /// Challenges per period, 1 to 8.
    pub challenges_per_period: u8,
    /// Faulted periods in a row that terminate a deal, 1 to 32 (`MAX_PERIODS`: a longer
    /// limit could never be reached).
    pub max_consecutive_faults: u8,
    /// Share of the remaining collateral slashed per fault, in bps.
    pub fault_slash_bps: u16,
    /// Protocol fee on each period's payment, in bps.
    pub protocol_fee_bps: u16,
}

/// Accounts of `initialize_market`.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeMarket<'info> {
    /// Pays rent for the market and its vault.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The registry network (must be a Storage network).
    #[account(
        has_one = authority @ StorageError::NotNetworkAuthority,
        constraint = !network.paused @ StorageError::NetworkPaused,
        constraint = network.kind == NetworkKind::Storage @ StorageError::NotStorageNetwork,
    )]
    pub network: Account<'info, Network>,
    /// The new market.
    /// CHECK: the handler creates it at the canonical address of `["market", network]`
    // (`ConstraintSeeds` for any other address), or fails with `MarketAlreadyExists`.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// The payment mint.
    pub payment_mint: InterfaceAccount<'info, Mint>,
    /// The vault, owned by the market PDA.
    /// CHECK: the handler creates it at the canonical address of `["storage_vault", market]`
    // (`ConstraintSeeds` for any other address) and initialises it.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// The network's treasury (its owner must own `treasury`).
    #[account(address = network.treasury)]
    pub network_treasury: InterfaceAccount<'info, TokenAccount>,
    /// Payment-mint account receiving fees and terminal slashes.
    #[account(
        constraint = treasury.mint == payment_mint.key() @ StorageError::TreasuryMismatch,
        constraint = treasury.owner == network_treasury.owner @ StorageError::TreasuryMismatch,
    )]
    pub treasury: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Validates the parameters, creates the market and vault, emits [`MarketInitialized`].
pub fn handler(ctx: Context<InitializeMarket>, args: InitializeMarketArgs) -> Result<()> {
    require!(
        depin_core::epoch::validate_duration(args.proving_period_secs).is_ok()
            && (MIN_CHALLENGE_WINDOW_SLOTS..=MAX_CHALLENGE_WINDOW_SLOTS)
                .contains(&args.challenge_window_slots)
            && (1..=8).contains(&args.challenges_per_period)
            && args.max_consecutive_faults > 0
            && usize::from(args.max_consecutive_faults) <= crate::state::MAX_PERIODS
            && args.fault_slash_bps <= MAX_BPS
            && args.protocol_fee_bps <= MAX_BPS,
        StorageError::InvalidMarketParams
    );
    let network_key = ctx.accounts.network.key();
    let payer = ctx.accounts.payer.to_account_info();
    let market_info = ctx.accounts.market.to_account_info();
    let vault_info = ctx.accounts.vault.to_account_info();
    let bump = pda_create::create_pda_account(
        &payer,
        &market_info,
        StorageMarket::SIZE,
        &crate::ID,
        &crate::ID,
        &[StorageMarket::SEED, network_key.as_ref()],
        StorageError::MarketAlreadyExists,
    )?;
    let vault_bump = token_vault::create_vault(
        &payer,
        &vault_info,
        &ctx.accounts.payment_mint.to_account_info(),
        &market_info,
        &ctx.accounts.token_program,
        &crate::ID,
        &[StorageMarket::VAULT_SEED, market_info.key.as_ref()],
        StorageError::MarketAlreadyExists,
    )?;
    let market = StorageMarket {
        network: network_key,
        payment_mint: ctx.accounts.payment_mint.key(),
        vault: vault_info.key(),
        treasury: ctx.accounts.treasury.key(),
        proving_period_secs: args.proving_period_secs,
        challenge_window_slots: args.challenge_window_slots,
        challenges_per_period: args.challenges_per_period,
        max_consecutive_faults: args.max_consecutive_faults,
        fault_slash_bps: args.fault_slash_bps,
        protocol_fee_bps: args.protocol_fee_bps,
        bump,
        vault_bump,
    };
    pda_create::write_account(&market_info, &market)?;
    emit_cpi!(MarketInitialized {
        market: market_info.key(),
        network: network_key,
        payment_mint: market.payment_mint,
        proving_period_secs: args.proving_period_secs,
        challenge_window_slots: args.challenge_window_slots,
        challenges_per_period: args.challenges_per_period,
        max_consecutive_faults: args.max_consecutive_faults,
        fault_slash_bps: args.fault_slash_bps,
        protocol_fee_bps: args.protocol_fee_bps,
    });
    Ok(())
}
