//! Errors of the energy settlement program. Anchor numbers them from 6000 in declaration
//! order, so new variants are only ever appended.

use anchor_lang::prelude::*;

/// Every way an energy instruction can refuse its input.
#[error_code]
pub enum EnergyError {
    /// Returned if the network is paused and the instruction is not a refund (or settles a
    /// producer without a reading: a paused network refuses readings).
    #[msg("The network is paused")]
    NetworkPaused,
    /// Returned if the signer is not the network's authority.
    #[msg("Signer is not the network authority")]
    NotNetworkAuthority,
    /// Returned if the network is not an Energy network.
    #[msg("Network is not an energy network")]
    NotEnergyNetwork,
    /// Returned if market parameters are out of range (zero interval, a reading window
    /// under 2 s, more than 32 orders, fee above 100%, floor above cap).
    #[msg("Invalid market parameters")]
    InvalidMarketParams,
    /// Returned if the market already exists.
    #[msg("Energy market already exists")]
    MarketAlreadyExists,
    /// Returned if the slash/fee treasury is not a quote-mint account of the network
    /// treasury's owner.
    #[msg("Treasury does not belong to the network treasury's owner")]
    TreasuryMismatch,
    /// Returned if a device belongs to another network.
    #[msg("Device belongs to another network")]
    WrongNetwork,
    /// Returned if the signer does not own the device.
    #[msg("Signer is not the device owner")]
    NotDeviceOwner,
    /// Returned if the device is not active.
    #[msg("Device is not active")]
    DeviceNotActive,
    /// Returned if an order or cancellation comes at or after gate closure.
    #[msg("Gate closure has passed")]
    GateClosed,
    /// Returned if an interval is cleared before gate closure.
    #[msg("Gate is still open")]
    GateNotClosed,
    /// Returned if a price or limit is outside the market's floor and cap.
    #[msg("Price outside the market's floor and cap")]
    PriceOutOfBounds,
    /// Returned if an order's volume is zero.
    #[msg("Volume must be positive")]
    ZeroVolume,
    /// Returned if a side of the interval's book is full.
    #[msg("Order book is full")]
    BookFull,
    /// Returned if an order reference names no order.
    #[msg("No such order")]
    NoSuchOrder,
    /// Returned if a cancellation is signed by someone other than the order's owner.
    #[msg("Signer is not the order owner")]
    NotOrderOwner,
    /// Returned if the order was already cancelled or settled.
    #[msg("Order is not open")]
    OrderNotOpen,
    /// Returned if an interval is cleared twice.
    #[msg("Interval already cleared")]
    AlreadyCleared,
    /// Returned if an order is settled before its interval is cleared.
    #[msg("Interval not cleared")]
    NotCleared,
    /// Returned if a reading or settlement comes before the interval ends.
    #[msg("Interval is not over")]
    IntervalNotOver,
    /// Returned if an ask without a reading is settled while meters may still report: before
    /// the interval's reading deadline, or within a reading window of the network's resume
    /// from a pause.
    #[msg("Reading window still open")]
    ReadingWindowOpen,
    /// Returned if a bid that matched energy is settled before every ask of its interval (a
    /// bid that matched nothing settles at any time after the interval).
    #[msg("Asks of the interval are not all settled")]
    AsksNotSettled,
    /// Returned if the settlement recipient is not the order owner's quote-mint account.
    #[msg("Recipient is not the order owner's account")]
    WrongRecipient,
    /// Returned if no Ed25519 program instruction precedes `submit_reading`.
    #[msg("Missing Ed25519 signature instruction")]
    MissingSignature,
    /// Returned if the Ed25519 instruction is not a single signature over data inside itself.
    #[msg("Malformed Ed25519 signature instruction")]
    MalformedSignature,
    /// Returned if the signature is by a key other than the device key.
    #[msg("Signature is not by the device key")]
    WrongSigner,
    /// Returned if the signed message differs from the reading submitted.
    #[msg("Signed message does not match the reading")]
    MessageMismatch,
    /// Returned if the reading's counter is not above the meter's last counter.
    #[msg("Stale or replayed meter counter")]
    StaleCounter,
    /// Returned if the device already reported for this interval.
    #[msg("Reading already submitted")]
    ReadingAlreadySubmitted,
    /// Returned if the reading account passed to a settlement is not the device's.
    #[msg("Reading account is not the device's for this interval")]
    WrongReading,
    /// Returned if an account at a program address is not what the program wrote there.
    #[msg("Account at a program address is not the expected account")]
    UnexpectedAccount,
    /// Returned if an amount, count or time would overflow.
    #[msg("Arithmetic overflow")]
    MathOverflow,
    /// Returned if the device already has an open order on that side of the interval (one
    /// ask and one bid per device, so no device can fill a book alone).
    #[msg("Device already has an open order on this side")]
    DuplicateOrder,
    /// Returned if an interval is closed before every order is settled.
    #[msg("Interval is not settled")]
    IntervalNotSettled,
    /// Returned if the device already placed `depin_core::energy::MAX_PLACEMENTS_PER_DEVICE`
    /// orders on this side of this interval (cancelled ones count): churning orders costs the
    /// churner, never the book.
    #[msg("Too many orders placed by this device in this interval")]
    TooManyPlacements,
    /// Returned if the device already holds orders in `MAX_OPEN_INTERVALS` intervals whose
    /// gates are still open.
    #[msg("Orders in too many open intervals")]
    TooManyOpenIntervals,
    /// Returned if an order's volume is above `depin_core::energy::MAX_ORDER_WH` (so a full
    /// side of a book always sums within a `u64` and every interval can clear).
    #[msg("Order volume too large")]
    OrderTooLarge,
    /// Returned if an ask offers more than its device can deliver in one interval
    /// (`depin_core::energy::ask_capacity_wh` of the capabilities its maker registered:
    /// the panel's peak output over the interval plus a full battery). A meter with neither
    /// can only bid.
    #[msg("Ask above what the device can deliver in one interval")]
    AskAboveCapacity,
}

impl From<depin_core::CoreError> for EnergyError {
    fn from(e: depin_core::CoreError) -> Self {
        match e {
            depin_core::CoreError::TooManyOrders => EnergyError::BookFull,
            depin_core::CoreError::TooManyPlacements => EnergyError::TooManyPlacements,
            depin_core::CoreError::TooManyOpenIntervals => EnergyError::TooManyOpenIntervals,
            _ => EnergyError::MathOverflow,
        }
    }
}
