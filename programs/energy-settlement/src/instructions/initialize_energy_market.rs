use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::energy::MAX_ORDERS_PER_SIDE;
use depin_core::fees::MAX_BPS;
use device_registry::state::{Network, NetworkKind};

use crate::error::EnergyError;
use crate::events::MarketInitialized;
use crate::state::EnergyMarket;

/// Arguments of `initialize_energy_market`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializeEnergyMarketArgs {
    /// Interval length in seconds, 1 to `depin_core::epoch::MAX_DURATION_SECS` (366 days).
    pub interval_secs: u64,
    /// Orders close this long before their interval starts, at most
    /// `depin_core::epoch::MAX_DURATION_SECS`.
    pub gate_closure_secs: u64,
    /// Reading window after each interval, from
    /// `depin_core::energy::MIN_SETTLEMENT_DELAY_SECS` (2 s, a bare minimum: an empty
    /// window let any cranker settle producers at zero before their readings could land) to
    /// `depin_core::epoch::MAX_DURATION_SECS`.
    pub settlement_delay_secs: u64,
    /// Orders per side per interval, 1 to 32.
    pub max_orders_per_interval: u8,
    /// Grid fee in basis points (at most 10,000).
    pub grid_fee_bps: u16,
    /// Lowest price accepted per kWh, at least 1: every watt-hour a bid asks for then
    /// escrows something, so nobody can fill a book with free orders (free bids of
    /// `u64::MAX` Wh would overflow the clearing volume and lock every other bid's escrow).
    pub price_floor: u64,
    /// Highest price accepted per kWh (at least the floor).
    pub price_cap: u64,
}

/// Accounts of `initialize_energy_market`.
#[event_cpi]
#[derive(Accounts)]
pub struct InitializeEnergyMarket<'info> {
    /// Pays rent for the market and its vault.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The registry network (must be an Energy network).
    #[account(
        has_one = authority @ EnergyError::NotNetworkAuthority,
        constraint = !network.paused @ EnergyError::NetworkPaused,
        constraint = network.kind == NetworkKind::Energy @ EnergyError::NotEnergyNetwork,
    )]
    pub network: Account<'info, Network>,
    /// The new market.
    /// CHECK: the handler creates it at the canonical address of `["energy", network]`
    // (`ConstraintSeeds` for any other address), or fails with `MarketAlreadyExists`.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// The stablecoin.
    pub quote_mint: InterfaceAccount<'info, Mint>,
    /// The escrow vault, owned by the market PDA.
    /// CHECK: the handler creates it at the canonical address of `["energy_vault", market]`
    // (`ConstraintSeeds` for any other address) and initialises it.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// The network's treasury (its owner must own `treasury`).
    #[account(address = network.treasury)]
    pub network_treasury: InterfaceAccount<'info, TokenAccount>,
    /// Quote-mint account receiving grid fees and rounding.
    #[account(
        constraint = treasury.mint == quote_mint.key() @ EnergyError::TreasuryMismatch,
        constraint = treasury.owner == network_treasury.owner @ EnergyError::TreasuryMismatch,
    )]
    pub treasury: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the quote mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Validates the parameters, creates the market and vault, emits [`MarketInitialized`].
pub fn handler(
    ctx: Context<InitializeEnergyMarket>,
    args: InitializeEnergyMarketArgs,
) -> Result<()> {
    require!(
        depin_core::epoch::validate_duration(args.interval_secs).is_ok()
            && args.gate_closure_secs <= depin_core::epoch::MAX_DURATION_SECS
            && (depin_core::energy::MIN_SETTLEMENT_DELAY_SECS
                ..=depin_core::epoch::MAX_DURATION_SECS)
                .contains(&args.settlement_delay_secs)
            && args.max_orders_per_interval > 0
            && usize::from(args.max_orders_per_interval) <= MAX_ORDERS_PER_SIDE
            && args.grid_fee_bps <= MAX_BPS
            && args.price_floor > 0
            && args.price_floor <= args.price_cap,
        EnergyError::InvalidMarketParams
    );
    let network_key = ctx.accounts.network.key();
    let payer = ctx.accounts.payer.to_account_info();
    let market_info = ctx.accounts.market.to_account_info();
    let vault_info = ctx.accounts.vault.to_account_info();
    let bump = pda_create::create_pda_account(
        &payer,
        &market_info,
        EnergyMarket::SIZE,
        &crate::ID,
        &crate::ID,
        &[EnergyMarket::SEED, network_key.as_ref()],
        EnergyError::MarketAlreadyExists,
    )?;
    let vault_bump = token_vault::create_vault(
        &payer,
        &vault_info,
        &ctx.accounts.quote_mint.to_account_info(),
        &market_info,
        &ctx.accounts.token_program,
        &crate::ID,
        &[EnergyMarket::VAULT_SEED, market_info.key.as_ref()],
        EnergyError::MarketAlreadyExists,
    )?;
    let market = EnergyMarket {
        network: network_key,
        quote_mint: ctx.accounts.quote_mint.key(),
        vault: vault_info.key(),
        treasury: ctx.accounts.treasury.key(),
        interval_secs: args.interval_secs,
        gate_closure_secs: args.gate_closure_secs,
        settlement_delay_secs: args.settlement_delay_secs,
        max_orders_per_interval: args.max_orders_per_interval,
        grid_fee_bps: args.grid_fee_bps,
        price_floor: args.price_floor,
        price_cap: args.price_cap,
        bump,
        vault_bump,
    };
    pda_create::write_account(&market_info, &market)?;
    emit_cpi!(MarketInitialized {
        market: market_info.key(),
        network: network_key,
        quote_mint: market.quote_mint,
        interval_secs: args.interval_secs,
        gate_closure_secs: args.gate_closure_secs,
        settlement_delay_secs: args.settlement_delay_secs,
        max_orders_per_interval: args.max_orders_per_interval,
        grid_fee_bps: args.grid_fee_bps,
        price_floor: args.price_floor,
        price_cap: args.price_cap,
    });
    Ok(())
}
