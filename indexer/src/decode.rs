//! Finding and decoding the events of one transaction.
//!
//! Input is what a Geyser transaction update (or `getTransaction`) carries: the account
//! keys, the top-level instructions, the inner instructions grouped by top-level index, and
//! the log messages.

use anchor_lang::event::EVENT_IX_TAG_LE;
use anchor_lang::prelude::Pubkey;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;

use crate::events::{decode_event, is_suite_program, Event, EventError};

/// An instruction as a transaction stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledInstruction {
    /// Index of the invoked program in the account keys.
    pub program_id_index: u8,
    /// Instruction data.
    pub data: Vec<u8>,
}

/// The inner instructions one top-level instruction caused, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerInstructions {
    /// Index of the top-level instruction.
    pub index: u8,
    /// Its inner instructions.
    pub instructions: Vec<CompiledInstruction>,
}

/// One transaction, as much of it as decoding needs.
#[derive(Debug, Clone, Default)]
pub struct TransactionView {
    /// Account keys (static keys, then loaded addresses).
    pub account_keys: Vec<Pubkey>,
    /// Inner instructions by top-level index.
    pub inner_instructions: Vec<InnerInstructions>,
    /// Log messages, as bytes: the stream's frames hold them, and the lines that matter are
    /// ASCII.
    pub log_messages: Vec<Bytes>,
}

/// Where an event was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// An `emit_cpi!` self-invocation.
    InnerInstruction,
    /// An `emit!` `Program data:` log line.
    Log,
}

/// A decoded event with its place in the transaction. `(instruction_index, event_index)`
/// is unique within a transaction, so with the signature it keys a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Top-level instruction that produced the event.
    pub instruction_index: u16,
    /// Position among that instruction's events (inner-instruction events first, then log
    /// events, each in order).
    pub event_index: u16,
    /// The emitting program.
    pub program: Pubkey,
    /// Where it was found.
    pub source: EventSource,
    /// The event.
    pub event: Event,
}

/// Something that looked like a suite event but did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// Top-level instruction it belongs to (if known).
    pub instruction_index: Option<u16>,
    /// The emitting program (if known).
    pub program: Option<Pubkey>,
    /// Why it failed.
    pub reason: String,
}

/// Everything decoding one transaction found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedTransaction {
    /// The events, in transaction order.
    pub events: Vec<EventRecord>,
    /// What could not be decoded.
    pub failures: Vec<DecodeFailure>,
}

/// Decodes `view` when the transaction's shape could be read; a broken shape (the reason
/// in `Err`) becomes one failure without an instruction, so the transaction is recorded
/// rather than dropped.
pub fn decode_or_record(view: Result<TransactionView, String>) -> DecodedTransaction {
    match view {
        Ok(view) => decode_transaction(&view),
        Err(reason) => DecodedTransaction {
            events: Vec::new(),
            failures: vec![DecodeFailure {
                instruction_index: None,
                program: None,
                reason,
            }],
        },
    }
}

