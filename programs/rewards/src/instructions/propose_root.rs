use anchor_lang::prelude::*;
use depin_core::emission::EmissionSchedule;
use device_registry::state::Network;

use crate::error::RewardsError;
use crate::events::{RootFinalized, RootProposed};
use crate::state::{EpochRoot, Proposal, RewardsConfig, MAX_ORACLES};

/// Arguments of `propose_root`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct ProposeRootArgs {
    /// The epoch (must have ended).
    pub epoch: u64,
    /// Merkle root over `(device, owner, cumulative_amount)` leaves.
    pub root: [u8; 32],
    /// Sum of every leaf's cumulative amount.
    pub cumulative_total: u64,
    /// SHA-256 of the epoch's region multiplier table as the oracles publish it off chain
    /// (the SDK's `RegionMultipliers::hash`); all zeros when the epoch uses no table.
    /// Proposals agree only when root, total and this hash are all identical.
    pub multipliers_hash: [u8; 32],
}

/// Accounts of `propose_root`.
#[event_cpi]
#[derive(Accounts)]
pub struct ProposeRoot<'info> {
    /// An oracle of the config; pays the epoch account's rent on the first proposal.
    #[account(mut)]
    pub oracle: Signer<'info>,
    /// The registry network.
    #[account(constraint = !network.paused @ RewardsError::NetworkPaused)]
    pub network: Box<Account<'info, Network>>,
    /// The network's rewards config.
    #[account(mut, dup, has_one = network @ RewardsError::WrongNetwork)]
    pub config: Box<Account<'info, RewardsConfig>>,
    /// The epoch's proposals.
    /// CHECK: the handler loads it (owner, discriminator, config and epoch checked) or
    // creates it on the epoch's first proposal at the canonical address of `["epoch",
    // config, epoch]` (`ConstraintSeeds` for any other address).
    #[account(mut)]
    pub epoch_root: UncheckedAccount<'info>,
    /// System program, to create `epoch_root`.
    pub system_program: Program<'info, System>,
}

/// Loads epoch `epoch`'s proposals, or creates the account on the epoch's first proposal
/// (as `pda_create::load_or_create`, split in two). The 937-byte `EpochRoot` only
/// ever lives in the frames of [`read_epoch_root`] and [`new_epoch_root`], each never
/// inlined and returning a box, so that neither this frame nor the handler's holds a copy
/// (one frame holding every temporary of both paths exceeded the SBF VM's 4 KiB).
#[inline(never)]
fn load_epoch_root<'info>(
    payer: &AccountInfo<'info>,
    epoch_info: &AccountInfo<'info>,
    config: Pubkey,
    epoch: u64,
    oracle_set_version: u32,
) -> Result<Box<EpochRoot>> {
    if epoch_info.owner == &crate::ID {
        // Only this program creates `EpochRoot`s, always at the canonical address of their
        // (config, epoch): one it owns with the expected identity is that address.
        let root = read_epoch_root(epoch_info)?;
        require!(
            root.config == config && root.epoch == epoch,
            RewardsError::UnexpectedAccount
        );
        return Ok(root);
    }
    let bump = pda_create::create_pda_account(
        payer,
        epoch_info,
        EpochRoot::SIZE,
        &crate::ID,
        &crate::ID,
        &[EpochRoot::SEED, config.as_ref(), &epoch.to_le_bytes()],
        RewardsError::UnexpectedAccount,
    )?;
    Ok(new_epoch_root(config, epoch, oracle_set_version, bump))
}

/// The `EpochRoot` stored in `epoch_info` (discriminator checked), read into a box in place.
#[inline(never)]
fn read_epoch_root(epoch_info: &AccountInfo) -> Result<Box<EpochRoot>> {
    let mut root = new_epoch_root(Pubkey::default(), 0, 0, 0);
    root.read_in_place(&epoch_info.try_borrow_data()?)?;
    Ok(root)
}

