//! Names of the programs' error codes.
//!
//! A failed instruction reports only a number (`InstructionError::Custom(code)`). Anchor
//! numbers a program's own `#[error_code]` enum from 6000 in declaration order, and its
//! framework errors ([`anchor_lang::error::ErrorCode`]: a failed constraint, an account that
//! does not deserialize, ...) from 100 to 5999 in every Anchor program. [`decode_custom`]
//! turns a suite program's code back into the variant's name and message.
//!
//! The tables are built from the enums themselves: each one lists the variants by
//! identifier, next to a `match` without a wildcard arm, so a variant a program adds (or
//! renames) fails to compile here until it is listed; names, codes and messages come from
//! what `#[error_code]` generates (`name()`, `From<_> for u32`, `Display`). Tests check
//! that the codes run 6000, 6001, ... without a gap and match the IDLs in `idl/`.

use std::fmt;

use anchor_lang::error::ErrorCode as AnchorErrorCode;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::error::InstructionError;
use device_registry::error::RegistryError;
use energy_settlement::error::EnergyError;
use rewards::error::RewardsError;
use staking::error::StakingError;
use storage_escrow::error::StorageError;

/// A decoded error code of one of the suite's programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramErrorInfo {
    /// The program that returned it, as its crate is named (`"device_registry"`).
    pub program: &'static str,
    /// The variant's name (`"MakerNotApproved"`; for an Anchor framework error, the
    /// variant of [`anchor_lang::error::ErrorCode`], e.g. `"ConstraintSeeds"`).
    pub name: String,
    /// The code itself.
    pub code: u32,
    /// The variant's message (its `#[msg]`).
    pub message: String,
}

impl fmt::Display for ProgramErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}::{} ({}): {}",
            self.program, self.name, self.code, self.message
        )
    }
}

/// What `#[error_code]` generates for an enum, behind one trait so that one function decodes
/// them all; `VARIANTS` is every variant (see `error_enum!`).
trait ErrorEnum: Copy + Into<u32> + fmt::Display + 'static {
    /// Every variant, in declaration order.
    const VARIANTS: &'static [Self];
    /// The generated `name()`.
    fn variant_name(&self) -> String;
}

/// Implements [`ErrorEnum`] for an `#[error_code]` enum from the list of its variants. The
/// `match` without a wildcard arm makes the compiler refuse a list that misses a variant;
/// a variant listed that does not exist does not compile either.
macro_rules! error_enum {
    ($ty:ident { $($variant:ident),+ $(,)? }) => {
        impl ErrorEnum for $ty {
            const VARIANTS: &'static [Self] = &[$($ty::$variant),+];
            fn variant_name(&self) -> String {
                self.name()
            }
        }
        const _: fn($ty) = |e| match e {
            $($ty::$variant => ()),+
        };
    };
}

error_enum!(RegistryError {
    NetworkPaused,
    NotNetworkAuthority,
    NotPendingAuthority,
    InvalidMakerName,
    MakerNotApproved,
    MakerQuotaExceeded,
    NotMakerAuthority,
    InvalidLocation,
    NotDeviceOwner,
    DeviceDecommissioned,
    DeviceNotActive,
    InvalidStatusTransition,
    StatusChangeUnauthorized,
    WrongFeeMint,
    InvalidNewOwner,
    InvalidAuthority,
    MathOverflow,
    DeviceAlreadyOnboarded,
    NetworkIdTaken,
    MakerAlreadyRegistered,
    DeviceKeyIsMakerKey,
    DeviceKeyIsOwner,
    NotNetworkAuditor,
    MissingEvidence,
});

error_enum!(StakingError {
    NetworkPaused,
    NotNetworkAuthority,
    NotSlashAuthority,
    NotDeviceOwner,
    DeviceNotActive,
    WrongNetwork,
    StakeBelowMinimum,
    InsufficientStake,
    ZeroAmount,
    CooldownNotElapsed,
    NothingToWithdraw,
    SlashExceedsStake,
    NotBondParty,
    TreasuryMismatch,
    WrongStakeMint,
    MathOverflow,
    DeviceAlreadyBonded,
    PoolAlreadyExists,
    PositionAddressTaken,
    InvalidCooldown,
    PositionMismatch,
    InvalidSlashAuthority,
});

