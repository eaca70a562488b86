use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use depin_core::storage::{challenge, period_payment, verify_word, PieceShape};

use super::pay_from_vault;
use crate::error::StorageError;
use crate::events::ProofAccepted;
use crate::hasher::SolanaSha256;
use crate::slot_hashes::{since_challenge, SeedError, SLOT_HASHES_ID};
use crate::state::{
    Deal, DealState, StorageMarket, PERIOD_CHALLENGED, PERIOD_PENDING, PERIOD_PROVEN,
};

/// Longest word or chunk proof accepted (2^32 leaves).
pub const MAX_PROOF_LEN: usize = 32;

/// The answer to one challenge.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ChallengeResponse {
    /// Which of the period's challenges (0-based, below `challenges_per_period`).
    pub index: u8,
    /// The challenged 32 bytes of the piece.
    pub word: [u8; 32],
    /// Siblings from the word leaf to its chunk root.
    pub word_proof: Vec<[u8; 32]>,
    /// Siblings from the chunk leaf to the piece root.
    pub chunk_proof: Vec<[u8; 32]>,
}

/// Arguments of `submit_proof`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SubmitProofArgs {
    /// The period.
    pub period: u64,
    /// One or more answers (a transaction usually holds one or two).
    pub responses: Vec<ChallengeResponse>,
}

/// Accounts of `submit_proof`. Allowed while paused (see `open_challenge`).
#[event_cpi]
#[derive(Accounts)]
pub struct SubmitProof<'info> {
    /// The deal's provider.
    pub provider: Signer<'info>,
    /// The market.
    #[account(has_one = payment_mint, has_one = vault)]
    pub market: Box<Account<'info, StorageMarket>>,
    /// The deal.
    #[account(
        mut,
        dup,
        has_one = market,
        has_one = provider,
        constraint = deal.state == DealState::Active @ StorageError::DealNotActive,
    )]
    pub deal: Box<Account<'info, Deal>>,
    /// The SlotHashes sysvar (read in place).
    /// CHECK: pinned to the sysvar's address.
    #[account(address = SLOT_HASHES_ID)]
    pub slot_hashes: UncheckedAccount<'info>,
    /// The payment mint.
    pub payment_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The provider's payment-mint account.
    #[account(mut, dup, token::mint = payment_mint, token::authority = provider)]
    pub provider_token_account: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The market's vault.
    #[account(mut, dup)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the payment mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Derives the period's challenges from the first slot hash after the challenge slot,
/// verifies every response, pays the period to the provider once all are answered (its
/// protocol fee is owed to the treasury and paid at `complete_deal`), and emits
/// [`ProofAccepted`].
pub fn handler(ctx: Context<SubmitProof>, args: SubmitProofArgs) -> Result<()> {
    let market = &ctx.accounts.market;
    let deal_key = ctx.accounts.deal.key();
    let deal = &mut ctx.accounts.deal;
    let (piece_root, num_chunks, chunk_size, price) = (
        deal.piece_root,
        deal.num_chunks,
        deal.chunk_size,
        deal.price_per_period,
    );
    let record = deal
        .record_mut(args.period)
        .ok_or(StorageError::WrongPeriod)?;
    match record.status {
        PERIOD_CHALLENGED => {}
        PERIOD_PENDING => return err!(StorageError::ChallengeNotOpen),
        PERIOD_PROVEN => return err!(StorageError::PeriodAlreadyProven),
        _ => return err!(StorageError::PeriodFaulted),
    }
    // the window counts the slots with a block since the challenge (with none skipped, the
    // slots up to challenge_slot + window): a leader skipping slots, before the seed or
    // after it, never shortens it. In the challenge's own slot none has passed, so the seed
    // is not known yet.
    let since = {
        let data = ctx.accounts.slot_hashes.try_borrow_data()?;
        since_challenge(&data, record.challenge_slot).map_err(|_| StorageError::SeedUnavailable)?
    };
    require!(
        since.produced < market.challenge_window_slots,
        StorageError::ProofWindowClosed
    );
    let seed = since.seed.map_err(|e| match e {
        SeedError::NotYetKnown => StorageError::SeedNotYetKnown,
        SeedError::Unavailable => StorageError::SeedUnavailable,
    })?;
    let shape =
        PieceShape::new(num_chunks, chunk_size).map_err(|_| StorageError::InvalidDealTerms)?;

    let mut answered = record.answered;
    for response in &args.responses {
        require!(
            response.index < market.challenges_per_period,
            StorageError::NoSuchChallenge
        );
        let bit = 1u8 << response.index;
        require!(answered & bit == 0, StorageError::DuplicateResponse);
        require!(
            response.word_proof.len() <= MAX_PROOF_LEN
                && response.chunk_proof.len() <= MAX_PROOF_LEN,
            StorageError::ProofTooLong
        );
        let at = challenge::<SolanaSha256>(
            &seed,
            &deal_key.to_bytes(),
            args.period,
            response.index,
            shape.num_chunks(),
            shape.words_per_chunk(),
        )
        .map_err(|_| StorageError::InvalidDealTerms)?;
        require!(
            verify_word::<SolanaSha256>(
                &piece_root,
                at,
                &response.word,
                &response.word_proof,
                &response.chunk_proof
            ),
            StorageError::InvalidProof
        );
        answered |= bit;
    }
    record.answered = answered;
    let all: u8 = if market.challenges_per_period >= 8 {
        u8::MAX
    } else {
        (1u8 << market.challenges_per_period).wrapping_sub(1)
    };
    let proven = answered == all;
    let mut payment = None;
    if proven {
        record.status = PERIOD_PROVEN;
        deal.escrow_left = deal
            .escrow_left
            .checked_sub(price)
            .ok_or(StorageError::MathOverflow)?;
        let split = period_payment(price, market.protocol_fee_bps)
            .map_err(|_| StorageError::MathOverflow)?;
        // The fee stays in the vault until the deal is closed (`complete_deal`).
        deal.fees_owed = deal
            .fees_owed
            .checked_add(split.protocol_fee)
            .ok_or(StorageError::MathOverflow)?;
        payment = Some(split);
    }
    if let Some(p) = payment {
        pay_from_vault(
            market,
            &ctx.accounts.vault,
            &ctx.accounts.payment_mint,
            &ctx.accounts.provider_token_account,
            &ctx.accounts.token_program,
            p.provider,
        )?;
    }
    emit_cpi!(ProofAccepted {
        deal: deal_key,
        period: args.period,
        answered,
        proven,
        provider_paid: payment.map_or(0, |p| p.provider),
        protocol_fee: payment.map_or(0, |p| p.protocol_fee),
    });
    Ok(())
}
