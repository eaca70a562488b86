//! # Device registry
//!
//! The root of trust of a DePIN network: which networks exist, which hardware vendors
//! (makers) may issue devices into them, and which devices exist, who owns them, where they
//! are and whether they may earn.
//!
//! Layout: `state/` holds one file per account, `instructions/` one file per instruction
//! (its arguments, its `#[derive(Accounts)]` and its `handler`), `events.rs` every event
//! and `error.rs` every error. This file only forwards to the handlers.
//!
//! Other programs of the suite (staking, rewards, storage escrow, energy settlement) read
//! [`state::Network`] and [`state::Device`] accounts with owner checks; they never write
//! them.

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
pub mod state;

use instructions::*;
use state::DeviceStatus;

declare_id!("3HKKi5rkoaxo8XmnXKtnAaQKYir6RbB9qyoKDSA3J28N");

#[program]
pub mod device_registry {
    use super::*;

    /// Creates a network: its kind, mints, treasury and fees. The signer becomes its authority.
    pub fn initialize_network(
        ctx: Context<InitializeNetwork>,
        args: InitializeNetworkArgs,
    ) -> Result<()> {
        instructions::initialize_network::handler(ctx, args)
    }

    /// Changes a network's fees, treasury or pause flag (authority only; allowed while paused).
    pub fn update_network(ctx: Context<UpdateNetwork>, args: UpdateNetworkArgs) -> Result<()> {
        instructions::update_network::handler(ctx, args)
    }

    /// First step of an authority rotation: the current authority names its successor.
    pub fn propose_authority(ctx: Context<ProposeAuthority>, new_authority: Pubkey) -> Result<()> {
        instructions::propose_authority::handler(ctx, new_authority)
    }

    /// Second step of an authority rotation: the proposed key signs to take over.
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        instructions::accept_authority::handler(ctx)
    }

    /// Registers a hardware vendor (unapproved until `set_maker_approval`).
    pub fn register_maker(ctx: Context<RegisterMaker>, args: RegisterMakerArgs) -> Result<()> {
        instructions::register_maker::handler(ctx, args)
    }

    /// Approves or revokes a maker and sets its device quota (authority only).
    pub fn set_maker_approval(
        ctx: Context<SetMakerApproval>,
        args: SetMakerApprovalArgs,
    ) -> Result<()> {
        instructions::set_maker_approval::handler(ctx, args)
    }

    /// Onboards a device, signed by the maker's issuing key, the device key and the owner;
    /// charges the onboarding fee into the treasury.
    pub fn onboard_device(ctx: Context<OnboardDevice>, args: OnboardDeviceArgs) -> Result<()> {
        instructions::onboard_device::handler(ctx, args)
    }

    /// Sets a device's H3 location (owner only; charges the location fee).
    pub fn assert_location(ctx: Context<AssertLocation>, location: u64) -> Result<()> {
        instructions::assert_location::handler(ctx, location)
    }

    /// Gives a device to a new owner (current owner only).
    pub fn transfer_device(ctx: Context<TransferDevice>, new_owner: Pubkey) -> Result<()> {
        instructions::transfer_device::handler(ctx, new_owner)
    }

    /// Suspends or reactivates a device (network authority) or decommissions it for good (owner).
    pub fn set_device_status(ctx: Context<SetDeviceStatus>, status: DeviceStatus) -> Result<()> {
        instructions::set_device_status::handler(ctx, status)
    }

    /// Names, rotates or removes the network's auditor (authority only; allowed while paused).
    pub fn set_auditor(ctx: Context<SetAuditor>, auditor: Option<Pubkey>) -> Result<()> {
        instructions::set_auditor::handler(ctx, auditor)
    }

    /// Suspends or reinstates a device with an evidence hash (the network's auditor only).
    pub fn audit_device(ctx: Context<AuditDevice>, args: AuditDeviceArgs) -> Result<()> {
        instructions::audit_device::handler(ctx, args)
    }
}