error_enum!(RewardsError {
    NetworkPaused,
    NotNetworkAuthority,
    InvalidSchedule,
    InvalidEpochDuration,
    InvalidOracleSet,
    InvalidQuorum,
    NotOracle,
    EpochNotOver,
    EpochAlreadyFinalized,
    StaleEpoch,
    ExceedsEmissionSchedule,
    DecreasingTotal,
    EpochNotFinalized,
    InvalidProof,
    ProofTooLong,
    DeviceNotActive,
    WrongNetwork,
    DeviceNotBonded,
    BondStakerNotOwner,
    WrongRecipient,
    MintCapExceeded,
    RewardMintMismatch,
    RewardsAlreadyInitialized,
    UnexpectedAccount,
    MathOverflow,
    UnderCollateralized,
    SupersededRoot,
    InvalidGenesis,
    ClaimedAlreadyOpen,
});

error_enum!(EnergyError {
    NetworkPaused,
    NotNetworkAuthority,
    NotEnergyNetwork,
    InvalidMarketParams,
    MarketAlreadyExists,
    TreasuryMismatch,
    WrongNetwork,
    NotDeviceOwner,
    DeviceNotActive,
    GateClosed,
    GateNotClosed,
    PriceOutOfBounds,
    ZeroVolume,
    BookFull,
    NoSuchOrder,
    NotOrderOwner,
    OrderNotOpen,
    AlreadyCleared,
    NotCleared,
    IntervalNotOver,
    ReadingWindowOpen,
    AsksNotSettled,
    WrongRecipient,
    MissingSignature,
    MalformedSignature,
    WrongSigner,
    MessageMismatch,
    StaleCounter,
    ReadingAlreadySubmitted,
    WrongReading,
    UnexpectedAccount,
    MathOverflow,
    DuplicateOrder,
    IntervalNotSettled,
    TooManyPlacements,
    TooManyOpenIntervals,
    OrderTooLarge,
    AskAboveCapacity,
});

error_enum!(StorageError {
    NetworkPaused,
    NotNetworkAuthority,
    NotStorageNetwork,
    InvalidMarketParams,
    MarketAlreadyExists,
    TreasuryMismatch,
    InvalidDealTerms,
    DealAlreadyExists,
    NotStorageDevice,
    DeviceNotActive,
    NotDeviceOwner,
    DealNotProposed,
    DealNotActive,
    WrongPeriod,
    ChallengeAlreadyOpen,
    ChallengeNotOpen,
    SeedNotYetKnown,
    SeedUnavailable,
    ProofWindowClosed,
    PeriodAlreadyProven,
    PeriodFaulted,
    NoSuchChallenge,
    DuplicateResponse,
    InvalidProof,
    ProofTooLong,
    FaultNotReportable,
    DealNotFinished,
    WrongRecipient,
    MathOverflow,
    DealIdNotNext,
    TermsMismatch,
});

