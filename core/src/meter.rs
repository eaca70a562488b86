//! The bytes a meter signs for a reading, shared by every chain's verifier and by the
//! meter-side signer.
//!
//! `"depin-meter-v1" || network || device || interval || produced_wh || consumed_wh ||
//! counter`, integers little-endian. `network` and `device` are the chain's 32-byte
//! identifiers of where the reading is sold and of the registered device: on Solana the
//! network's account (a network has one energy market, at its PDA) and the device's; on
//! ink! chains the market contract (a registry can have several markets, and a reading
//! sold in one must not be paid by another) and the device id. The counter is the meter's
//! monotonic replay counter: a verifier accepts a reading only if its counter is above
//! every counter it accepted before from that meter.

/// Domain prefix of meter readings.
pub const READING_DOMAIN: &[u8; 14] = b"depin-meter-v1";

/// Length of a reading message in bytes.
pub const READING_MESSAGE_LEN: usize = 14 + 32 + 32 + 8 * 4;

/// The message a meter signs for one interval's reading.
pub fn reading_message(
    network: &[u8; 32],
    device: &[u8; 32],
    interval: u64,
    produced_wh: u64,
    consumed_wh: u64,
    counter: u64,
) -> [u8; READING_MESSAGE_LEN] {
    let mut message = [0u8; READING_MESSAGE_LEN];
    let parts: [&[u8]; 7] = [
        READING_DOMAIN,
        network,
        device,
        &interval.to_le_bytes(),
        &produced_wh.to_le_bytes(),
        &consumed_wh.to_le_bytes(),
        &counter.to_le_bytes(),
    ];
    let mut rest = &mut message[..];
    for part in parts {
        // The parts add up to READING_MESSAGE_LEN exactly, so every split fits.
        let (head, tail) = rest.split_at_mut(part.len().min(rest.len()));
        head.copy_from_slice(part.get(..head.len()).unwrap_or_default());
        rest = tail;
    }
    message
}

/// Whether a reading with `counter` may follow `last_counter`, the highest counter accepted
/// so far (0 for a meter that never reported, so the first counter must be at least 1):
/// counters strictly increase, so a replayed or older reading is refused.
pub fn counter_is_fresh(last_counter: u64, counter: u64) -> bool {
    counter > last_counter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let m = reading_message(&[1; 32], &[2; 32], 3, 4, 5, 6);
        assert_eq!(&m[..14], b"depin-meter-v1");
        assert_eq!(&m[14..46], &[1; 32]);
        assert_eq!(&m[46..78], &[2; 32]);
        assert_eq!(&m[78..86], &3u64.to_le_bytes());
        assert_eq!(&m[86..94], &4u64.to_le_bytes());
        assert_eq!(&m[94..102], &5u64.to_le_bytes());
        assert_eq!(&m[102..110], &6u64.to_le_bytes());
    }

    #[test]
    fn counters_strictly_increase() {
        assert!(!counter_is_fresh(0, 0));
        assert!(counter_is_fresh(0, 1));
        assert!(counter_is_fresh(4, 5));
        assert!(!counter_is_fresh(5, 5));
        assert!(!counter_is_fresh(6, 5));
    }
}
