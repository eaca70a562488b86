//! Proof-of-storage math: piece commitments, challenge derivation, period arithmetic and
//! the money splits of storage deals.
//!
//! ## Piece commitment
//!
//! A piece is cut into chunks of `chunk_size` bytes (a multiple of 32; the last chunk is
//! padded with zero bytes), each chunk into 32-byte words. Each chunk has a word tree with
//! leaves `H(0x00 || word_index u32 le || word)`; the chunk's leaf in the piece tree is
//! `H(0x02 || chunk_index u64 le || chunk_root)`. Both trees use the sorted-pair nodes of
//! [`crate::merkle`]. Indexes are inside the leaves, so a proof for one position cannot be
//! answered with data from another, and the distinct prefix keeps chunk leaves apart from
//! word leaves and inner nodes.
//!
//! A deal names the piece by its root and its shape ([`PieceShape`]: chunk count and
//! size), and challenges are drawn over the deal's chunk count. The root does not say how
//! many chunks the data has, so a count larger than the data's names chunks nobody can
//! prove, and a provider must check the whole shape against its data before accepting,
//! not only the root (`depin_sdk::storage::StorageProver::for_terms`). A piece has at
//! most [`MAX_CHUNKS`] chunks, so every chunk proof fits 32 siblings.
//!
//! A challenge names a chunk and a word in it. The answer is the 32 raw bytes of that word
//! with two short proofs (word to chunk root, chunk leaf to piece root): small enough for a
//! transaction, yet only someone who holds the data can produce the word, since the word
//! itself is raw data and not a hash.
//!
//! ## Challenges
//!
//! `h = H(seed || deal || period u64 le || i u8)`; the chunk is `u64(h[0..8]) mod
//! num_chunks` and the word `u32(h[8..12]) mod words_per_chunk` (the modulo bias is below
//! 2^-32 for any realistic piece). The seed is a slot hash unknown when the challenge opens.
//!
//! ## Deal terms
//!
//! A provider's acceptance names the exact terms it accepts by their hash
//! ([`DealTerms::hash`]), which the chain recomputes from the stored deal: a signature made
//! for one set of terms can never be replayed onto another, even at the same address.
//!
//! ## Money
//!
//! Each proven period pays `price - fee` to the provider and `fee = floor(price * bps /
//! 10000)` to the treasury. A faulted period refunds `price` to the client and slashes
//! `floor(collateral_left * fault_slash_bps / 10000)` to the client.

use crate::error::CoreError;
use crate::merkle::{root_from_proof, Hasher, LEAF_PREFIX};

/// Bytes per word, the unit a challenge asks for.
pub const WORD: usize = 32;
/// Domain prefix of chunk leaves in the piece tree.
pub const CHUNK_LEAF_PREFIX: u8 = 0x02;
/// Most chunks a piece may have: a chunk proof of a larger tree would need more than 32
/// siblings, which no program accepts.
pub const MAX_CHUNKS: u64 = 1 << 32;

/// How a piece is cut: its number of chunks and their size, as deal terms name them. Valid
/// only through [`PieceShape::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceShape {
    num_chunks: u64,
    chunk_size: u32,
    words_per_chunk: u32,
}

impl PieceShape {
    /// `num_chunks` chunks of `chunk_size` bytes: `InvalidChunkCount` unless the count is
    /// in `1..=MAX_CHUNKS`, `InvalidChunkSize` unless the size is valid
    /// ([`words_per_chunk`]).
    pub fn new(num_chunks: u64, chunk_size: u32) -> Result<Self, CoreError> {
        if num_chunks == 0 || num_chunks > MAX_CHUNKS {
            return Err(CoreError::InvalidChunkCount);
        }
        Ok(PieceShape {
            num_chunks,
            chunk_size,
            words_per_chunk: words_per_chunk(chunk_size)?,
        })
    }

    /// Number of chunks.
    pub fn num_chunks(&self) -> u64 {
        self.num_chunks
    }

    /// Chunk size in bytes.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Words per chunk.
    pub fn words_per_chunk(&self) -> u32 {
        self.words_per_chunk
    }
}

/// Leaf of word `index` of a chunk.
pub fn word_leaf<H: Hasher>(index: u32, word: &[u8; WORD]) -> [u8; 32] {
    H::hashv(&[&[LEAF_PREFIX], &index.to_le_bytes(), word])
}