error_enum!(AnchorErrorCode {
    InstructionMissing,
    InstructionFallbackNotFound,
    InstructionDidNotDeserialize,
    InstructionDidNotSerialize,
    IdlInstructionStub,
    IdlInstructionInvalidProgram,
    IdlAccountNotEmpty,
    EventInstructionStub,
    ConstraintMut,
    ConstraintHasOne,
    ConstraintSigner,
    ConstraintRaw,
    ConstraintOwner,
    ConstraintRentExempt,
    ConstraintSeeds,
    ConstraintExecutable,
    ConstraintState,
    ConstraintAssociated,
    ConstraintAssociatedInit,
    ConstraintClose,
    ConstraintAddress,
    ConstraintZero,
    ConstraintTokenMint,
    ConstraintTokenOwner,
    ConstraintMintMintAuthority,
    ConstraintMintFreezeAuthority,
    ConstraintMintDecimals,
    ConstraintSpace,
    ConstraintAccountIsNone,
    ConstraintTokenTokenProgram,
    ConstraintMintTokenProgram,
    ConstraintAssociatedTokenTokenProgram,
    ConstraintMintGroupPointerExtension,
    ConstraintMintGroupPointerExtensionAuthority,
    ConstraintMintGroupPointerExtensionGroupAddress,
    ConstraintMintGroupMemberPointerExtension,
    ConstraintMintGroupMemberPointerExtensionAuthority,
    ConstraintMintGroupMemberPointerExtensionMemberAddress,
    ConstraintMintMetadataPointerExtension,
    ConstraintMintMetadataPointerExtensionAuthority,
    ConstraintMintMetadataPointerExtensionMetadataAddress,
    ConstraintMintCloseAuthorityExtension,
    ConstraintMintCloseAuthorityExtensionAuthority,
    ConstraintMintPermanentDelegateExtension,
    ConstraintMintPermanentDelegateExtensionDelegate,
    ConstraintMintTransferHookExtension,
    ConstraintMintTransferHookExtensionAuthority,
    ConstraintMintTransferHookExtensionProgramId,
    ConstraintDuplicateMutableAccount,
    AccountAlreadyMigrated,
    AccountNotMigrated,
    ConstraintMintPausableExtension,
    ConstraintMintPausableAuthority,
    RequireViolated,
    RequireEqViolated,
    RequireKeysEqViolated,
    RequireNeqViolated,
    RequireKeysNeqViolated,
    RequireGtViolated,
    RequireGteViolated,
    AccountDiscriminatorAlreadySet,
    AccountDiscriminatorNotFound,
    AccountDiscriminatorMismatch,
    AccountDidNotDeserialize,
    AccountDidNotSerialize,
    AccountNotEnoughKeys,
    AccountNotMutable,
    AccountOwnedByWrongProgram,
    InvalidProgramId,
    InvalidProgramExecutable,
    AccountNotSigner,
    AccountNotSystemOwned,
    AccountNotInitialized,
    AccountNotProgramData,
    AccountNotAssociatedTokenAccount,
    AccountSysvarMismatch,
    AccountReallocExceedsLimit,
    AccountDuplicateReallocs,
    DeclaredProgramIdMismatch,
    TryingToInitPayerAsProgramAccount,
    InvalidNumericConversion,
    Deprecated,
});

/// The variant of `E` whose code is `code`, as `(name, message)`.
fn find<E: ErrorEnum>(code: u32) -> Option<(String, String)> {
    E::VARIANTS
        .iter()
        .find(|v| (**v).into() == code)
        .map(|v| (v.variant_name(), v.to_string()))
}

/// One suite program: its id, its name and the decoder of its own error enum.
struct Program {
    id: Pubkey,
    name: &'static str,
    decode: fn(u32) -> Option<(String, String)>,
}

/// The five programs.
const PROGRAMS: [Program; 5] = [
    Program {
        id: crate::REGISTRY_PROGRAM_ID,
        name: "device_registry",
        decode: find::<RegistryError>,
    },
    Program {
        id: crate::STAKING_PROGRAM_ID,
        name: "staking",
        decode: find::<StakingError>,
    },
    Program {
        id: crate::REWARDS_PROGRAM_ID,
        name: "rewards",
        decode: find::<RewardsError>,
    },
    Program {
        id: crate::ENERGY_PROGRAM_ID,
        name: "energy_settlement",
        decode: find::<EnergyError>,
    },
    Program {
        id: crate::STORAGE_PROGRAM_ID,
        name: "storage_escrow",
        decode: find::<StorageError>,
    },
];

/// The name and meaning of custom error `code` returned by the suite program `program_id`:
/// one of its own errors (6000 and up) or one of Anchor's framework errors (100 to 5999,
/// e.g. 2006 `ConstraintSeeds`, 3012 `AccountNotInitialized`; `program` is then still the
/// suite program that returned it).
///
/// `None` for another program, and for a code neither table has, such as a token program
/// error a CPI passed through (those are below 100).
pub fn decode_custom(program_id: &Pubkey, code: u32) -> Option<ProgramErrorInfo> {
    let program = PROGRAMS.iter().find(|p| p.id == *program_id)?;
    let (name, message) = if code >= anchor_lang::error::ERROR_CODE_OFFSET {
        (program.decode)(code)?
    } else {
        find::<AnchorErrorCode>(code)?
    };
    Some(ProgramErrorInfo {
        program: program.name,
        name,
        code,
        message,
    })
}

