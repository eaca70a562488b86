use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};

use super::pay_into_vault;
use crate::error::StorageError;
use crate::events::DealProposed;
use crate::state::{Deal, DealState, PeriodRecord, StorageMarket, MAX_PERIODS};

/// Arguments of `propose_deal`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ProposeDealArgs {
    /// Client-chosen id, unique per client.
    pub deal_id: u64,
    /// Root of the piece commitment.
    pub piece_root: [u8; 32],
    /// Chunk size in bytes (a positive multiple of 32).
    pub chunk_size: u32,
    /// Chunks in the piece (positive).
    pub num_chunks: u64,
    /// Paid per proven period (positive).
    pub price_per_period: u64,
    /// Periods, 1 to 32.
    pub periods: u8,
    /// Collateral the provider must post.
    pub collateral: u64,
}

/// Accounts of `propose_deal`.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: ProposeDealArgs)]
pub struct ProposeDeal<'info> {
    /// The client; pays the escrow and the deal's rent.
    #[account(mut)]
    pub client: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ StorageError::NetworkPaused)]
    pub network: Account<'info, Network>,
    /// The market.
    #[account(
        seeds = [StorageMarket::SEED, network.key().as_ref()],
        bump = market.bump,
        has_one = network,
        has_one = payment_mint,
        has_one = vault,
    )]
    pub market: Account<'info, StorageMarket>,
    /// The provider's registry device (checked again at acceptance).
    #[account(constraint = provider_device.network == network.key() @ StorageError::NotStorageDevice)]
    pub provider_device: Account<'info, Device>,
    /// The new deal.
    /// CHECK: the seeds pin the address; the handler creates it (`DealAlreadyExists`).
    #[account(mut, seeds = [Deal::SEED, client.key().as_ref(), &args.deal_id.to_le_bytes()], bump)]
    pub deal: UncheckedAccount<'info>,
    /// The payment mint.
    pub payment_mint: InterfaceAccount<'info, Mint>,
    /// The client's payment-mint account.
    #[account(mut, token::mint = payment_mint, token::authority = client)]
    pub client_token_account: InterfaceAccount<'info, TokenAccount>,
    /// The market's vault.
    #[account(mut)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Escrows `price_per_period x periods`, writes the deal and emits [`DealProposed`].
pub fn handler(ctx: Context<ProposeDeal>, args: ProposeDealArgs) -> Result<()> {
    require!(
        args.periods > 0
            && usize::from(args.periods) <= MAX_PERIODS
            && args.price_per_period > 0
            && args.num_chunks > 0
            && depin_core::storage::words_per_chunk(args.chunk_size).is_ok(),
        StorageError::InvalidDealTerms
    );
    let escrow = args
        .price_per_period
        .checked_mul(u64::from(args.periods))
        .ok_or(StorageError::MathOverflow)?;
    let client_key = ctx.accounts.client.key();
    let deal_info = ctx.accounts.deal.to_account_info();
    pda_create::create_pda_account(
        &ctx.accounts.client.to_account_info(),
        &deal_info,
        Deal::SIZE,
        &crate::ID,
        &[
            Deal::SEED,
            client_key.as_ref(),
            &args.deal_id.to_le_bytes(),
            &[ctx.bumps.deal],
        ],
        StorageError::DealAlreadyExists,
    )?;
    let deal = Deal {
        market: ctx.accounts.market.key(),
        client: client_key,
        deal_id: args.deal_id,
        provider_device: ctx.accounts.provider_device.key(),
        provider: Pubkey::default(),
        piece_root: args.piece_root,
        chunk_size: args.chunk_size,
        num_chunks: args.num_chunks,
        price_per_period: args.price_per_period,
        periods: args.periods,
        collateral: args.collateral,
        collateral_left: 0,
        escrow_left: escrow,
        state: DealState::Proposed,
        start_ts: 0,
        consecutive_faults: 0,
        total_faults: 0,
        records: [PeriodRecord::default(); MAX_PERIODS],
        bump: ctx.bumps.deal,
    };
    pda_create::write_account(&deal_info, &deal)?;
    pay_into_vault(
        &ctx.accounts.client_token_account,
        &ctx.accounts.client,
        &ctx.accounts.vault,
        &ctx.accounts.payment_mint,
        &ctx.accounts.token_program,
        escrow,
    )?;
    emit_cpi!(DealProposed {
        deal: deal_info.key(),
        client: client_key,
        deal_id: args.deal_id,
        provider_device: deal.provider_device,
        piece_root: args.piece_root,
        chunk_size: args.chunk_size,
        num_chunks: args.num_chunks,
        price_per_period: args.price_per_period,
        periods: args.periods,
        collateral: args.collateral,
    });
    Ok(())
}
