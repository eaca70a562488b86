//! The reward oracle's tools.
//!
//! An oracle turns its measurements into rows `(device, owner, cumulative_amount)` (the
//! `Device` account address, its owner, and everything the device has earned since genesis),
//! builds the tree, proposes its root and total on chain, and serves each device its proof.
//!
//! - [`RewardTree`]: the tree over the rows, sorted by device so every oracle that sees the
//!   same rows computes the same root, whatever order it read them in.
//! - [`parse_rows`]: rows from CSV (`device,owner,cumulative_amount`, base58 keys).
//! - [`RewardTree::write_store`] / [`RewardTree::read_store`]: the proof store, a compact
//!   binary file of the rows; reading it rebuilds the tree and checks it against the root
//!   written in the file, so a corrupted store is refused rather than served.
//! - [`verify_proof`]: what the program checks, off chain.
//!
//! Memory: rows take 72 bytes and the tree about 64 bytes per device (two levels' worth
//! of 32-byte hashes on average), so a million devices fit in about 140 MB.

use std::io::{BufRead, Read, Write};
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use depin_core::merkle::{self, Hasher, MerkleTree};
use sha2::{Digest, Sha256};

/// SHA-256 from the `sha2` crate: the same bytes the programs compute with the syscall.
pub struct Sha256Hasher;

impl Hasher for Sha256Hasher {
    fn hashv(parts: &[&[u8]]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }
}

/// Everything the oracle tools can refuse.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// Reading or writing a file failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A CSV line is malformed.
    #[error("line {line}: {reason}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Two rows name the same device.
    #[error("device {0} appears twice")]
    DuplicateDevice(Pubkey),
    /// No rows at all.
    #[error("no rows: a reward tree needs at least one device")]
    Empty,
    /// The cumulative amounts add up to more than `u64::MAX`.
    #[error("cumulative amounts overflow u64")]
    TotalOverflow,
    /// A proof store is not one this tool wrote, or it was altered.
    #[error("invalid proof store: {0}")]
    BadStore(String),
}

/// One device's entry in an epoch's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardRow {
    /// The registry `Device` account.
    pub device: Pubkey,
    /// Its owner (who the program pays).
    pub owner: Pubkey,
    /// Everything it has earned since genesis, in reward-mint base units.
    pub cumulative_amount: u64,
}

impl RewardRow {
    /// The row's leaf hash.
    pub fn leaf(&self) -> [u8; 32] {
        merkle::reward_leaf::<Sha256Hasher>(
            &self.device.to_bytes(),
            &self.owner.to_bytes(),
            self.cumulative_amount,
        )
    }
}

/// A device's proof, ready for the `claim` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardProof {
    /// The device's row.
    pub row: RewardRow,
    /// Sibling hashes from its leaf to the root.
    pub proof: Vec<[u8; 32]>,
}

/// Whether `proof` shows that `row` is in the tree with `root`.
pub fn verify_proof(root: &[u8; 32], row: &RewardRow, proof: &[[u8; 32]]) -> bool {
    merkle::verify::<Sha256Hasher>(proof, root, row.leaf())
}

/// An epoch's reward tree.
#[derive(Debug, Clone)]
pub struct RewardTree {
    rows: Vec<RewardRow>,
    tree: MerkleTree,
    total: u64,
}

const STORE_MAGIC: &[u8; 8] = b"DEPINRT1";
const ROW_BYTES: usize = 32 + 32 + 8;

impl RewardTree {
    /// Builds the tree; rows are sorted by device first. Refuses duplicates, an empty set
    /// and totals past `u64::MAX`.
    pub fn build(mut rows: Vec<RewardRow>) -> Result<Self, OracleError> {
        if rows.is_empty() {
            return Err(OracleError::Empty);
        }
        rows.sort_unstable_by_key(|row| row.device);
        let mut total: u64 = 0;
        for pair in rows.windows(2) {
            if pair[0].device == pair[1].device {
                return Err(OracleError::DuplicateDevice(pair[0].device));
            }
        }
        for row in &rows {
            total = total
                .checked_add(row.cumulative_amount)
                .ok_or(OracleError::TotalOverflow)?;
        }
        let leaves = rows.iter().map(RewardRow::leaf).collect();
        let tree = MerkleTree::new::<Sha256Hasher>(leaves).map_err(|_| OracleError::Empty)?;
        Ok(RewardTree { rows, tree, total })
    }

    /// The root to propose.
    pub fn root(&self) -> [u8; 32] {
        self.tree.root()
    }

