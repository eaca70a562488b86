//! Every event of every program, decoded with the programs' own types.

use anchor_lang::prelude::Pubkey;

/// Why an event payload did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Shorter than a discriminator.
    #[error("payload shorter than a discriminator")]
    TooShort,
    /// No event of the program has this discriminator.
    #[error("unknown event discriminator {0:02x?}")]
    UnknownDiscriminator([u8; 8]),
    /// The discriminator matched but the fields did not deserialize.
    #[error("{event}: {reason}")]
    Malformed {
        /// Event type.
        event: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// Bytes left after the event's fields.
    #[error("{0}: trailing bytes")]
    TrailingBytes(&'static str),
}

macro_rules! program_events {
    ($(#[$doc:meta])* $module:ident, $krate:ident, [$($name:ident),+ $(,)?]) => {
        $(#[$doc])*
        pub mod $module {
            use anchor_lang::{AnchorDeserialize, Discriminator};
            use super::EventError;
            pub use ::$krate::events::{$($name),+};

            /// One event of this program.
            #[derive(Debug, Clone, PartialEq, Eq)]
            pub enum Event {
                $(
                    #[doc = concat!("`", stringify!($name), "`")]
                    $name($name),
                )+
            }

            impl Event {
                /// The event's type name.
                pub fn name(&self) -> &'static str {
                    match self {
                        $(Event::$name(_) => stringify!($name),)+
                    }
                }

                /// Decodes `discriminator || borsh(event)`.
                pub fn decode(payload: &[u8]) -> Result<Self, EventError> {
                    let (disc, body) = payload.split_at_checked(8).ok_or(EventError::TooShort)?;
                    $(
                        if disc == <$name as Discriminator>::DISCRIMINATOR {
                            let mut rest = body;
                            let event = <$name as AnchorDeserialize>::deserialize(&mut rest)
                                .map_err(|e| EventError::Malformed { event: stringify!($name), reason: e.to_string() })?;
                            if !rest.is_empty() {
                                return Err(EventError::TrailingBytes(stringify!($name)));
                            }
                            return Ok(Event::$name(event));
                        }
                    )+
                    let mut d = [0u8; 8];
                    d.copy_from_slice(disc);
                    Err(EventError::UnknownDiscriminator(d))
                }
            }
        }
    };
}

program_events!(
    /// Device registry events.
    registry, device_registry, [
    NetworkInitialized, NetworkUpdated, AuthorityProposed, AuthorityAccepted, MakerRegistered,
    MakerApprovalSet, DeviceOnboarded, LocationAsserted, DeviceTransferred, DeviceStatusChanged,
    AuditorSet, DeviceAudited,
]);
program_events!(
    /// Staking events.
    staking, staking, [
    PoolInitialized, PoolUpdated, Staked, DeviceBonded, DeviceUnbonded, UnstakeRequested,
    Withdrawn, Slashed, TreasurySynced,
]);
program_events!(
    /// Rewards events.
    rewards, rewards, [
    RewardsInitialized, OraclesSet, RootProposed, RootFinalized, RewardsClaimed, ClaimedOpened,
]);
program_events!(
    /// Storage escrow events.
    storage, storage_escrow, [
    MarketInitialized, DealProposed, DealCancelled, DealAccepted, ChallengeOpened, ProofAccepted,
    FaultReported, DealTerminated, DealCompleted, TreasurySynced,
]);
program_events!(
    /// Energy settlement events.
    energy, energy_settlement, [
    MarketInitialized, OrderPlaced, OrderCancelled, ReadingSubmitted, IntervalCleared,
    OrderSettled, IntervalSettled, IntervalClosed, TreasurySynced,
]);

/// An event of any suite program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// From the device registry.
    Registry(registry::Event),
    /// From staking.
    Staking(staking::Event),
    /// From rewards.
    Rewards(rewards::Event),
    /// From storage escrow.
    Storage(storage::Event),
    /// From energy settlement.
    Energy(energy::Event),
}

impl Event {
    /// `program.EventName`, e.g. `registry.DeviceOnboarded` (the future table names).
    pub fn kind(&self) -> String {
        match self {
            Event::Registry(e) => format!("registry.{}", e.name()),
            Event::Staking(e) => format!("staking.{}", e.name()),
            Event::Rewards(e) => format!("rewards.{}", e.name()),
            Event::Storage(e) => format!("storage.{}", e.name()),
            Event::Energy(e) => format!("energy.{}", e.name()),
        }
    }
}

/// The suite's program ids.
pub fn suite_programs() -> [Pubkey; 5] {
    [
        device_registry::ID,
        ::staking::ID,
        ::rewards::ID,
        storage_escrow::ID,
        energy_settlement::ID,
    ]
}

/// Whether `program` is one of the suite's programs.
pub fn is_suite_program(program: &Pubkey) -> bool {
    suite_programs().contains(program)
}

/// Decodes `discriminator || borsh(event)` emitted by `program`; `Ok(None)` if `program`
/// is not a suite program.
pub fn decode_event(program: &Pubkey, payload: &[u8]) -> Result<Option<Event>, EventError> {
    Ok(Some(match *program {
        p if p == device_registry::ID => Event::Registry(registry::Event::decode(payload)?),
        p if p == ::staking::ID => Event::Staking(staking::Event::decode(payload)?),
        p if p == ::rewards::ID => Event::Rewards(rewards::Event::decode(payload)?),
        p if p == storage_escrow::ID => Event::Storage(storage::Event::decode(payload)?),
        p if p == energy_settlement::ID => Event::Energy(energy::Event::decode(payload)?),
        _ => return Ok(None),
    }))
}