/// [`decode_custom`] for the error an instruction of `program_id` failed with: only
/// `InstructionError::Custom(code)` carries a program's own code, so any other error gives
/// `None`.
pub fn decode_instruction_error(
    program_id: &Pubkey,
    err: &InstructionError,
) -> Option<ProgramErrorInfo> {
    match err {
        InstructionError::Custom(code) => decode_custom(program_id, *code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant of `E` decodes, under `program_id`, to its own name, code and message,
    /// and the codes run from `first` without a gap (so the list is in declaration order
    /// and has no duplicate).
    fn round_trips<E: ErrorEnum>(program_id: &Pubkey, program: &str) -> usize {
        for (i, variant) in E::VARIANTS.iter().enumerate() {
            let code: u32 = (*variant).into();
            assert_eq!(
                code,
                6000 + u32::try_from(i).unwrap(),
                "{}",
                variant.variant_name()
            );
            let info = decode_custom(program_id, code).unwrap();
            assert_eq!(info.program, program);
            assert_eq!(info.name, variant.variant_name());
            assert_eq!(info.code, code);
            assert_eq!(info.message, variant.to_string());
        }
        E::VARIANTS.len()
    }

    #[test]
    fn every_variant_of_every_program_round_trips() {
        assert_eq!(
            round_trips::<RegistryError>(&crate::REGISTRY_PROGRAM_ID, "device_registry"),
            24
        );
        assert_eq!(
            round_trips::<StakingError>(&crate::STAKING_PROGRAM_ID, "staking"),
            22
        );
        assert_eq!(
            round_trips::<RewardsError>(&crate::REWARDS_PROGRAM_ID, "rewards"),
            29
        );
        assert_eq!(
            round_trips::<EnergyError>(&crate::ENERGY_PROGRAM_ID, "energy_settlement"),
            38
        );
        assert_eq!(
            round_trips::<StorageError>(&crate::STORAGE_PROGRAM_ID, "storage_escrow"),
            31
        );
    }

    #[test]
    fn a_known_code_decodes_with_its_name_and_message() {
        let info = decode_custom(&crate::REGISTRY_PROGRAM_ID, 6004).unwrap();
        assert_eq!(info.name, RegistryError::MakerNotApproved.name());
        assert_eq!(
            info.to_string(),
            "device_registry::MakerNotApproved (6004): Maker is not approved"
        );
        // the same number means something else in another program
        let info = decode_custom(&crate::STAKING_PROGRAM_ID, 6004).unwrap();
        assert_eq!(info.name, "DeviceNotActive");
    }

    #[test]
    fn unknown_codes_decode_to_none() {
        for id in PROGRAMS.iter().map(|p| p.id) {
            for code in [0, 1, 99, 5999, u32::MAX, 7000] {
                assert_eq!(decode_custom(&id, code), None, "{code}");
            }
        }
        // one past the last variant of each program
        assert_eq!(decode_custom(&crate::REGISTRY_PROGRAM_ID, 6000 + 24), None);
        assert_eq!(decode_custom(&crate::STAKING_PROGRAM_ID, 6022), None);
        assert_eq!(decode_custom(&crate::REWARDS_PROGRAM_ID, 6029), None);
        assert_eq!(decode_custom(&crate::ENERGY_PROGRAM_ID, 6038), None);
        assert_eq!(decode_custom(&crate::STORAGE_PROGRAM_ID, 6031), None);
        // a gap between framework ranges
        assert_eq!(decode_custom(&crate::REWARDS_PROGRAM_ID, 104), None);
    }

    #[test]
    fn another_program_decodes_to_none() {
        let other = Pubkey::new_unique();
        assert_eq!(decode_custom(&other, 6000), None);
        assert_eq!(decode_custom(&other, 2006), None);
        assert_eq!(
            decode_custom(&crate::compute::COMPUTE_BUDGET_ID, 6000),
            None
        );
    }

    #[test]
    fn framework_codes_decode_under_every_program() {
        let info = decode_custom(&crate::REWARDS_PROGRAM_ID, 2006).unwrap();
        assert_eq!(info.program, "rewards");
        assert_eq!(info.name, "ConstraintSeeds");
        assert_eq!(info.message, "A seeds constraint was violated");
        assert_eq!(
            info.to_string(),
            "rewards::ConstraintSeeds (2006): A seeds constraint was violated"
        );
        let info = decode_custom(&crate::STORAGE_PROGRAM_ID, 3012).unwrap();
        assert_eq!(info.name, AnchorErrorCode::AccountNotInitialized.name());
        for program in &PROGRAMS {
            for variant in AnchorErrorCode::VARIANTS {
                let code: u32 = (*variant).into();
                assert!((100..6000).contains(&code), "{code}");
                let info = decode_custom(&program.id, code).unwrap();
                assert_eq!(info.program, program.name);
                assert_eq!(info.name, variant.name());
                assert_eq!(info.message, variant.to_string());
            }
        }
        // codes are distinct
        let mut codes: Vec<u32> = AnchorErrorCode::VARIANTS
            .iter()
            .map(|v| (*v).into())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), AnchorErrorCode::VARIANTS.len());
    }

    #[test]
    fn only_custom_instruction_errors_decode() {
        let id = crate::ENERGY_PROGRAM_ID;
        let info = decode_instruction_error(&id, &InstructionError::Custom(6013)).unwrap();
        assert_eq!(info.name, EnergyError::BookFull.name());
        assert_eq!(info.program, "energy_settlement");
        assert_eq!(
            decode_instruction_error(&id, &InstructionError::Custom(1)),
            None
        );
        assert_eq!(
            decode_instruction_error(&id, &InstructionError::InvalidAccountData),
            None
        );
        assert_eq!(
            decode_instruction_error(&id, &InstructionError::ComputationalBudgetExceeded),
            None
        );
        assert_eq!(
            decode_instruction_error(&Pubkey::new_unique(), &InstructionError::Custom(6013)),
            None
        );
    }

    /// `(code, name, msg)` of every entry of an IDL's `"errors"` array (the IDLs are written
    /// by `anchor build` with one field per line).
    fn idl_errors(idl: &str) -> Vec<(u32, String, String)> {
        fn string_after<'a>(s: &'a str, key: &str) -> Option<(&'a str, &'a str)> {
            let start = s.find(key)? + key.len();
            let rest = s.get(start..)?.trim_start().strip_prefix('"')?;
            let end = rest.find('"')?;
            Some((rest.get(..end)?, rest.get(end + 1..)?))
        }
        let Some(start) = idl.find("\"errors\": [") else {
            return vec![];
        };
        let mut rest = &idl[start..];
        let mut out = Vec::new();
        while let Some(at) = rest.find("\"code\":") {
            let after = &rest[at + 7..];
            let digits: String = after
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let (name, after) = string_after(after, "\"name\":").unwrap();
            let (msg, after) = string_after(after, "\"msg\":").unwrap();
            out.push((digits.parse().unwrap(), name.to_string(), msg.to_string()));
            rest = after;
        }
        out
    }

    #[test]
    fn the_tables_match_the_idls() {
        for (program_id, idl, count) in [
            (
                crate::REGISTRY_PROGRAM_ID,
                include_str!("../../idl/device_registry.json"),
                24,
            ),
            (
                crate::STAKING_PROGRAM_ID,
                include_str!("../../idl/staking.json"),
                22,
            ),
            (
                crate::REWARDS_PROGRAM_ID,
                include_str!("../../idl/rewards.json"),
                29,
            ),
            (
                crate::ENERGY_PROGRAM_ID,
                include_str!("../../idl/energy_settlement.json"),
                38,
            ),
            (
                crate::STORAGE_PROGRAM_ID,
                include_str!("../../idl/storage_escrow.json"),
                31,
            ),
        ] {
            let errors = idl_errors(idl);
            assert_eq!(errors.len(), count);
            for (code, name, msg) in errors {
                let info = decode_custom(&program_id, code).unwrap();
                assert_eq!((info.name, info.message), (name, msg), "{code}");
            }
        }
    }
}
