//! Merkle trees with domain-separated leaves and sorted pairs.
//!
//! - leaf: `H(0x00 || data)`; a reward leaf's data is `device || owner || cumulative (u64 le)`
//! - node: `H(0x01 || min(a, b) || max(a, b))`
//!
//! The prefixes keep a leaf from ever being taken for a node (second-preimage attacks);
//! sorting each pair means a proof is just the list of siblings, without left/right flags.
//! A level with an odd number of nodes promotes its last node unchanged, so that node's
//! proof simply has one sibling fewer.
//!
//! The hash function is the caller's ([`Hasher`]): programs use the chain's SHA-256 syscall,
//! off-chain code a library; both compute the same bytes.

/// SHA-256 over the concatenation of `parts`, as the caller's platform computes it.
pub trait Hasher {
    /// Hashes the concatenation of `parts`.
    fn hashv(parts: &[&[u8]]) -> [u8; 32];
}

/// Domain prefix of leaves.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain prefix of inner nodes.
pub const NODE_PREFIX: u8 = 0x01;

/// `H(0x00 || data)`.
pub fn leaf_hash<H: Hasher>(data: &[u8]) -> [u8; 32] {
    H::hashv(&[&[LEAF_PREFIX], data])
}

/// The leaf of a reward tree: `H(0x00 || device || owner || cumulative_amount le)`.
pub fn reward_leaf<H: Hasher>(
    device: &[u8; 32],
    owner: &[u8; 32],
    cumulative_amount: u64,
) -> [u8; 32] {
    H::hashv(&[
        &[LEAF_PREFIX],
        device,
        owner,
        &cumulative_amount.to_le_bytes(),
    ])
}

/// `H(0x01 || min(a, b) || max(a, b))`.
pub fn node_hash<H: Hasher>(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    H::hashv(&[&[NODE_PREFIX], lo, hi])
}

/// The root a proof leads to from `leaf`.
pub fn root_from_proof<H: Hasher>(proof: &[[u8; 32]], leaf: [u8; 32]) -> [u8; 32] {
    proof
        .iter()
        .fold(leaf, |node, sibling| node_hash::<H>(&node, sibling))
}

/// Whether `proof` leads from `leaf` to `root`.
pub fn verify<H: Hasher>(proof: &[[u8; 32]], root: &[u8; 32], leaf: [u8; 32]) -> bool {
    root_from_proof::<H>(proof, leaf) == *root
}

#[cfg(feature = "std")]
pub use tree::MerkleTree;

#[cfg(feature = "std")]
mod tree {
    use super::{node_hash, Hasher};
    use crate::error::CoreError;

    /// A whole tree, every level in one flat vector (about `2n` hashes): the oracle builds
    /// trees of millions of leaves, so no per-node allocation.
    #[derive(Debug, Clone)]
    pub struct MerkleTree {
        /// All levels, leaves first, root last.
        nodes: Vec<[u8; 32]>,
        /// `(start, len)` of each level in `nodes`.
        levels: Vec<(usize, usize)>,
    }

    impl MerkleTree {
        /// Builds the tree over `leaves` (already hashed). `EmptyTree` for no leaves.
        pub fn new<H: Hasher>(leaves: Vec<[u8; 32]>) -> Result<Self, CoreError> {
            if leaves.is_empty() {
                return Err(CoreError::EmptyTree);
            }
            let n = leaves.len();
            let mut nodes = leaves;
            nodes.reserve(n);
            let mut levels = vec![(0usize, n)];
            let (mut start, mut len) = (0usize, n);
            while len > 1 {
                let next_start = start.checked_add(len).ok_or(CoreError::MathOverflow)?;
                let mut i = start;
                let end = next_start;
                while i < end {
                    let right = i.checked_add(1).ok_or(CoreError::MathOverflow)?;
                    let parent = if right < end {
                        node_hash::<H>(&nodes[i], &nodes[right])
                    } else {
                        nodes[i]
                    };
                    nodes.push(parent);
                    i = right.checked_add(1).ok_or(CoreError::MathOverflow)?;
                }
                start = next_start;
                len = len.div_ceil(2);
                levels.push((start, len));
            }
            Ok(MerkleTree { nodes, levels })
        }

        /// Number of leaves.
        pub fn len(&self) -> usize {
            self.levels[0].1
        }

        /// Always false: an empty tree cannot be built.
        pub fn is_empty(&self) -> bool {
            false
        }

        /// The root.
        pub fn root(&self) -> [u8; 32] {
            // `new` refuses an empty tree, so the last node (the root) always exists.
            self.nodes.last().copied().unwrap_or_default()
        }

        /// The leaf at `index`.
        pub fn leaf(&self, index: usize) -> Result<[u8; 32], CoreError> {
            self.nodes
                .get(index)
                .filter(|_| index < self.len())
                .copied()
                .ok_or(CoreError::IndexOutOfRange)
        }

