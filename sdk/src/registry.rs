//! Instruction builders of the device registry, one per instruction.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use device_registry::accounts as acc;
use device_registry::instruction as ix;

pub use device_registry::instructions::{
    AuditDeviceArgs, InitializeNetworkArgs, OnboardDeviceArgs, RegisterMakerArgs,
    SetMakerApprovalArgs, UpdateNetworkArgs,
};
pub use device_registry::state::{Capabilities, DeviceStatus, NetworkKind};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: device_registry::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn event_authority() -> Pubkey {
    pda::event_authority(&device_registry::ID).0
}

/// Where a fee is paid from and to.
#[derive(Debug, Clone, Copy)]
pub struct FeeAccounts {
    /// The network's fee mint.
    pub fee_mint: Pubkey,
    /// The payer's token account of the fee mint.
    pub payer_token_account: Pubkey,
    /// The network's treasury.
    pub treasury: Pubkey,
    /// The fee mint's token program (SPL Token or Token-2022).
    pub token_program: Pubkey,
}

/// `initialize_network`: creates network `args.network_id`; `authority` signs.
pub fn initialize_network(
    payer: &Pubkey,
    authority: &Pubkey,
    reward_mint: &Pubkey,
    fee_mint: &Pubkey,
    treasury: &Pubkey,
    args: InitializeNetworkArgs,
) -> Instruction {
    build(
        acc::InitializeNetwork {
            payer: *payer,
            authority: *authority,
            network: pda::network(args.network_id).0,
            reward_mint: *reward_mint,
            fee_mint: *fee_mint,
            treasury: *treasury,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::InitializeNetwork { args },
    )
}

/// `update_network`: `new_treasury` is `Some` only when the treasury changes.
pub fn update_network(
    authority: &Pubkey,
    network: &Pubkey,
    new_treasury: Option<Pubkey>,
    args: UpdateNetworkArgs,
) -> Instruction {
    build(
        acc::UpdateNetwork {
            authority: *authority,
            network: *network,
            new_treasury,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::UpdateNetwork { args },
    )
}

/// `propose_authority`: the current authority names `new_authority`.
pub fn propose_authority(
    authority: &Pubkey,
    network: &Pubkey,
    new_authority: &Pubkey,
) -> Instruction {
    build(
        acc::ProposeAuthority {
            authority: *authority,
            network: *network,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::ProposeAuthority {
            new_authority: *new_authority,
        },
    )
}

/// `accept_authority`: `new_authority` signs to take over.
pub fn accept_authority(new_authority: &Pubkey, network: &Pubkey) -> Instruction {
    build(
        acc::AcceptAuthority {
            new_authority: *new_authority,
            network: *network,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::AcceptAuthority {},
    )
}

/// `register_maker`: the network authority registers `args.maker_authority`'s maker.
pub fn register_maker(
    payer: &Pubkey,
    authority: &Pubkey,
    network: &Pubkey,
    args: RegisterMakerArgs,
) -> Instruction {
    build(
        acc::RegisterMaker {
            payer: *payer,
            authority: *authority,
            network: *network,
            maker: pda::maker(network, &args.maker_authority).0,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::RegisterMaker { args },
    )
}

/// `set_maker_approval` for the maker whose issuing key is `maker_authority`.
pub fn set_maker_approval(
    authority: &Pubkey,
    network: &Pubkey,
    maker_authority: &Pubkey,
    args: SetMakerApprovalArgs,
) -> Instruction {
    build(
        acc::SetMakerApproval {
            authority: *authority,
            network: *network,
            maker: pda::maker(network, maker_authority).0,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::SetMakerApproval { args },
    )
}

/// `onboard_device`: `owner`, `maker_authority` and `device_key` all sign; the fee is paid
/// from `fee.payer_token_account` (an account of `owner`).
pub fn onboard_device(
    owner: &Pubkey,
    maker_authority: &Pubkey,
    device_key: &Pubkey,
    network: &Pubkey,
    fee: &FeeAccounts,
    args: OnboardDeviceArgs,
) -> Instruction {
    build(
        acc::OnboardDevice {
            owner: *owner,
            maker_authority: *maker_authority,
            device_key: *device_key,
            network: *network,
            maker: pda::maker(network, maker_authority).0,
            device: pda::device(network, device_key).0,
            fee_mint: fee.fee_mint,
            owner_fee_account: fee.payer_token_account,
            treasury: fee.treasury,
            token_program: fee.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::OnboardDevice { args },
    )
}

/// `assert_location`: the owner moves its device to H3 cell `location`.
pub fn assert_location(
    owner: &Pubkey,
    network: &Pubkey,
    device_key: &Pubkey,
    fee: &FeeAccounts,
    location: u64,
) -> Instruction {
    build(
        acc::AssertLocation {
            owner: *owner,
            network: *network,
            device: pda::device(network, device_key).0,
            fee_mint: fee.fee_mint,
            owner_fee_account: fee.payer_token_account,
            treasury: fee.treasury,
            token_program: fee.token_program,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::AssertLocation { location },
    )
}

/// `transfer_device`: the owner gives its device to `new_owner`.
pub fn transfer_device(
    owner: &Pubkey,
    network: &Pubkey,
    device_key: &Pubkey,
    new_owner: &Pubkey,
) -> Instruction {
    build(
        acc::TransferDevice {
            owner: *owner,
            network: *network,
            device: pda::device(network, device_key).0,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::TransferDevice {
            new_owner: *new_owner,
        },
    )
}

/// `set_device_status`: `signer` is the network authority or the device owner.
pub fn set_device_status(
    signer: &Pubkey,
    network: &Pubkey,
    device_key: &Pubkey,
    status: DeviceStatus,
) -> Instruction {
    build(
        acc::SetDeviceStatus {
            signer: *signer,
            network: *network,
            device: pda::device(network, device_key).0,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::SetDeviceStatus { status },
    )
}

/// `set_auditor`: the network `authority` names (`Some`), rotates or removes (`None`) the
/// network's auditor.
pub fn set_auditor(authority: &Pubkey, network: &Pubkey, auditor: Option<Pubkey>) -> Instruction {
    build(
        acc::SetAuditor {
            authority: *authority,
            network: *network,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::SetAuditor { auditor },
    )
}

/// `audit_device`: the network's `auditor` suspends (`DeviceStatus::Suspended`) or
/// reinstates (`DeviceStatus::Active`) the device of `device_key`, recording `evidence`.
pub fn audit_device(
    auditor: &Pubkey,
    network: &Pubkey,
    device_key: &Pubkey,
    args: AuditDeviceArgs,
) -> Instruction {
    build(
        acc::AuditDevice {
            auditor: *auditor,
            network: *network,
            device: pda::device(network, device_key).0,
            event_authority: event_authority(),
            program: device_registry::ID,
        },
        ix::AuditDevice { args },
    )
}