/// Decodes every suite event of `tx`.
pub fn decode_transaction(tx: &TransactionView) -> DecodedTransaction {
    let mut out = DecodedTransaction::default();
    let mut next_event: std::collections::BTreeMap<u16, u16> = std::collections::BTreeMap::new();
    let mut push = |out: &mut DecodedTransaction,
                    index: u16,
                    program: Pubkey,
                    source: EventSource,
                    result: Result<Option<Event>, EventError>| {
        match result {
            Ok(Some(event)) => {
                let slot = next_event.entry(index).or_insert(0);
                out.events.push(EventRecord {
                    instruction_index: index,
                    event_index: *slot,
                    program,
                    source,
                    event,
                });
                *slot = slot.saturating_add(1);
            }
            Ok(None) => {}
            Err(e) => out.failures.push(DecodeFailure {
                instruction_index: Some(index),
                program: Some(program),
                reason: e.to_string(),
            }),
        }
    };

    for group in &tx.inner_instructions {
        let index = u16::from(group.index);
        for ix in &group.instructions {
            let Some(program) = tx.account_keys.get(usize::from(ix.program_id_index)) else {
                out.failures.push(DecodeFailure {
                    instruction_index: Some(index),
                    program: None,
                    reason: format!(
                        "program index {} outside the account keys",
                        ix.program_id_index
                    ),
                });
                continue;
            };
            if !is_suite_program(program) {
                continue;
            }
            // A suite program invoking itself with the event tag is an event; any other
            // inner instruction of a suite program is an ordinary CPI.
            if let Some(payload) = ix.data.strip_prefix(EVENT_IX_TAG_LE) {
                push(
                    &mut out,
                    index,
                    *program,
                    EventSource::InnerInstruction,
                    decode_event(program, payload),
                );
            }
        }
    }

    for (index, program, payload) in log_events(&tx.log_messages, &mut out.failures) {
        push(
            &mut out,
            index,
            program,
            EventSource::Log,
            decode_event(&program, &payload),
        );
    }
    out.events
        .sort_by_key(|e| (e.instruction_index, e.event_index));
    out
}

/// `Program data:` lines attributed to the program on top of the invocation stack, with
/// the top-level instruction index (counted from depth-1 invocations).
///
/// Lines are read as bytes: the runtime writes them in ASCII, and this runs for every log
/// line of every streamed transaction.
fn log_events(logs: &[Bytes], failures: &mut Vec<DecodeFailure>) -> Vec<(u16, Pubkey, Vec<u8>)> {
    // the invocation stack: `Some` for a suite program, `None` for any other
    let mut stack: Vec<Option<Pubkey>> = Vec::new();
    let mut top_level: Option<u16> = None;
    let mut found = Vec::new();
    for line in logs {
        let Some(rest) = line.strip_prefix(b"Program ") else {
            continue;
        };
        if let Some(data) = rest.strip_prefix(b"data: ") {
            let Some(Some(program)) = stack.last().copied() else {
                continue;
            };
            let index = top_level.unwrap_or(0);
            // emit! logs one base64 segment; more segments would be sol_log_data fields
            let mut payload = Vec::new();
            let decoded = data
                .split(|b| *b == b' ')
                .try_for_each(|segment| STANDARD.decode_vec(segment, &mut payload));
            match decoded {
                Ok(()) => found.push((index, program, payload)),
                Err(e) => failures.push(DecodeFailure {
                    instruction_index: Some(index),
                    program: Some(program),
                    reason: format!("bad base64 in log: {e}"),
                }),
            }
            continue;
        }
        let mut words = rest.split(|b| *b == b' ');
        let (Some(id), Some(verb)) = (words.next(), words.next()) else {
            continue;
        };
        match verb {
            b"invoke" => {
                let Some(program) = invoked_program(id) else {
                    continue;
                };
                if stack.is_empty() {
                    top_level = Some(top_level.map_or(0, |i| i.saturating_add(1)));
                }
                stack.push(program);
            }
            b"success" | b"failed:" if invoked_program(id).is_some() => {
                stack.pop();
            }
            _ => {}
        }
    }
    found
}

/// The program a log line names: `Some(Some(id))` for a suite program (matched on its
/// base58 text), `Some(None)` for any other address, `None` when `id` is not an address's
/// text (the `log:` of a `Program log:` line, `return:`, `consumption:`).
///
/// An address's text is 32 to 44 base58 digits; the runtime writes nothing else in that
/// place, so the text is not decoded (a decode per line was a fifth of decoding's time).
fn invoked_program(id: &[u8]) -> Option<Option<Pubkey>> {
    static SUITE: std::sync::OnceLock<Vec<(String, Pubkey)>> = std::sync::OnceLock::new();
    let suite = SUITE.get_or_init(|| {
        crate::events::suite_programs()
            .into_iter()
            .map(|p| (p.to_string(), p))
            .collect()
    });
    if let Some((_, program)) = suite.iter().find(|(text, _)| text.as_bytes() == id) {
        return Some(Some(*program));
    }
    ((32..=44).contains(&id.len()) && id.iter().all(|b| BASE58_DIGITS[usize::from(*b)]))
        .then_some(None)
}

