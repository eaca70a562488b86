use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, MintTo, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};
use staking::state::{DeviceBond, StakePool, StakePosition};

use crate::error::RewardsError;
use crate::events::RewardsClaimed;
use crate::hasher::SolanaSha256;
use crate::state::{Claimed, RewardsConfig};

/// Longest proof accepted: enough for 2^32 devices, and a bound on the compute a claim uses.
pub const MAX_PROOF_LEN: usize = 32;

/// Arguments of `claim`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ClaimArgs {
    /// The latest finalized epoch, whose root the proof leads to.
    pub epoch: u64,
    /// The device's cumulative amount in that epoch's tree.
    pub cumulative_amount: u64,
    /// Sibling hashes from the leaf to the root.
    pub proof: Vec<[u8; 32]>,
}

/// Accounts of `claim`. Anyone may send it (no signer is needed beyond the fee payer); the
/// tokens always go to the device owner.
///
/// Accounts the suite's programs created are recognised by owner, discriminator and stored
/// identity (each is created only at the canonical address of that identity), so no address
/// is derived and nothing is created here: a claim's cost does not depend on any bump.
#[event_cpi]
#[derive(Accounts)]
pub struct Claim<'info> {
    /// The registry network.
    #[account(constraint = !network.paused @ RewardsError::NetworkPaused)]
    pub network: Box<Account<'info, Network>>,
    /// The network's rewards config: the mint authority, and the latest finalized root,
    /// the only one a claim proves against.
    #[account(
        mut,
        dup,
        has_one = network @ RewardsError::WrongNetwork,
        has_one = reward_mint @ RewardsError::RewardMintMismatch,
    )]
    pub config: Box<Account<'info, RewardsConfig>>,
    /// The registry device being paid (owner-checked: must belong to the registry).
    #[account(
        constraint = device.network == network.key() @ RewardsError::WrongNetwork,
        constraint = device.is_active() @ RewardsError::DeviceNotActive,
    )]
    pub device: Box<Account<'info, Device>>,
    /// The network's stake pool (owner-checked: must belong to staking).
    #[account(constraint = pool.network == network.key() @ RewardsError::WrongNetwork)]
    pub pool: Box<Account<'info, StakePool>>,
    /// The device's bond in that pool.
    /// CHECK: the handler requires a `DeviceBond` of the staking program for this pool and
    // device (`DeviceNotBonded` otherwise).
    pub bond: UncheckedAccount<'info>,
    /// The device owner's stake position, which must still cover its bonded devices.
    /// CHECK: the handler requires the bond's position, owned by the staking program, and
    // reads it with its discriminator checked.
    pub position: UncheckedAccount<'info>,
    /// What the device has claimed so far (opened once with `open_claimed`).
    #[account(
        mut,
        dup,
        constraint = claimed.config == config.key() @ RewardsError::UnexpectedAccount,
        constraint = claimed.device == device.key() @ RewardsError::UnexpectedAccount,
    )]
    pub claimed: Box<Account<'info, Claimed>>,
    /// The reward mint.
    #[account(mut, dup)]
    pub reward_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The device owner's token account of the reward mint.
    #[account(
        mut,
        dup,
        constraint = recipient.mint == reward_mint.key() @ RewardsError::WrongRecipient,
        constraint = recipient.owner == device.owner @ RewardsError::WrongRecipient,
    )]
    pub recipient: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Token program of the reward mint.
    pub token_program: Interface<'info, TokenInterface>,
}

/// Verifies eligibility (active device, bonded to its current owner's stake, which still
/// covers every device it backs) and the proof, mints `cumulative_amount - total_claimed` to the
/// owner and emits [`RewardsClaimed`]. A claim with nothing new to pay changes nothing.
pub fn handler(ctx: Context<Claim>, args: ClaimArgs) -> Result<()> {
    require!(
        args.proof.len() <= MAX_PROOF_LEN,
        RewardsError::ProofTooLong
    );
    // A superseded root never pays: the claim names the latest finalized epoch, whose root
    // the config keeps.
    match ctx.accounts.config.latest_finalized_epoch {
        Some(latest) if args.epoch == latest => {}
        Some(latest) if args.epoch < latest => return err!(RewardsError::SupersededRoot),
        _ => return err!(RewardsError::EpochNotFinalized),
    }
    let device = &ctx.accounts.device;
    let bond_info = ctx.accounts.bond.to_account_info();
    require!(
        *bond_info.owner == staking::ID && !bond_info.data_is_empty(),
        RewardsError::DeviceNotBonded
    );
    let bond = {
        let data = bond_info.try_borrow_data()?;
        DeviceBond::try_deserialize(&mut &data[..])?
    };
    require!(
        bond.pool == ctx.accounts.pool.key() && bond.device == device.key(),
        RewardsError::DeviceNotBonded
    );
    require_keys_eq!(bond.staker, device.owner, RewardsError::BondStakerNotOwner);
    let position_info = ctx.accounts.position.to_account_info();
    require_keys_eq!(
        position_info.key(),
        bond.position,
        RewardsError::BondStakerNotOwner
    );
    require!(
        *position_info.owner == staking::ID,
        RewardsError::DeviceNotBonded
    );
    let position = {
        let data = position_info.try_borrow_data()?;
        StakePosition::try_deserialize(&mut &data[..])?
    };
    // A slash may have left the stake below what the bonded devices require.
    require!(
        depin_core::stake::covers(
            position.amount,
            position.devices_bonded,
            ctx.accounts.pool.min_stake_per_device,
        ),
        RewardsError::UnderCollateralized
    );

    let leaf = depin_core::merkle::reward_leaf::<SolanaSha256>(
        &device.key().to_bytes(),
        &device.owner.to_bytes(),
        args.cumulative_amount,
    );
    require!(
        depin_core::merkle::verify::<SolanaSha256>(
            &args.proof,
            &ctx.accounts.config.latest_finalized_root,
            leaf
        ),
        RewardsError::InvalidProof
    );

    let config_key = ctx.accounts.config.key();
    let device_key = device.key();
    let amount = args
        .cumulative_amount
        .saturating_sub(ctx.accounts.claimed.total_claimed);
    if amount == 0 {
        return Ok(());
    }

    let config = &mut ctx.accounts.config;
    let total_minted = config
        .total_minted
        .checked_add(amount)
        .ok_or(RewardsError::MathOverflow)?;
    require!(
        total_minted <= config.latest_finalized_total,
        RewardsError::MintCapExceeded
    );
    config.total_minted = total_minted;
    let claimed = &mut ctx.accounts.claimed;
    claimed.total_claimed = args.cumulative_amount;
    claimed.last_epoch = args.epoch;

    let seeds: &[&[u8]] = &[RewardsConfig::SEED, config.network.as_ref(), &[config.bump]];
    token_interface::mint_to(
        CpiContext::new_with_signer(
            ctx.accounts.token_program.key(),
            MintTo {
                mint: ctx.accounts.reward_mint.to_account_info(),
                to: ctx.accounts.recipient.to_account_info(),
                authority: config.to_account_info(),
            },
            &[seeds],
        ),
        amount,
    )?;
    emit_cpi!(RewardsClaimed {
        config: config_key,
        device: device_key,
        owner: device.owner,
        epoch: args.epoch,
        amount,
        total_claimed: claimed.total_claimed,
    });
    Ok(())
}
