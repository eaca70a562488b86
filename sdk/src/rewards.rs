//! Instruction builders of the rewards program, one per instruction.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use rewards::accounts as acc;
use rewards::instruction as ix;

pub use rewards::instructions::{
    ClaimArgs, InitializeRewardsArgs, ProposeRootArgs, SetOraclesArgs, MAX_PROOF_LEN,
};
pub use rewards::state::Schedule;

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: rewards::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn event_authority() -> Pubkey {
    pda::event_authority(&rewards::ID).0
}

/// The reward mint and its token program.
#[derive(Debug, Clone, Copy)]
pub struct RewardToken {
    /// The network's reward mint.
    pub mint: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
}

/// `initialize_rewards`: the network authority and the reward mint's current
/// `mint_authority` sign; the mint authority moves to the config PDA.
pub fn initialize_rewards(
    payer: &Pubkey,
    authority: &Pubkey,
    network: &Pubkey,
    token: &RewardToken,
    mint_authority: &Pubkey,
    args: InitializeRewardsArgs,
) -> Instruction {
    build(
        acc::InitializeRewards {
            payer: *payer,
            authority: *authority,
            network: *network,
            config: pda::rewards_config(network).0,
            reward_mint: token.mint,
            mint_authority: *mint_authority,
            token_program: token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: rewards::ID,
        },
        ix::InitializeRewards { args },
    )
}

/// `set_oracles` (network authority).
pub fn set_oracles(authority: &Pubkey, network: &Pubkey, args: SetOraclesArgs) -> Instruction {
    build(
        acc::SetOracles {
            authority: *authority,
            network: *network,
            config: pda::rewards_config(network).0,
            event_authority: event_authority(),
            program: rewards::ID,
        },
        ix::SetOracles { args },
    )
}

/// `propose_root`: `oracle` signs and pays the epoch account the first time.
pub fn propose_root(oracle: &Pubkey, network: &Pubkey, args: ProposeRootArgs) -> Instruction {
    let config = pda::rewards_config(network).0;
    build(
        acc::ProposeRoot {
            oracle: *oracle,
            network: *network,
            config,
            epoch_root: pda::epoch_root(&config, args.epoch).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: rewards::ID,
        },
        ix::ProposeRoot { args },
    )
}

/// `open_claimed`: opens `device`'s claim record (once per device, before its first claim);
/// `payer` (anyone) pays its rent.
pub fn open_claimed(payer: &Pubkey, network: &Pubkey, device: &Pubkey) -> Instruction {
    let config = pda::rewards_config(network).0;
    build(
        acc::OpenClaimed {
            payer: *payer,
            network: *network,
            config,
            device: *device,
            claimed: pda::claimed(&config, device).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: rewards::ID,
        },
        ix::OpenClaimed {},
    )
}

/// `claim`: pays `device` (the registry `Device` address, owned by `device_owner`) into
/// `recipient`, a reward-mint account of the device owner. Anyone may send it; the device's
/// claim record must be open (see [`open_claimed`] and [`claim_instructions`]).
pub fn claim(
    network: &Pubkey,
    device: &Pubkey,
    device_owner: &Pubkey,
    token: &RewardToken,
    recipient: &Pubkey,
    args: ClaimArgs,
) -> Instruction {
    let config = pda::rewards_config(network).0;
    let pool = pda::stake_pool(network).0;
    build(
        acc::Claim {
            network: *network,
            config,
            device: *device,
            pool,
            bond: pda::device_bond(&pool, device).0,
            position: pda::stake_position(&pool, device_owner).0,
            claimed: pda::claimed(&config, device).0,
            reward_mint: token.mint,
            recipient: *recipient,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: rewards::ID,
        },
        ix::Claim { args },
    )
}

/// A claim as a cranker sends it: `open_claimed` first when the device's record is not
/// open yet (`claimed_open` is whether `pda::claimed(config, device)` exists), then `claim`.
#[allow(
    clippy::too_many_arguments,
    reason = "the claim's accounts plus who pays a first claim's record"
)]
pub fn claim_instructions(
    payer: &Pubkey,
    network: &Pubkey,
    device: &Pubkey,
    device_owner: &Pubkey,
    token: &RewardToken,
    recipient: &Pubkey,
    args: ClaimArgs,
    claimed_open: bool,
) -> Vec<Instruction> {
    let mut ixs = Vec::with_capacity(2);
    if !claimed_open {
        ixs.push(open_claimed(payer, network, device));
    }
    ixs.push(claim(network, device, device_owner, token, recipient, args));
    ixs
}
