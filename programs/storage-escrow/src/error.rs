//! Errors of the storage escrow program. Anchor numbers them from 6000 in declaration
//! order, so new variants are only ever appended.

use anchor_lang::prelude::*;

/// Every way a storage instruction can refuse its input.
#[error_code]
pub enum StorageError {
    /// Returned if the network is paused and the instruction opens new business.
    #[msg("The network is paused")]
    NetworkPaused,
    /// Returned if the signer is not the network's authority.
    #[msg("Signer is not the network authority")]
    NotNetworkAuthority,
    /// Returned if the network is not a Storage network.
    #[msg("Network is not a storage network")]
    NotStorageNetwork,
    /// Returned if market parameters are out of range.
    #[msg("Invalid market parameters")]
    InvalidMarketParams,
    /// Returned if the market already exists.
    #[msg("Storage market already exists")]
    MarketAlreadyExists,
    /// Returned if the fee treasury is not a payment-mint account of the network treasury's
    /// owner.
    #[msg("Treasury does not belong to the network treasury's owner")]
    TreasuryMismatch,
    /// Returned if deal terms are out of range (no periods or more than 32, zero price, no
    /// chunks or more than 2^32, a chunk size that is not a positive multiple of 32).
    #[msg("Invalid deal terms")]
    InvalidDealTerms,
    /// Returned if the deal's address is already an account (defensive: ids are sequential,
    /// so only a next id whose address was somehow taken could reach it).
    #[msg("Deal already exists")]
    DealAlreadyExists,
    /// Returned if the provider device is not a device of the market's Storage network.
    #[msg("Device is not a storage device of this network")]
    NotStorageDevice,
    /// Returned if the provider device is not active.
    #[msg("Device is not active")]
    DeviceNotActive,
    /// Returned if the signer does not own the provider device.
    #[msg("Signer is not the device owner")]
    NotDeviceOwner,
    /// Returned if the deal is not awaiting acceptance.
    #[msg("Deal is not proposed")]
    DealNotProposed,
    /// Returned if the deal is not active.
    #[msg("Deal is not active")]
    DealNotActive,
    /// Returned if a challenge is opened for a period other than the current one, or a
    /// period past the deal's end.
    #[msg("Not the current period")]
    WrongPeriod,
    /// Returned if the period's challenge is already open.
    #[msg("Challenge already open")]
    ChallengeAlreadyOpen,
    /// Returned if a proof comes for a period whose challenge is not open.
    #[msg("Challenge not open")]
    ChallengeNotOpen,
    /// Returned if a proof comes in the slot the challenge opened (its seed is not known).
    #[msg("Challenge seed not known yet")]
    SeedNotYetKnown,
    /// Returned if the seed's slot hash is no longer in the SlotHashes sysvar (defensive:
    /// windows are capped so that it always is).
    #[msg("Challenge seed no longer available")]
    SeedUnavailable,
    /// Returned if a proof comes after the challenge window (`challenge_window_slots`
    /// slots with a block since the challenge).
    #[msg("Proof window closed")]
    ProofWindowClosed,
    /// Returned if the period is already proven.
    #[msg("Period already proven")]
    PeriodAlreadyProven,
    /// Returned if the period was faulted.
    #[msg("Period was faulted")]
    PeriodFaulted,
    /// Returned if a response names a challenge index outside `challenges_per_period`.
    #[msg("No such challenge")]
    NoSuchChallenge,
    /// Returned if the same challenge is answered twice.
    #[msg("Challenge already answered")]
    DuplicateResponse,
    /// Returned if a response does not prove the challenged word.
    #[msg("Invalid storage proof")]
    InvalidProof,
    /// Returned if a proof path is longer than 32 levels.
    #[msg("Proof too long")]
    ProofTooLong,
    /// Returned if a fault is reported for a period that is not (yet) at fault.
    #[msg("Period is not at fault")]
    FaultNotReportable,
    /// Returned if a deal is completed before every period is resolved.
    #[msg("Deal is not finished")]
    DealNotFinished,
    /// Returned if a token account does not belong to the party it is paid to.
    #[msg("Token account does not belong to the payee")]
    WrongRecipient,
    /// Returned if an amount, count or time would overflow.
    #[msg("Arithmetic overflow")]
    MathOverflow,
    /// Returned if a deal id is not the client's next one (`DealCounter::next_deal_id`):
    /// deal addresses are used once.
    #[msg("Deal id is not the client's next deal id")]
    DealIdNotNext,
    /// Returned if an acceptance names terms (by their hash) other than the deal's.
    #[msg("The accepted terms are not the deal's terms")]
    TermsMismatch,
}
