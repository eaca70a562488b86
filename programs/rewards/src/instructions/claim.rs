use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, MintTo, TokenAccount, TokenInterface};
use device_registry::state::{Device, Network};
use staking::state::{DeviceBond, StakePool, StakePosition};

use crate::error::RewardsError;
use crate::events::RewardsClaimed;
use crate::hasher::SolanaSha256;
use crate::state::{Claimed, EpochRoot, RewardsConfig};

/// Longest proof accepted: enough for 2^32 devices, and a bound on the compute a claim uses.
pub const MAX_PROOF_LEN: usize = 32;

/// Arguments of `claim`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ClaimArgs {
    /// Finalized epoch whose root the proof leads to.
    pub epoch: u64,
    /// The device's cumulative amount in that epoch's tree.
    pub cumulative_amount: u64,
    /// Sibling hashes from the leaf to the root.
    pub proof: Vec<[u8; 32]>,
}

/// Accounts of `claim`. Anyone may send it; the tokens always go to the device owner.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: ClaimArgs)]
pub struct Claim<'info> {
    /// Whoever cranks the claim; pays the `Claimed` account's rent the first time.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ RewardsError::NetworkPaused)]
    pub network: Account<'info, Network>,
    /// The network's rewards config (the mint authority).
    #[account(
        mut,
        seeds = [RewardsConfig::SEED, network.key().as_ref()],
        bump = config.bump,
        has_one = network,
        has_one = reward_mint @ RewardsError::RewardMintMismatch,
    )]
    pub config: Account<'info, RewardsConfig>,
    /// The finalized epoch.
    #[account(
        seeds = [EpochRoot::SEED, config.key().as_ref(), &args.epoch.to_le_bytes()],
        bump = epoch_root.bump,
        constraint = epoch_root.finalized @ RewardsError::EpochNotFinalized,
    )]
    pub epoch_root: Box<Account<'info, EpochRoot>>,
    /// The registry device being paid (owner-checked: must belong to the registry).
    #[account(
        constraint = device.network == network.key() @ RewardsError::WrongNetwork,
        constraint = device.is_active() @ RewardsError::DeviceNotActive,
    )]
    pub device: Account<'info, Device>,
    /// The network's stake pool (owner-checked: must belong to staking).
    #[account(
        seeds = [StakePool::SEED, network.key().as_ref()],
        seeds::program = staking::ID,
        bump = pool.bump,
    )]
    pub pool: Account<'info, StakePool>,
    /// The device's bond in that pool.
    /// CHECK: the seeds (under the staking program) pin the address; the handler requires a
    /// `DeviceBond` written there by staking (`DeviceNotBonded` otherwise).
    #[account(
        seeds = [DeviceBond::SEED, pool.key().as_ref(), device.key().as_ref()],
        seeds::program = staking::ID,
        bump,
    )]
    pub bond: UncheckedAccount<'info>,
    /// The device owner's stake position, which must still cover its bonded devices.
    /// CHECK: the seeds (under the staking program) pin the address; the handler requires
    /// it to be the bond's position and reads it with owner and discriminator checked.
    #[account(
        seeds = [StakePosition::SEED, pool.key().as_ref(), device.owner.as_ref()],
        seeds::program = staking::ID,
        bump,
    )]
    pub position: UncheckedAccount<'info>,
    /// What the device has claimed so far.
    /// CHECK: the seeds pin the address; the handler loads it (owner and discriminator
    /// checked) or creates it on the device's first claim.
    #[account(mut, seeds = [Claimed::SEED, config.key().as_ref(), device.key().as_ref()], bump)]
    pub claimed: UncheckedAccount<'info>,
    /// The reward mint.
    #[account(mut)]
    pub reward_mint: InterfaceAccount<'info, Mint>,
    /// The device owner's token account of the reward mint.
    #[account(
        mut,
        constraint = recipient.mint == reward_mint.key() @ RewardsError::WrongRecipient,
        constraint = recipient.owner == device.owner @ RewardsError::WrongRecipient,
    )]
    pub recipient: InterfaceAccount<'info, TokenAccount>,
    /// Token program of the reward mint.
    pub token_program: Interface<'info, TokenInterface>,
    /// System program, to create `claimed`.
    pub system_program: Program<'info, System>,
}

/// Verifies eligibility (active device, bonded to its current owner's stake, which still
/// covers every device it backs) and the proof, mints `cumulative_amount - total_claimed` to the
/// owner and emits [`RewardsClaimed`]. A claim with nothing new to pay changes nothing.
pub fn handler(ctx: Context<Claim>, args: ClaimArgs) -> Result<()> {
    require!(
        args.proof.len() <= MAX_PROOF_LEN,
        RewardsError::ProofTooLong
    );
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
    let required = depin_core::stake::required_stake(
        position.devices_bonded,
        ctx.accounts.pool.min_stake_per_device,
    )
    .map_err(|_| RewardsError::MathOverflow)?;
    require!(
        position.amount >= required,
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
            &ctx.accounts.epoch_root.root,
            leaf
        ),
        RewardsError::InvalidProof
    );

    let config_key = ctx.accounts.config.key();
    let device_key = device.key();
    let claimed_info = ctx.accounts.claimed.to_account_info();
    let mut claimed = pda_create::load_or_create(
        &ctx.accounts.payer.to_account_info(),
        &claimed_info,
        Claimed::SIZE,
        &crate::ID,
        &[
            Claimed::SEED,
            config_key.as_ref(),
            device_key.as_ref(),
            &[ctx.bumps.claimed],
        ],
        RewardsError::UnexpectedAccount,
        || Claimed {
            config: config_key,
            device: device_key,
            total_claimed: 0,
            last_epoch: 0,
            bump: ctx.bumps.claimed,
        },
    )?;
    let amount = args.cumulative_amount.saturating_sub(claimed.total_claimed);
    if amount == 0 {
        return pda_create::write_account(&claimed_info, &claimed);
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
    claimed.total_claimed = args.cumulative_amount;
    claimed.last_epoch = args.epoch;
    pda_create::write_account(&claimed_info, &claimed)?;

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