    /// The cumulative total to propose (sum of all rows).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of devices.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Always false: an empty tree cannot be built.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Depth of the tree (length of the longest proof).
    pub fn depth(&self) -> usize {
        let mut depth = 0;
        let mut n = self.rows.len();
        while n > 1 {
            n = n.div_ceil(2);
            depth += 1;
        }
        depth
    }

    /// The rows, sorted by device.
    pub fn rows(&self) -> &[RewardRow] {
        &self.rows
    }

    /// The proof of `device`, `None` if it is not in the tree.
    pub fn proof(&self, device: &Pubkey) -> Option<RewardProof> {
        let index = self
            .rows
            .binary_search_by(|row| row.device.cmp(device))
            .ok()?;
        self.proof_at(index)
    }

    /// The proof of the row at `index` (in device order).
    pub fn proof_at(&self, index: usize) -> Option<RewardProof> {
        let row = *self.rows.get(index)?;
        let proof = self.tree.proof(index).ok()?;
        Some(RewardProof { row, proof })
    }

    /// Writes the proof store: magic, count, total, root, then the rows.
    pub fn write_store(&self, mut out: impl Write) -> Result<(), OracleError> {
        out.write_all(STORE_MAGIC)?;
        out.write_all(&(self.rows.len() as u64).to_le_bytes())?;
        out.write_all(&self.total.to_le_bytes())?;
        out.write_all(&self.root())?;
        for row in &self.rows {
            out.write_all(row.device.as_ref())?;
            out.write_all(row.owner.as_ref())?;
            out.write_all(&row.cumulative_amount.to_le_bytes())?;
        }
        out.flush()?;
        Ok(())
    }

    /// Reads a proof store, rebuilds the tree and checks it against the stored root and total.
    pub fn read_store(mut input: impl Read) -> Result<Self, OracleError> {
        let bad = |reason: &str| OracleError::BadStore(reason.to_string());
        let mut header = [0u8; 8 + 8 + 8 + 32];
        input
            .read_exact(&mut header)
            .map_err(|_| bad("shorter than its header"))?;
        if &header[..8] != STORE_MAGIC {
            return Err(bad("not a proof store (wrong magic)"));
        }
        let word = |range: std::ops::Range<usize>| {
            u64::from_le_bytes(header[range].try_into().expect("8-byte slice"))
        };
        let count = usize::try_from(word(8..16)).map_err(|_| bad("row count too large"))?;
        let total = word(16..24);
        let root: [u8; 32] = header[24..56].try_into().expect("32-byte slice");
        let mut rows = Vec::with_capacity(count.min(1 << 24));
        let mut record = [0u8; ROW_BYTES];
        for _ in 0..count {
            input
                .read_exact(&mut record)
                .map_err(|_| bad("fewer rows than its header says"))?;
            rows.push(RewardRow {
                device: Pubkey::new_from_array(record[..32].try_into().expect("32 bytes")),
                owner: Pubkey::new_from_array(record[32..64].try_into().expect("32 bytes")),
                cumulative_amount: u64::from_le_bytes(record[64..].try_into().expect("8 bytes")),
            });
        }
        if input.read(&mut [0u8; 1])? != 0 {
            return Err(bad("trailing bytes after the rows"));
        }
        let tree = RewardTree::build(rows)?;
        if tree.root() != root || tree.total() != total {
            return Err(bad("rows do not hash to the stored root and total"));
        }
        Ok(tree)
    }
}

/// Parses rows from CSV: `device,owner,cumulative_amount` per line, base58 keys, an optional
/// header line, blank lines and `#` comments ignored.
pub fn parse_rows(input: impl BufRead) -> Result<Vec<RewardRow>, OracleError> {
    let mut rows = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        let line = line?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let csv = |reason: String| OracleError::Csv {
            line: line_no,
            reason,
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 3 {
            return Err(csv(format!("expected 3 fields, found {}", fields.len())));
        }
        if line_no == 1 && fields[0].eq_ignore_ascii_case("device") {
            continue;
        }
        let key = |field: &str, name: &str| {
            Pubkey::from_str(field).map_err(|e| csv(format!("{name} {field:?}: {e}")))
        };
        rows.push(RewardRow {
            device: key(fields[0], "device")?,
            owner: key(fields[1], "owner")?,
            cumulative_amount: fields[2]
                .parse()
                .map_err(|e| csv(format!("cumulative_amount {:?}: {e}", fields[2])))?,
        });
    }
    Ok(rows)
}