        /// Sibling hashes from leaf `index` up to the root.
        pub fn proof(&self, index: usize) -> Result<Vec<[u8; 32]>, CoreError> {
            if index >= self.len() {
                return Err(CoreError::IndexOutOfRange);
            }
            let mut proof = Vec::with_capacity(self.levels.len());
            let mut i = index;
            let below_root = self.levels.len().saturating_sub(1);
            for &(start, len) in self.levels.iter().take(below_root) {
                let sibling = i ^ 1;
                if sibling < len {
                    let node = start
                        .checked_add(sibling)
                        .and_then(|k| self.nodes.get(k))
                        .ok_or(CoreError::IndexOutOfRange)?;
                    proof.push(*node);
                }
                i >>= 1;
            }
            Ok(proof)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;
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

    fn hex(bytes: &[u8; 32]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn fixed_vectors() {
        // sha256 of the single byte 0x00 || "abc"
        assert_eq!(
            hex(&leaf_hash::<Sha>(b"abc")),
            hex(&Sha::hashv(&[&[0u8], b"abc"]))
        );
        let a = reward_leaf::<Sha>(&[1; 32], &[2; 32], 5);
        let b = reward_leaf::<Sha>(&[3; 32], &[4; 32], 7);
        // the leaf is the hash of exactly 0x00 || device || owner || amount le
        let mut bytes = vec![0u8];
        bytes.extend([1u8; 32]);
        bytes.extend([2u8; 32]);
        bytes.extend(5u64.to_le_bytes());
        assert_eq!(a, Sha::hashv(&[&bytes]));
        // fixed vectors, computed independently with Python's hashlib
        assert_eq!(
            hex(&a),
            "3a4448ca4db88a01917052854ea85379628e4f85daa429ea5e4ec6e9092dc9cf"
        );
        assert_eq!(
            hex(&b),
            "fb2a5c4ee5263d8019749df62a2da2c1595bf6f5a25a7a4ddb37feee0e9062c5"
        );
        assert_eq!(
            hex(&node_hash::<Sha>(&a, &b)),
            "f9415cc960f418ee3a561d16e85ac62915b4277fc552a3864795c868488fa366"
        );
        // pairs are sorted: the order of the children does not matter
        assert_eq!(node_hash::<Sha>(&a, &b), node_hash::<Sha>(&b, &a));
        let tree = MerkleTree::new::<Sha>(vec![a, b]).unwrap();
        assert_eq!(tree.root(), node_hash::<Sha>(&a, &b));
        assert_eq!(tree.proof(0).unwrap(), vec![b]);
        // a leaf is never a node: the prefixes differ
        assert_ne!(leaf_hash::<Sha>(&[a, b].concat()), tree.root());
        assert_eq!(
            MerkleTree::new::<Sha>(vec![]).unwrap_err(),
            CoreError::EmptyTree
        );
        assert_eq!(tree.proof(2).unwrap_err(), CoreError::IndexOutOfRange);
    }

    #[test]
    fn odd_levels_promote_the_last_node() {
        let leaves: Vec<[u8; 32]> = (0u8..3).map(|i| leaf_hash::<Sha>(&[i])).collect();
        let tree = MerkleTree::new::<Sha>(leaves.clone()).unwrap();
        let left = node_hash::<Sha>(&leaves[0], &leaves[1]);
        assert_eq!(tree.root(), node_hash::<Sha>(&left, &leaves[2]));
        assert_eq!(tree.proof(2).unwrap(), vec![left]);
    }

    proptest! {
        #[test]
        fn every_proof_verifies_and_every_bit_matters(n in 1usize..=70, pick in any::<prop::sample::Index>(), bit in 0usize..256) {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| reward_leaf::<Sha>(&[i as u8; 32], &[7; 32], i as u64)).collect();
            let tree = MerkleTree::new::<Sha>(leaves.clone()).unwrap();
            let root = tree.root();
            for (i, leaf) in leaves.iter().enumerate() {
                prop_assert!(verify::<Sha>(&tree.proof(i).unwrap(), &root, *leaf));
            }
            let i = pick.index(n);
            let proof = tree.proof(i).unwrap();
            let flip = |mut h: [u8; 32]| { h[bit / 8] ^= 1 << (bit % 8); h };
            prop_assert!(!verify::<Sha>(&proof, &root, flip(leaves[i])));
            prop_assert!(!verify::<Sha>(&proof, &flip(root), leaves[i]));
            for k in 0..proof.len() {
                let mut bad = proof.clone();
                bad[k] = flip(bad[k]);
                prop_assert!(!verify::<Sha>(&bad, &root, leaves[i]));
            }
        }
    }
}
