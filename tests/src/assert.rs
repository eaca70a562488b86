//! Assertions on transaction outcomes.

pub use solana_instruction_error::InstructionError;
use solana_transaction_error::TransactionError;

use crate::runtime::SendError;

/// The custom error code a failed transaction carries, if it failed with one.
pub fn custom_code(result: &Result<(), SendError>) -> Option<u32> {
    match result {
        Err(SendError::Transaction(TransactionError::InstructionError(
            _,
            InstructionError::Custom(code),
        ))) => Some(*code),
        _ => None,
    }
}

/// Asserts that `result` failed with the program error `expected` (an Anchor error enum
/// variant, or any code convertible to `u32`).
#[track_caller]
pub fn assert_error<E: Into<u32> + std::fmt::Debug + Copy>(
    result: Result<(), SendError>,
    expected: E,
) {
    let code: u32 = expected.into();
    match custom_code(&result) {
        Some(got) if got == code => {}
        _ => panic!("expected {expected:?} (code {code}), got {result:?}"),
    }
}

/// Asserts that `result` failed with exactly the given instruction error (for errors raised
/// by the runtime or another program, e.g. a missing signature).
#[track_caller]
pub fn assert_instruction_error(result: Result<(), SendError>, expected: InstructionError) {
    match &result {
        Err(SendError::Transaction(TransactionError::InstructionError(_, got)))
            if *got == expected => {}
        _ => panic!("expected {expected:?}, got {result:?}"),
    }
}
