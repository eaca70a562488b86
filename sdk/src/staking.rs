//! Instruction builders of the staking program, one per instruction.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use staking::accounts as acc;
use staking::instruction as ix;

pub use staking::instructions::{InitializePoolArgs, SlashArgs, UpdatePoolArgs};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: staking::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn event_authority() -> Pubkey {
    pda::event_authority(&staking::ID).0
}

/// The token side of a pool: its mint and that mint's token program.
#[derive(Debug, Clone, Copy)]
pub struct StakeToken {
    /// The stake mint.
    pub mint: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
}

/// `initialize_pool`: the network authority creates the pool; slashed stake goes to
/// `treasury`, a stake-mint account owned by the owner of `network_treasury`.
pub fn initialize_pool(
    payer: &Pubkey,
    authority: &Pubkey,
    network: &Pubkey,
    token: &StakeToken,
    network_treasury: &Pubkey,
    treasury: &Pubkey,
    args: InitializePoolArgs,
) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::InitializePool {
            payer: *payer,
            authority: *authority,
            network: *network,
            pool,
            stake_mint: token.mint,
            vault: pda::stake_vault(&pool).0,
            network_treasury: *network_treasury,
            treasury: *treasury,
            token_program: token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::InitializePool { args },
    )
}

/// `update_pool` (network authority).
pub fn update_pool(authority: &Pubkey, network: &Pubkey, args: UpdatePoolArgs) -> Instruction {
    build(
        acc::UpdatePool {
            authority: *authority,
            network: *network,
            pool: pda::stake_pool(network).0,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::UpdatePool { args },
    )
}

/// `sync_treasury` (anyone): after the network authority rotated the network treasury to
/// `network_treasury`, points the pool's slash treasury at `treasury`, a stake-mint account
/// of the same owner.
pub fn sync_treasury(
    network: &Pubkey,
    network_treasury: &Pubkey,
    treasury: &Pubkey,
) -> Instruction {
    build(
        acc::SyncTreasury {
            network: *network,
            network_treasury: *network_treasury,
            pool: pda::stake_pool(network).0,
            treasury: *treasury,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::SyncTreasury {},
    )
}

/// `stake`: moves `amount` from `owner_token_account` into the pool.
pub fn stake(
    owner: &Pubkey,
    network: &Pubkey,
    token: &StakeToken,
    owner_token_account: &Pubkey,
    amount: u64,
) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::Stake {
            owner: *owner,
            network: *network,
            pool,
            position: pda::stake_position(&pool, owner).0,
            stake_mint: token.mint,
            owner_token_account: *owner_token_account,
            vault: pda::stake_vault(&pool).0,
            token_program: token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::Stake { amount },
    )
}

/// `bond_device`: `owner` bonds its registry device `device` (the `Device` account address).
pub fn bond_device(owner: &Pubkey, network: &Pubkey, device: &Pubkey) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::BondDevice {
            owner: *owner,
            network: *network,
            pool,
            position: pda::stake_position(&pool, owner).0,
            device: *device,
            bond: pda::device_bond(&pool, device).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::BondDevice {},
    )
}

/// `unbond_device`: `signer` is the bond's staker or the device's current owner; `staker`
/// is the bond's staker (it receives the rent).
pub fn unbond_device(
    signer: &Pubkey,
    staker: &Pubkey,
    network: &Pubkey,
    device: &Pubkey,
) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::UnbondDevice {
            signer: *signer,
            staker: *staker,
            pool,
            position: pda::stake_position(&pool, staker).0,
            device: *device,
            bond: pda::device_bond(&pool, device).0,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::UnbondDevice {},
    )
}

/// `request_unstake`: moves `amount` of `owner`'s active stake into cooldown.
pub fn request_unstake(owner: &Pubkey, network: &Pubkey, amount: u64) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::RequestUnstake {
            owner: *owner,
            pool,
            position: pda::stake_position(&pool, owner).0,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::RequestUnstake { amount },
    )
}

/// `withdraw`: pays `owner`'s cooled-down stake into `owner_token_account`.
pub fn withdraw(
    owner: &Pubkey,
    network: &Pubkey,
    token: &StakeToken,
    owner_token_account: &Pubkey,
) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::Withdraw {
            owner: *owner,
            pool,
            position: pda::stake_position(&pool, owner).0,
            stake_mint: token.mint,
            owner_token_account: *owner_token_account,
            vault: pda::stake_vault(&pool).0,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::Withdraw {},
    )
}

/// `slash`: the slash authority takes `args.amount` of `staker`'s stake into `treasury`
/// (the pool's slash treasury).
pub fn slash(
    slash_authority: &Pubkey,
    network: &Pubkey,
    staker: &Pubkey,
    token: &StakeToken,
    treasury: &Pubkey,
    args: SlashArgs,
) -> Instruction {
    let pool = pda::stake_pool(network).0;
    build(
        acc::Slash {
            slash_authority: *slash_authority,
            pool,
            position: pda::stake_position(&pool, staker).0,
            stake_mint: token.mint,
            vault: pda::stake_vault(&pool).0,
            treasury: *treasury,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: staking::ID,
        },
        ix::Slash { args },
    )
}
