use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};

use super::pay_into_vault;
use crate::error::StorageError;
use crate::events::DealProposed;
use crate::state::{Deal, DealCounter, DealState, PeriodRecord, StorageMarket, MAX_PERIODS};

/// Arguments of `propose_deal`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ProposeDealArgs {
    /// The client's next deal id (`DealCounter::next_deal_id`, 0 for a first deal).
    pub deal_id: u64,
    /// Root of the piece commitment. It does not say how many chunks the data has: a
    /// provider checks `num_chunks` and `chunk_size` against its data before accepting.
    pub piece_root: [u8; 32],
    /// Chunk size in bytes (a positive multiple of 32).
    pub chunk_size: u32,
    /// Chunks in the piece (1 to 2^32, so every chunk proof fits 32 siblings).
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
pub struct ProposeDeal<'info> {
    /// The client; pays the escrow and the deal's rent.
    #[account(mut)]
    pub client: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ StorageError::NetworkPaused)]
    pub network: Box<Account<'info, Network>>,
    /// The market.
    #[account(has_one = network, has_one = payment_mint, has_one = vault)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The provider's registry device (checked again at acceptance).
    #[account(constraint = provider_device.network == network.key() @ StorageError::NotStorageDevice)]
    pub provider_device: Box<Account<'info, Device>>,
    /// The client's deal counter, created with its first deal.
    /// CHECK: the handler loads it (owner, discriminator and client checked) or creates it
    // at the canonical address of `["deal_counter", client]` (`ConstraintSeeds` for any
    // other address).
    #[account(mut)]
    pub deal_counter: UncheckedAccount<'info>,
    /// The new deal.
    /// CHECK: the handler creates it at the canonical address of `["deal", client,
    // deal_id]` (`ConstraintSeeds` for any other address).
    #[account(mut)]
    pub deal: UncheckedAccount<'info>,
    /// The payment mint.
    pub payment_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The client's payment-mint account.
    #[account(mut, dup, token::mint = payment_mint, token::authority = client)]
    pub client_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program.
    pub system_program: Program<'info, System>,
}

/// Takes the client's next deal id, escrows `price_per_period x periods`, writes the deal
/// and emits [`DealProposed`].
pub fn handler(ctx: Context<ProposeDeal>, args: ProposeDealArgs) -> Result<()> {
    require!(
        args.periods > 0
            && usize::from(args.periods) <= MAX_PERIODS
            && args.price_per_period > 0
            && depin_core::storage::PieceShape::new(args.num_chunks, args.chunk_size).is_ok(),
        StorageError::InvalidDealTerms
    );
    let escrow = args
        .price_per_period
        .checked_mul(u64::from(args.periods))
        .ok_or(StorageError::MathOverflow)?;
    let client_key = ctx.accounts.client.key();
    let client_info = ctx.accounts.client.to_account_info();
    let counter_info = ctx.accounts.deal_counter.to_account_info();
    let mut counter = pda_create::load_or_create(
        &client_info,
        &counter_info,
        DealCounter::SIZE,
        &crate::ID,
        &[DealCounter::SEED, client_key.as_ref()],
        StorageError::DealAlreadyExists,
        |c: &DealCounter| c.client == client_key,
        |bump| DealCounter {
            client: client_key,
            next_deal_id: 0,
            bump,
        },
    )?;
    require!(
        args.deal_id == counter.next_deal_id,
        StorageError::DealIdNotNext
    );
    counter.next_deal_id = counter
        .next_deal_id
        .checked_add(1)
        .ok_or(StorageError::MathOverflow)?;
    pda_create::write_account(&counter_info, &counter)?;
    let deal_info = ctx.accounts.deal.to_account_info();
    let bump = pda_create::create_pda_account(
        &client_info,
        &deal_info,
        Deal::SIZE,
        &crate::ID,
        &crate::ID,
        &[Deal::SEED, client_key.as_ref(), &args.deal_id.to_le_bytes()],
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
        fees_owed: 0,
        state: DealState::Proposed,
        start_ts: 0,
        consecutive_faults: 0,
        total_faults: 0,
        records: [PeriodRecord::default(); MAX_PERIODS],
        bump,
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