/// Lowercase hex of a hash.
pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses 64 hex digits into a hash.
pub fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim().trim_start_matches("0x");
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rows(n: usize) -> Vec<RewardRow> {
        (0..n)
            .map(|i| RewardRow {
                device: Pubkey::new_unique(),
                owner: Pubkey::new_unique(),
                cumulative_amount: i as u64 * 1_000,
            })
            .collect()
    }

    #[test]
    fn root_does_not_depend_on_row_order() {
        let mut a = rows(100);
        let tree = RewardTree::build(a.clone()).unwrap();
        a.reverse();
        assert_eq!(RewardTree::build(a).unwrap().root(), tree.root());
        assert_eq!(tree.total(), (0..100u64).sum::<u64>() * 1_000);
        assert_eq!(tree.depth(), 7);
    }

    #[test]
    fn refuses_bad_row_sets() {
        assert!(matches!(RewardTree::build(vec![]), Err(OracleError::Empty)));
        let mut dup = rows(3);
        dup[2].device = dup[0].device;
        assert!(matches!(
            RewardTree::build(dup),
            Err(OracleError::DuplicateDevice(_))
        ));
        let mut big = rows(2);
        big[0].cumulative_amount = u64::MAX;
        big[1].cumulative_amount = 1;
        assert!(matches!(
            RewardTree::build(big),
            Err(OracleError::TotalOverflow)
        ));
    }

    #[test]
    fn store_round_trip_and_tamper_detection() {
        let tree = RewardTree::build(rows(257)).unwrap();
        let mut bytes = Vec::new();
        tree.write_store(&mut bytes).unwrap();
        let back = RewardTree::read_store(&bytes[..]).unwrap();
        assert_eq!(back.root(), tree.root());
        assert_eq!(back.rows(), tree.rows());

        let mut tampered = bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1; // an amount changes
        assert!(matches!(
            RewardTree::read_store(&tampered[..]),
            Err(OracleError::BadStore(_))
        ));
        assert!(matches!(
            RewardTree::read_store(&bytes[..40]),
            Err(OracleError::BadStore(_))
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            RewardTree::read_store(&longer[..]),
            Err(OracleError::BadStore(_))
        ));
        assert!(matches!(
            RewardTree::read_store(&b"garbage garbage garbage garbage garbage garbage garbage"[..]),
            Err(OracleError::BadStore(_))
        ));
    }

    #[test]
    fn csv_rows_and_errors() {
        let a = Pubkey::new_unique();
        let b = Pubkey::new_unique();
        let text = format!("device,owner,cumulative_amount\n# comment\n{a},{b},42\n\n");
        assert_eq!(
            parse_rows(text.as_bytes()).unwrap(),
            vec![RewardRow {
                device: a,
                owner: b,
                cumulative_amount: 42
            }]
        );
        let err = parse_rows(format!("{a},{b}\n").as_bytes()).unwrap_err();
        assert!(matches!(err, OracleError::Csv { line: 1, .. }), "{err}");
        let err = parse_rows(format!("{a},{b},1\n{a},nope,1\n").as_bytes()).unwrap_err();
        assert!(matches!(err, OracleError::Csv { line: 2, .. }), "{err}");
        let err = parse_rows(format!("{a},{b},-1\n").as_bytes()).unwrap_err();
        assert!(matches!(err, OracleError::Csv { line: 1, .. }), "{err}");
    }

    #[test]
    fn hex_round_trip() {
        let h = [0xab; 32];
        assert_eq!(parse_hex(&hex(&h)), Some(h));
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex(&"é".repeat(32)), None);
    }

    proptest! {
        #[test]
        fn every_device_proves_and_no_other_amount_does(n in 1usize..200, pick in any::<prop::sample::Index>(), delta in 1u64..1000) {
            let tree = RewardTree::build(rows(n)).unwrap();
            for row in tree.rows() {
                let p = tree.proof(&row.device).unwrap();
                prop_assert!(verify_proof(&tree.root(), &p.row, &p.proof));
            }
            let p = tree.proof_at(pick.index(n)).unwrap();
            let mut inflated = p.row;
            inflated.cumulative_amount += delta;
            prop_assert!(!verify_proof(&tree.root(), &inflated, &p.proof));
            let mut stolen = p.row;
            stolen.owner = Pubkey::new_unique();
            prop_assert!(!verify_proof(&tree.root(), &stolen, &p.proof));
        }
    }
}
