//! The chain's SHA-256 behind the core crate's [`depin_core::merkle::Hasher`] trait: the
//! `sol_sha256` syscall on SBF, the `sha2` crate in native builds.

/// SHA-256 as the Solana runtime computes it.
pub struct SolanaSha256;

impl depin_core::merkle::Hasher for SolanaSha256 {
    fn hashv(parts: &[&[u8]]) -> [u8; 32] {
        solana_sha256_hasher::hashv(parts).to_bytes()
    }
}