/// Leaf of chunk `index` in the piece tree.
pub fn chunk_leaf<H: Hasher>(index: u64, chunk_root: &[u8; 32]) -> [u8; 32] {
    H::hashv(&[&[CHUNK_LEAF_PREFIX], &index.to_le_bytes(), chunk_root])
}

/// Words per chunk, `InvalidChunkSize` unless `chunk_size` is a positive multiple of 32
/// holding at most 2^16 words.
pub fn words_per_chunk(chunk_size: u32) -> Result<u32, CoreError> {
    let words = chunk_size
        .checked_div(WORD as u32)
        .ok_or(CoreError::InvalidChunkSize)?;
    if words == 0 || !chunk_size.is_multiple_of(WORD as u32) || words > 1 << 16 {
        return Err(CoreError::InvalidChunkSize);
    }
    Ok(words)
}

/// One challenged position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge {
    /// Chunk index.
    pub chunk: u64,
    /// Word index inside the chunk.
    pub word: u32,
}

/// The `i`-th challenge of `period` of `deal` under `seed`.
pub fn challenge<H: Hasher>(
    seed: &[u8; 32],
    deal: &[u8; 32],
    period: u64,
    i: u8,
    num_chunks: u64,
    words_per_chunk: u32,
) -> Result<Challenge, CoreError> {
    if num_chunks == 0 || words_per_chunk == 0 {
        return Err(CoreError::InvalidChunkSize);
    }
    let h = H::hashv(&[seed, deal, &period.to_le_bytes(), &[i]]);
    let mut chunk = [0u8; 8];
    chunk.copy_from_slice(&h[..8]);
    let mut word = [0u8; 4];
    word.copy_from_slice(&h[8..12]);
    Ok(Challenge {
        chunk: u64::from_le_bytes(chunk)
            .checked_rem(num_chunks)
            .ok_or(CoreError::InvalidChunkSize)?,
        word: u32::from_le_bytes(word)
            .checked_rem(words_per_chunk)
            .ok_or(CoreError::InvalidChunkSize)?,
    })
}

/// Whether `word` at `at` is in the piece with `piece_root`, by its word proof (to the
/// chunk root) and chunk proof (to the piece root).
pub fn verify_word<H: Hasher>(
    piece_root: &[u8; 32],
    at: Challenge,
    word: &[u8; WORD],
    word_proof: &[[u8; 32]],
    chunk_proof: &[[u8; 32]],
) -> bool {
    let chunk_root = root_from_proof::<H>(word_proof, word_leaf::<H>(at.word, word));
    root_from_proof::<H>(chunk_proof, chunk_leaf::<H>(at.chunk, &chunk_root)) == *piece_root
}

/// Domain of the deal-terms hash.
pub const DEAL_TERMS_DOMAIN: &[u8; 19] = b"depin-deal-terms-v1";

/// Everything a provider agrees to when it accepts a deal. Chain-specific identities are
/// 32 bytes: on Solana the market, deal, client and device account addresses; on ink! the
/// contract, the deal key, the client account and the device id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealTerms {
    /// The storage market.
    pub market: [u8; 32],
    /// The deal's identity (its address, used once).
    pub deal: [u8; 32],
    /// The paying client.
    pub client: [u8; 32],
    /// The provider's registry device.
    pub provider_device: [u8; 32],
    /// Root of the piece commitment.
    pub piece_root: [u8; 32],
    /// Chunk size in bytes.
    pub chunk_size: u32,
    /// Chunks in the piece.
    pub num_chunks: u64,
    /// Paid per proven period.
    pub price_per_period: u64,
    /// Periods in the deal.
    pub periods: u8,
    /// Collateral the provider posts.
    pub collateral: u64,
}

impl DealTerms {
    /// `H("depin-deal-terms-v1" || market || deal || client || provider_device || piece_root
    /// || chunk_size u32 le || num_chunks u64 le || price_per_period u64 le || periods u8 ||
    /// collateral u64 le)`: fixed-width fields, so no two different terms share an encoding.
    pub fn hash<H: Hasher>(&self) -> [u8; 32] {
        H::hashv(&[
            DEAL_TERMS_DOMAIN,
            &self.market,
            &self.deal,
            &self.client,
            &self.provider_device,
            &self.piece_root,
            &self.chunk_size.to_le_bytes(),
            &self.num_chunks.to_le_bytes(),
            &self.price_per_period.to_le_bytes(),
            &[self.periods],
            &self.collateral.to_le_bytes(),
        ])
    }
}