/// Which bytes are digits of Bitcoin's base58 alphabet (no `0`, `O`, `I`, `l`).
static BASE58_DIGITS: [bool; 256] = {
    let alphabet = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits = [false; 256];
    let mut i = 0;
    while i < alphabet.len() {
        digits[alphabet[i] as usize] = true;
        i += 1;
    }
    digits
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_digits_are_the_alphabet_addresses_are_written_in() {
        // every digit of a key's text is one; 58 of them (bs58's own alphabet)
        let mut seen = [false; 256];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2048 {
            let mut bytes = [0u8; 32];
            for b in &mut bytes {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *b = (state >> 56) as u8;
            }
            for b in Pubkey::new_from_array(bytes).to_string().bytes() {
                assert!(BASE58_DIGITS[usize::from(b)], "{b}");
                seen[usize::from(b)] = true;
            }
        }
        assert_eq!(seen, BASE58_DIGITS);
        assert_eq!(BASE58_DIGITS.iter().filter(|d| **d).count(), 58);
    }

    #[test]
    fn invoked_programs_are_told_from_other_words() {
        let suite = crate::events::suite_programs()[2];
        assert_eq!(
            invoked_program(suite.to_string().as_bytes()),
            Some(Some(suite))
        );
        // any other address: the shortest (32 zero bytes) and a typical one
        let system = Pubkey::default().to_string();
        assert_eq!(system.len(), 32);
        assert_eq!(invoked_program(system.as_bytes()), Some(None));
        let other = Pubkey::new_from_array([0xa7; 32]).to_string();
        assert_eq!(invoked_program(other.as_bytes()), Some(None));
        // not an address: the words of other `Program` lines, a non-base58 digit, lengths
        for word in ["log:", "data:", "return:", "consumption:", ""] {
            assert_eq!(invoked_program(word.as_bytes()), None, "{word}");
        }
        let mut zero = other.clone().into_bytes();
        zero[5] = b'0';
        assert_eq!(invoked_program(&zero), None);
        assert_eq!(invoked_program(&system.as_bytes()[..31]), None);
        assert_eq!(invoked_program("2".repeat(45).as_bytes()), None);
    }

    #[test]
    fn log_lines_keep_their_meaning() {
        let registry = crate::events::suite_programs()[0];
        let other = Pubkey::new_from_array([3; 32]);
        let logs = [
            // a program's message that reads like an invocation does not open one
            "Program log: invoke [2]".to_owned(),
            format!("Program {registry} invoke [1]"),
            "Program log: Instruction: Transfer".to_owned(),
            format!("Program {other} invoke [2]"),
            format!("Program {other} consumed 10 of 20 compute units"),
            format!("Program {other} failed: custom program error: 0x1"),
            // two segments are one payload; a bad one is a failure, not a payload
            "Program data: AQI= Aw==".to_owned(),
            "Program data: AQI= A$==".to_owned(),
            format!("Program return: {registry} AQ=="),
            format!("Program {registry} success"),
            // outside any suite invocation: nobody's event
            "Program data: AQI=".to_owned(),
            format!("Program {registry} invoke [1]"),
            "Program data: BQ==".to_owned(),
        ];
        let mut failures = Vec::new();
        let found = log_events(&logs.map(Bytes::from), &mut failures);
        assert_eq!(
            found,
            vec![(0, registry, vec![1, 2, 3]), (1, registry, vec![5])]
        );
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].instruction_index, Some(0));
        assert!(failures[0].reason.contains("base64"), "{failures:?}");
    }
}