/// A new epoch's `EpochRoot`, without proposals, boxed.
#[inline(never)]
fn new_epoch_root(config: Pubkey, epoch: u64, oracle_set_version: u32, bump: u8) -> Box<EpochRoot> {
    Box::new(EpochRoot {
        config,
        epoch,
        oracle_set_version,
        proposals: [Proposal::default(); MAX_ORACLES],
        finalized: false,
        root: [0; 32],
        cumulative_total: 0,
        multipliers_hash: [0; 32],
        finalized_at: 0,
        bump,
    })
}

/// Records the oracle's proposal, finalizes the epoch when `quorum` proposals agree exactly
/// (root, cumulative total and multiplier table hash), and emits [`RootProposed`] (and [`RootFinalized`]).
pub fn handler(ctx: Context<ProposeRoot>, args: ProposeRootArgs) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let oracle_index = config
        .oracle_index(&ctx.accounts.oracle.key())
        .ok_or(RewardsError::NotOracle)?;

    let now = Clock::get()?.unix_timestamp;
    let epoch_end =
        depin_core::epoch::epoch_end(config.genesis_ts, config.epoch_duration_secs, args.epoch)
            .map_err(|_| RewardsError::MathOverflow)?;
    require!(now >= epoch_end, RewardsError::EpochNotOver);
    if let Some(latest) = config.latest_finalized_epoch {
        require!(args.epoch != latest, RewardsError::EpochAlreadyFinalized);
        require!(args.epoch > latest, RewardsError::StaleEpoch);
    }
    let cap = EmissionSchedule::from(config.schedule)
        .cumulative_through(args.epoch)
        .map_err(|_| RewardsError::MathOverflow)?;
    require!(
        u128::from(args.cumulative_total) <= cap,
        RewardsError::ExceedsEmissionSchedule
    );
    require!(
        args.cumulative_total >= config.latest_finalized_total,
        RewardsError::DecreasingTotal
    );

    let config_key = config.key();
    let version = config.oracle_set_version;
    let epoch_info = ctx.accounts.epoch_root.to_account_info();
    let mut epoch_root = load_epoch_root(
        &ctx.accounts.oracle.to_account_info(),
        &epoch_info,
        config_key,
        args.epoch,
        version,
    )?;
    require!(!epoch_root.finalized, RewardsError::EpochAlreadyFinalized);
    if epoch_root.oracle_set_version != version {
        // The oracle set changed since these proposals: indexes no longer name the same keys.
        epoch_root.proposals = [Proposal::default(); MAX_ORACLES];
        epoch_root.oracle_set_version = version;
    }
    let slot = epoch_root
        .proposals
        .get_mut(oracle_index)
        .ok_or(RewardsError::NotOracle)?;
    let proposal = Proposal {
        submitted: true,
        root: args.root,
        cumulative_total: args.cumulative_total,
        multipliers_hash: args.multipliers_hash,
    };
    // A second proposal by the same oracle replaces its first (a change of mind).
    *slot = proposal;
    let votes = epoch_root.votes_for(&proposal);
    emit_cpi!(RootProposed {
        config: config_key,
        epoch: args.epoch,
        oracle: ctx.accounts.oracle.key(),
        root: args.root,
        cumulative_total: args.cumulative_total,
        multipliers_hash: args.multipliers_hash,
        votes,
    });

    if votes >= config.quorum {
        epoch_root.finalized = true;
        epoch_root.root = args.root;
        epoch_root.cumulative_total = args.cumulative_total;
        epoch_root.multipliers_hash = args.multipliers_hash;
        epoch_root.finalized_at = now;
        config.latest_finalized_epoch = Some(args.epoch);
        config.latest_finalized_total = args.cumulative_total;
        config.latest_finalized_root = args.root;
        emit_cpi!(RootFinalized {
            config: config_key,
            epoch: args.epoch,
            root: args.root,
            cumulative_total: args.cumulative_total,
            multipliers_hash: args.multipliers_hash,
        });
    }
    pda_create::write_account(&epoch_info, epoch_root.as_ref())
}