/// Period `now` falls in for a deal started at `start_ts` with periods of `period_secs`;
/// `None` before the start or for a zero period.
pub fn period_at(start_ts: i64, period_secs: u64, now: i64) -> Option<u64> {
    crate::epoch::epoch_at(start_ts, period_secs, now)
}

/// Unix time at which period `period` ends.
pub fn period_end(start_ts: i64, period_secs: u64, period: u64) -> Result<i64, CoreError> {
    crate::epoch::epoch_end(start_ts, period_secs, period)
}

/// How a proven period's price is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodPayment {
    /// To the provider.
    pub provider: u64,
    /// To the treasury.
    pub protocol_fee: u64,
}

/// Splits a period's price between provider and treasury (fee rounded down).
pub fn period_payment(price: u64, protocol_fee_bps: u16) -> Result<PeriodPayment, CoreError> {
    let protocol_fee = crate::fees::bps_of(price, protocol_fee_bps)?;
    Ok(PeriodPayment {
        provider: price
            .checked_sub(protocol_fee)
            .ok_or(CoreError::MathOverflow)?,
        protocol_fee,
    })
}

/// Collateral slashed to the client for one fault (rounded down).
pub fn fault_slash(collateral_left: u64, fault_slash_bps: u16) -> Result<u64, CoreError> {
    crate::fees::bps_of(collateral_left, fault_slash_bps)
}

/// How many faulted periods in a row, in period order, hold `period`: the length of the
/// run of `true` in `faulted` (one flag per period of the deal, in period order) that
/// contains index `period`, or 0 when that period is not faulted (or not in `faulted`).
///
/// A deal's faults count in a row by their periods, not by when they were reported:
/// reports are permissionless and may come late or out of order, so a count kept in report
/// order would let a reporter join two faults around a proven period (terminating an
/// honest provider) or let a proof of a later period split a real run.
pub fn fault_run(faulted: impl IntoIterator<Item = bool>, period: usize) -> usize {
    let mut run = 0usize;
    let mut holds_period = false;
    for (i, is_faulted) in faulted.into_iter().enumerate() {
        if is_faulted {
            run = run.saturating_add(1);
            holds_period |= i == period;
        } else if holds_period {
            break;
        } else {
            run = 0;
        }
    }
    if holds_period {
        run
    } else {
        0
    }
}

#[cfg(feature = "std")]
pub use piece::{PieceBuilder, PieceCommitment, WordAnswer};

#[cfg(feature = "std")]
mod piece {
    use super::{chunk_leaf, word_leaf, words_per_chunk, Challenge, PieceShape, WORD};
    use crate::error::CoreError;
    use crate::merkle::{Hasher, MerkleTree};

    /// The commitment to a piece: its chunk roots and the piece tree over them. Building it
    /// hashes every word once; answering a challenge re-hashes only the challenged chunk,
    /// so the prover keeps 32 bytes per chunk (1/128 of the data for 4 KiB chunks) next to
    /// the data itself.
    #[derive(Debug, Clone)]
    pub struct PieceCommitment {
        shape: PieceShape,
        tree: MerkleTree,
    }

    /// What answers one challenge.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct WordAnswer {
        /// The challenged 32 bytes.
        pub word: [u8; WORD],
        /// Siblings from the word leaf to the chunk root.
        pub word_proof: Vec<[u8; 32]>,
        /// Siblings from the chunk leaf to the piece root.
        pub chunk_proof: Vec<[u8; 32]>,
    }

    /// Builds a [`PieceCommitment`] one chunk at a time, so a file never has to be in
    /// memory whole: only each chunk's 32-byte leaf is kept.
    #[derive(Debug, Clone)]
    pub struct PieceBuilder {
        chunk_size: u32,
        leaves: Vec<[u8; 32]>,
    }

    impl PieceBuilder {
        /// A builder for chunks of `chunk_size` bytes.
        pub fn new(chunk_size: u32) -> Result<Self, CoreError> {
            words_per_chunk(chunk_size)?;
            Ok(PieceBuilder {
                chunk_size,
                leaves: Vec::new(),
            })
        }

        /// Adds the next chunk (only the last may be shorter than `chunk_size`).
        pub fn push<H: Hasher>(&mut self, chunk: &[u8]) -> Result<(), CoreError> {
            let (tree, _) = chunk_tree::<H>(chunk, self.chunk_size)?;
            let index = self.leaves.len() as u64;
            self.leaves.push(chunk_leaf::<H>(index, &tree.root()));
            Ok(())
        }

        /// The commitment; `EmptyTree` if no chunk was pushed, `InvalidChunkCount` past
        /// [`MAX_CHUNKS`].
        pub fn finish<H: Hasher>(self) -> Result<PieceCommitment, CoreError> {
            if self.leaves.is_empty() {
                return Err(CoreError::EmptyTree);
            }
            // the count before the tree: a piece past MAX_CHUNKS builds nothing
            let shape = PieceShape::new(self.leaves.len() as u64, self.chunk_size)?;
            Ok(PieceCommitment {
                shape,
                tree: MerkleTree::new::<H>(self.leaves)?,
            })
        }
    }

    /// The words of a chunk, zero-padded to `chunk_size`.
    fn words(chunk: &[u8], chunk_size: u32) -> Result<Vec<[u8; WORD]>, CoreError> {
        let n = usize::try_from(words_per_chunk(chunk_size)?)
            .map_err(|_| CoreError::InvalidChunkSize)?;
        if n.checked_mul(WORD).is_none_or(|max| chunk.len() > max) {
            return Err(CoreError::InvalidChunkSize);
        }
        let mut out = vec![[0u8; WORD]; n];
        for (word, bytes) in out.iter_mut().zip(chunk.chunks(WORD)) {
            word[..bytes.len()].copy_from_slice(bytes);
        }
        Ok(out)
    }

    /// The word tree of one chunk, and its words.
    pub(crate) fn chunk_tree<H: Hasher>(
        chunk: &[u8],
        chunk_size: u32,
    ) -> Result<(MerkleTree, Vec<[u8; WORD]>), CoreError> {
        let words = words(chunk, chunk_size)?;
        let leaves = words
            .iter()
            .enumerate()
            .map(|(i, w)| word_leaf::<H>(i as u32, w))
            .collect();
        Ok((MerkleTree::new::<H>(leaves)?, words))
    }

    impl PieceCommitment {
        /// Commits to `chunks` (every chunk `chunk_size` bytes but the last, which may be
        /// shorter). `EmptyTree` for no chunks.
        pub fn from_chunks<'a, H: Hasher>(
            chunks: impl IntoIterator<Item = &'a [u8]>,
            chunk_size: u32,
        ) -> Result<Self, CoreError> {
            let mut builder = PieceBuilder::new(chunk_size)?;
            for chunk in chunks {
                builder.push::<H>(chunk)?;
            }
            builder.finish::<H>()
        }

        /// Commits to a whole piece held in memory.
        pub fn from_bytes<H: Hasher>(data: &[u8], chunk_size: u32) -> Result<Self, CoreError> {
            words_per_chunk(chunk_size)?;
            Self::from_chunks::<H>(data.chunks(chunk_size as usize), chunk_size)
        }

        /// The piece root the deal commits to.
        pub fn root(&self) -> [u8; 32] {
            self.tree.root()
        }

        /// The piece's shape.
        pub fn shape(&self) -> PieceShape {
            self.shape
        }

        /// Number of chunks.
        pub fn num_chunks(&self) -> u64 {
            self.shape.num_chunks
        }

        /// Chunk size in bytes.
        pub fn chunk_size(&self) -> u32 {
            self.shape.chunk_size
        }

        /// The answer to `at` given the challenged chunk's bytes.
        pub fn answer<H: Hasher>(
            &self,
            at: Challenge,
            chunk: &[u8],
        ) -> Result<WordAnswer, CoreError> {
            let (tree, words) = chunk_tree::<H>(chunk, self.shape.chunk_size)?;
            let word_index = usize::try_from(at.word).map_err(|_| CoreError::IndexOutOfRange)?;
            let word = *words.get(word_index).ok_or(CoreError::IndexOutOfRange)?;
            let chunk_index = usize::try_from(at.chunk).map_err(|_| CoreError::IndexOutOfRange)?;
            Ok(WordAnswer {
                word,
                word_proof: tree.proof(word_index)?,
                chunk_proof: self.tree.proof(chunk_index)?,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    struct Sha;
    impl Hasher for Sha {
        fn hashv(parts: &[&[u8]]) -> [u8; 32] {
            let mut h = Sha256::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().into()
        }
    }

    fn terms() -> DealTerms {
        DealTerms {
            market: [1; 32],
            deal: [2; 32],
            client: [3; 32],
            provider_device: [4; 32],
            piece_root: [5; 32],
            chunk_size: 4096,
            num_chunks: 256,
            price_per_period: 1_000,
            periods: 4,
            collateral: 5_000,
        }
    }

    #[test]
    fn terms_hash_is_the_documented_encoding() {
        let t = terms();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"depin-deal-terms-v1");
        for part in [t.market, t.deal, t.client, t.provider_device, t.piece_root] {
            bytes.extend_from_slice(&part);
        }
        bytes.extend_from_slice(&4096u32.to_le_bytes());
        bytes.extend_from_slice(&256u64.to_le_bytes());
        bytes.extend_from_slice(&1_000u64.to_le_bytes());
        bytes.push(4);
        bytes.extend_from_slice(&5_000u64.to_le_bytes());
        assert_eq!(t.hash::<Sha>(), <[u8; 32]>::from(Sha256::digest(&bytes)));
    }

    #[test]
    fn every_term_changes_the_hash() {
        let base = terms().hash::<Sha>();
        let variants: [fn(&mut DealTerms); 10] = [
            |t| t.market[0] ^= 1,
            |t| t.deal[31] ^= 1,
            |t| t.client[5] ^= 1,
            |t| t.provider_device[9] ^= 1,
            |t| t.piece_root[0] ^= 1,
            |t| t.chunk_size = 8192,
            |t| t.num_chunks = 255,
            |t| t.price_per_period = 1,
            |t| t.periods = 32,
            |t| t.collateral = u64::MAX,
        ];
        for change in variants {
            let mut t = terms();
            change(&mut t);
            assert_ne!(t.hash::<Sha>(), base);
        }
    }

    fn data(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn a_piece_has_one_to_two_to_the_32_chunks() {
        assert_eq!(PieceShape::new(0, 4096), Err(CoreError::InvalidChunkCount));
        assert_eq!(
            PieceShape::new(MAX_CHUNKS + 1, 4096),
            Err(CoreError::InvalidChunkCount)
        );
        assert_eq!(
            PieceShape::new(u64::MAX, 4096),
            Err(CoreError::InvalidChunkCount)
        );
        assert_eq!(PieceShape::new(1, 100), Err(CoreError::InvalidChunkSize));
        let most = PieceShape::new(MAX_CHUNKS, 32).unwrap();
        assert_eq!(
            (most.num_chunks(), most.chunk_size(), most.words_per_chunk()),
            (MAX_CHUNKS, 32, 1)
        );
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(words_per_chunk(4096), Ok(128));
        assert_eq!(words_per_chunk(0), Err(CoreError::InvalidChunkSize));
        assert_eq!(words_per_chunk(100), Err(CoreError::InvalidChunkSize));
        assert_eq!(words_per_chunk(32 << 17), Err(CoreError::InvalidChunkSize));
    }

    #[test]
    fn answers_verify_and_wrong_answers_do_not() {
        let bytes = data(10 * 4096 + 100, 7); // 11 chunks, the last one short
        let piece = PieceCommitment::from_bytes::<Sha>(&bytes, 4096).unwrap();
        assert_eq!(piece.num_chunks(), 11);
        let root = piece.root();
        assert_eq!(piece.shape(), PieceShape::new(11, 4096).unwrap());
        for (chunk, word) in [(0u64, 0u32), (3, 127), (10, 3), (10, 100)] {
            let at = Challenge { chunk, word };
            let chunk_bytes = bytes.chunks(4096).nth(chunk as usize).unwrap();
            let WordAnswer {
                word: w,
                word_proof: wp,
                chunk_proof: cp,
            } = piece.answer::<Sha>(at, chunk_bytes).unwrap();
            assert!(verify_word::<Sha>(&root, at, &w, &wp, &cp));
            // the same data claimed for another position fails
            assert!(!verify_word::<Sha>(
                &root,
                Challenge {
                    chunk,
                    word: (word + 1) % 128
                },
                &w,
                &wp,
                &cp
            ));
            assert!(!verify_word::<Sha>(
                &root,
                Challenge {
                    chunk: (chunk + 1) % 11,
                    word
                },
                &w,
                &wp,
                &cp
            ));
            let mut flipped = w;
            flipped[5] ^= 1;
            assert!(!verify_word::<Sha>(&root, at, &flipped, &wp, &cp));
        }
        // zero padding of the short last chunk is part of the commitment
        let last = piece
            .answer::<Sha>(
                Challenge {
                    chunk: 10,
                    word: 100,
                },
                &bytes[40960..],
            )
            .unwrap();
        assert_eq!(last.word, [0u8; 32]);
    }

    #[test]
    fn challenges_depend_on_every_input() {
        let base = challenge::<Sha>(&[1; 32], &[2; 32], 3, 0, 1_000_000, 128).unwrap();
        assert_ne!(
            base,
            challenge::<Sha>(&[9; 32], &[2; 32], 3, 0, 1_000_000, 128).unwrap()
        );
        assert_ne!(
            base,
            challenge::<Sha>(&[1; 32], &[2; 32], 4, 0, 1_000_000, 128).unwrap()
        );
        assert_ne!(
            base,
            challenge::<Sha>(&[1; 32], &[2; 32], 3, 1, 1_000_000, 128).unwrap()
        );
        assert!(base.chunk < 1_000_000 && base.word < 128);
        assert_eq!(
            challenge::<Sha>(&[1; 32], &[2; 32], 3, 0, 0, 128),
            Err(CoreError::InvalidChunkSize)
        );
    }

    #[test]
    fn money() {
        assert_eq!(
            period_payment(1_000, 250),
            Ok(PeriodPayment {
                provider: 975,
                protocol_fee: 25
            })
        );
        assert_eq!(fault_slash(999, 1_000), Ok(99));
        assert_eq!(period_end(100, 10, 2), Ok(130));
        assert_eq!(period_at(100, 10, 129), Some(2));
    }

    #[test]
    fn faults_count_in_a_row_by_period_not_by_report() {
        let f = |flags: &str| flags.chars().map(|c| c == 'F').collect::<Vec<_>>();
        // faults around a proven period are two runs of one
        assert_eq!(fault_run(f("FPF"), 0), 1);
        assert_eq!(fault_run(f("FPF"), 2), 1);
        // a later proof does not split an earlier run
        assert_eq!(fault_run(f("PFFP"), 2), 2);
        assert_eq!(fault_run(f("PFFP"), 1), 2);
        // a fault between two runs joins them
        assert_eq!(fault_run(f("FF.FF"), 1), 2);
        assert_eq!(fault_run(f("FFFFF"), 2), 5);
        // a period not faulted, or not in the deal
        assert_eq!(fault_run(f("FPF"), 1), 0);
        assert_eq!(fault_run(f("FF"), 2), 0);
        assert_eq!(fault_run(f(""), 0), 0);
        assert_eq!(fault_run(f(&"F".repeat(32)), 31), 32);
    }

    proptest! {
        #[test]
        fn a_fault_run_is_the_faulted_neighbours_in_period_order(flags in proptest::collection::vec(any::<bool>(), 0..40), period in 0usize..45) {
            let run = fault_run(flags.iter().copied(), period);
            if flags.get(period) != Some(&true) {
                prop_assert_eq!(run, 0);
            } else {
                let before = flags[..period].iter().rev().take_while(|&&f| f).count();
                let after = flags[period + 1..].iter().take_while(|&&f| f).count();
                prop_assert_eq!(run, before + 1 + after);
            }
        }

        #[test]
        fn any_challenge_of_any_piece_is_answerable(len in 1usize..20_000, seed: u8, s in any::<[u8; 32]>(), period: u64, i: u8) {
            let bytes = data(len, seed);
            let piece = PieceCommitment::from_bytes::<Sha>(&bytes, 1024).unwrap();
            let at = challenge::<Sha>(&s, &[4; 32], period, i, piece.num_chunks(), 32).unwrap();
            let chunk = bytes.chunks(1024).nth(at.chunk as usize).unwrap();
            let a = piece.answer::<Sha>(at, chunk).unwrap();
            prop_assert!(verify_word::<Sha>(&piece.root(), at, &a.word, &a.word_proof, &a.chunk_proof));
        }

        #[test]
        fn period_payment_conserves(price: u64, bps in 0u16..=10_000) {
            let p = period_payment(price, bps).unwrap();
            prop_assert_eq!(u128::from(p.provider) + u128::from(p.protocol_fee), u128::from(price));
        }
    }
}
