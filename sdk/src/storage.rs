//! Storage deals: instruction builders, the provider's prover and the client's helper.
//!
//! The provider keeps the file and a [`StorageProver`] (32 bytes per chunk); when a
//! challenge opens it reads the SlotHashes sysvar, derives the challenged positions and
//! answers each from the file, one `submit_proof` instruction per challenge (two answers
//! rarely fit one transaction).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use depin_core::storage::{challenge, words_per_chunk, Challenge, PieceBuilder, PieceCommitment};
use storage_escrow::accounts as acc;
use storage_escrow::instruction as ix;

pub use storage_escrow::instructions::{
    AcceptDealArgs, ChallengeResponse, InitializeMarketArgs, ProposeDealArgs, SubmitProofArgs,
};
pub use storage_escrow::slot_hashes::{
    first_hash_after, since_challenge, SeedError, SinceChallenge, SLOT_HASHES_ID,
};

use crate::error::SdkError;
use crate::oracle::Sha256Hasher;
use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: storage_escrow::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

fn event_authority() -> Pubkey {
    pda::event_authority(&storage_escrow::ID).0
}

/// The market's payment token.
#[derive(Debug, Clone, Copy)]
pub struct PaymentToken {
    /// The payment mint.
    pub mint: Pubkey,
    /// SPL Token or Token-2022.
    pub token_program: Pubkey,
}

/// `initialize_market` (network authority of a Storage network).
pub fn initialize_market(
    payer: &Pubkey,
    authority: &Pubkey,
    network: &Pubkey,
    token: &PaymentToken,
    network_treasury: &Pubkey,
    treasury: &Pubkey,
    args: InitializeMarketArgs,
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::InitializeMarket {
            payer: *payer,
            authority: *authority,
            network: *network,
            market,
            payment_mint: token.mint,
            vault: pda::storage_vault(&market).0,
            network_treasury: *network_treasury,
            treasury: *treasury,
            token_program: token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::InitializeMarket { args },
    )
}

/// `propose_deal`: `client` escrows the whole price from `client_token_account`.
pub fn propose_deal(
    client: &Pubkey,
    network: &Pubkey,
    provider_device: &Pubkey,
    token: &PaymentToken,
    client_token_account: &Pubkey,
    args: ProposeDealArgs,
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::ProposeDeal {
            client: *client,
            network: *network,
            market,
            provider_device: *provider_device,
            deal_counter: pda::deal_counter(client).0,
            deal: pda::deal(client, args.deal_id).0,
            payment_mint: token.mint,
            client_token_account: *client_token_account,
            vault: pda::storage_vault(&market).0,
            token_program: token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::ProposeDeal { args },
    )
}

/// `cancel_deal` (the client, before acceptance).
pub fn cancel_deal(
    client: &Pubkey,
    network: &Pubkey,
    deal_id: u64,
    token: &PaymentToken,
    client_token_account: &Pubkey,
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::CancelDeal {
            client: *client,
            market,
            deal: pda::deal(client, deal_id).0,
            payment_mint: token.mint,
            client_token_account: *client_token_account,
            vault: pda::storage_vault(&market).0,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::CancelDeal {},
    )
}

/// Hash of the terms of the deal at `address` as the provider read them (`deal` decoded from
/// the chain, e.g. with [`crate::accounts`]): what `accept_deal` must name.
pub fn terms_hash(address: &Pubkey, deal: &storage_escrow::state::Deal) -> [u8; 32] {
    deal.terms(address).hash::<Sha256Hasher>()
}

/// `accept_deal`: the owner of `device` accepts exactly the terms whose hash is
/// `terms_hash` (see [`terms_hash`]) and posts collateral from `provider_token_account`.
#[allow(
    clippy::too_many_arguments,
    reason = "every argument is an account or the accepted terms"
)]
pub fn accept_deal(
    provider: &Pubkey,
    network: &Pubkey,
    deal: &Pubkey,
    device: &Pubkey,
    token: &PaymentToken,
    provider_token_account: &Pubkey,
    terms_hash: [u8; 32],
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::AcceptDeal {
            provider: *provider,
            network: *network,
            market,
            deal: *deal,
            device: *device,
            payment_mint: token.mint,
            provider_token_account: *provider_token_account,
            vault: pda::storage_vault(&market).0,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::AcceptDeal {
            args: AcceptDealArgs { terms_hash },
        },
    )
}

/// `open_challenge` for `period` (the provider).
pub fn open_challenge(
    provider: &Pubkey,
    network: &Pubkey,
    deal: &Pubkey,
    period: u64,
) -> Instruction {
    build(
        acc::OpenChallenge {
            provider: *provider,
            market: pda::storage_market(network).0,
            deal: *deal,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::OpenChallenge { period },
    )
}

/// `submit_proof` with `args.responses` (the provider).
pub fn submit_proof(
    provider: &Pubkey,
    network: &Pubkey,
    deal: &Pubkey,
    token: &PaymentToken,
    provider_token_account: &Pubkey,
    args: SubmitProofArgs,
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::SubmitProof {
            provider: *provider,
            market,
            deal: *deal,
            slot_hashes: SLOT_HASHES_ID,
            payment_mint: token.mint,
            provider_token_account: *provider_token_account,
            vault: pda::storage_vault(&market).0,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::SubmitProof { args },
    )
}

/// `report_fault` for `period` (anyone).
pub fn report_fault(
    network: &Pubkey,
    deal: &Pubkey,
    token: &PaymentToken,
    client_token_account: &Pubkey,
    period: u64,
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::ReportFault {
            market,
            deal: *deal,
            payment_mint: token.mint,
            client_token_account: *client_token_account,
            vault: pda::storage_vault(&market).0,
            token_program: token.token_program,
            slot_hashes: SLOT_HASHES_ID,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::ReportFault { period },
    )
}

/// `complete_deal` (anyone): collateral to `provider_token_account`, what the deal owes the
/// market's `treasury` to it, rent to `client`.
pub fn complete_deal(
    network: &Pubkey,
    deal: &Pubkey,
    client: &Pubkey,
    token: &PaymentToken,
    provider_token_account: &Pubkey,
    treasury: &Pubkey,
) -> Instruction {
    let market = pda::storage_market(network).0;
    build(
        acc::CompleteDeal {
            market,
            deal: *deal,
            client: *client,
            payment_mint: token.mint,
            provider_token_account: *provider_token_account,
            treasury: *treasury,
            vault: pda::storage_vault(&market).0,
            token_program: token.token_program,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::CompleteDeal {},
    )
}

/// `sync_treasury` (anyone): after the network authority rotated the network treasury to
/// `network_treasury`, points the market's treasury (fees and terminal slashes) at `treasury`, a payment-mint
/// account of the same owner.
pub fn sync_treasury(
    network: &Pubkey,
    network_treasury: &Pubkey,
    treasury: &Pubkey,
) -> Instruction {
    build(
        acc::SyncTreasury {
            network: *network,
            network_treasury: *network_treasury,
            market: pda::storage_market(network).0,
            treasury: *treasury,
            event_authority: event_authority(),
            program: storage_escrow::ID,
        },
        ix::SyncTreasury {},
    )
}

fn io(path: &Path, e: std::io::Error) -> SdkError {
    SdkError::Io(format!("{}: {e}", path.display()))
}

/// Reads `path` chunk by chunk and commits to it, keeping 32 bytes per chunk in memory:
/// what a client computes before proposing a deal (the root and the chunk count go into
/// `ProposeDealArgs`), and what a provider keeps to answer challenges.
pub fn commit_file(path: &Path, chunk_size: u32) -> Result<PieceCommitment, SdkError> {
    let mut builder = PieceBuilder::new(chunk_size).map_err(SdkError::Storage)?;
    let mut file = File::open(path).map_err(|e| io(path, e))?;
    let mut buffer = vec![0u8; chunk_size as usize];
    loop {
        let n = read_full(&mut file, &mut buffer).map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        builder
            .push::<Sha256Hasher>(&buffer[..n])
            .map_err(SdkError::Storage)?;
        if n < buffer.len() {
            break;
        }
    }
    builder.finish::<Sha256Hasher>().map_err(SdkError::Storage)
}

/// Fills `buffer` as far as the reader allows; returns the bytes read (short at the end).
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = reader.read(&mut buffer[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// The provider's side of a deal: the stored file and its commitment.
pub struct StorageProver {
    path: PathBuf,
    piece: PieceCommitment,
}

impl StorageProver {
    /// Commits to the file at `path` (see [`commit_file`]) and keeps it for answers.
    pub fn new(path: impl Into<PathBuf>, chunk_size: u32) -> Result<Self, SdkError> {
        let path = path.into();
        let piece = commit_file(&path, chunk_size)?;
        Ok(StorageProver { path, piece })
    }

    /// The piece root.
    pub fn piece_root(&self) -> [u8; 32] {
        self.piece.root()
    }

    /// Chunks in the piece.
    pub fn num_chunks(&self) -> u64 {
        self.piece.num_chunks()
    }

    /// The prover of the file at `path` for a deal with these terms, refused with
    /// [`SdkError::TermsMismatch`] unless the file is the piece they name: the chunk count
    /// is checked against the file's length first, before anything is hashed (so terms
    /// naming another count cost no pass over the file), then the root ([`Self::check_terms`]).
    pub fn for_terms(
        path: impl Into<PathBuf>,
        piece_root: &[u8; 32],
        chunk_size: u32,
        num_chunks: u64,
    ) -> Result<Self, SdkError> {
        let path = path.into();
        words_per_chunk(chunk_size).map_err(SdkError::Storage)?;
        let len = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        let chunks = len.div_ceil(u64::from(chunk_size));
        if chunks != num_chunks {
            return Err(SdkError::TermsMismatch {
                term: "chunk count",
                deal: num_chunks.to_string(),
                file: chunks.to_string(),
            });
        }
        let prover = StorageProver::new(path, chunk_size)?;
        prover.check_terms(piece_root, chunk_size, num_chunks)?;
        Ok(prover)
    }

    /// Checks a deal's terms against the file: [`SdkError::TermsMismatch`] naming the
    /// first that differs unless the deal's piece root, chunk size and chunk count are the
    /// file's. Accept a deal only once this passes: the chain cannot tell whether the count
    /// is the data's (the root does not say), and a count above it names chunks nobody
    /// can prove, so most periods would fault and the collateral be slashed.
    pub fn check_terms(
        &self,
        piece_root: &[u8; 32],
        chunk_size: u32,
        num_chunks: u64,
    ) -> Result<(), SdkError> {
        let mismatch =
            |term, deal: String, file: String| SdkError::TermsMismatch { term, deal, file };
        if chunk_size != self.piece.chunk_size() {
            return Err(mismatch(
                "chunk size",
                chunk_size.to_string(),
                self.piece.chunk_size().to_string(),
            ));
        }
        if *piece_root != self.piece_root() {
            return Err(mismatch(
                "piece root",
                crate::oracle::hex(piece_root),
                crate::oracle::hex(&self.piece_root()),
            ));
        }
        if num_chunks != self.num_chunks() {
            return Err(mismatch(
                "chunk count",
                num_chunks.to_string(),
                self.num_chunks().to_string(),
            ));
        }
        Ok(())
    }

    /// The `count` challenges of `period` of `deal` under `seed`.
    pub fn challenges(
        &self,
        seed: &[u8; 32],
        deal: &Pubkey,
        period: u64,
        count: u8,
    ) -> Result<Vec<Challenge>, SdkError> {
        let words = self.piece.shape().words_per_chunk();
        (0..count)
            .map(|i| {
                challenge::<Sha256Hasher>(
                    seed,
                    &deal.to_bytes(),
                    period,
                    i,
                    self.num_chunks(),
                    words,
                )
                .map_err(SdkError::Storage)
            })
            .collect()
    }

    /// The answer to challenge `index` at position `at`, read from the file.
    pub fn answer(&self, index: u8, at: Challenge) -> Result<ChallengeResponse, SdkError> {
        let size = u64::from(self.piece.chunk_size());
        let mut file = File::open(&self.path).map_err(|e| io(&self.path, e))?;
        let offset = at
            .chunk
            .checked_mul(size)
            .ok_or(SdkError::Storage(depin_core::CoreError::IndexOutOfRange))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io(&self.path, e))?;
        let mut chunk = vec![0u8; self.piece.chunk_size() as usize];
        let n = read_full(&mut file, &mut chunk).map_err(|e| io(&self.path, e))?;
        chunk.truncate(n);
        let a = self
            .piece
            .answer::<Sha256Hasher>(at, &chunk)
            .map_err(SdkError::Storage)?;
        Ok(ChallengeResponse {
            index,
            word: a.word,
            word_proof: a.word_proof,
            chunk_proof: a.chunk_proof,
        })
    }

    /// Every answer of `period`, given the SlotHashes sysvar's data and the slot the
    /// challenge opened at.
    pub fn answers(
        &self,
        slot_hashes: &[u8],
        challenge_slot: u64,
        deal: &Pubkey,
        period: u64,
        count: u8,
    ) -> Result<Vec<ChallengeResponse>, SdkError> {
        let seed =
            first_hash_after(slot_hashes, challenge_slot).map_err(|_| SdkError::SeedUnavailable)?;
        self.challenges(&seed, deal, period, count)?
            .into_iter()
            .zip(0u8..)
            .map(|(at, i)| self.answer(i, at))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_checked_against_the_file_term_by_term() {
        let mut file = tempfile::NamedTempFile::new().expect("file");
        std::io::Write::write_all(&mut file, &[7u8; 3 * 1024 + 5]).expect("write");
        let prover = StorageProver::new(file.path(), 1024).expect("prover");
        let root = prover.piece_root();
        assert_eq!(prover.num_chunks(), 4);
        assert!(prover.check_terms(&root, 1024, 4).is_ok());
        // the real root with a larger count: the chunks past the data's are unprovable
        match prover.check_terms(&root, 1024, 8) {
            Err(SdkError::TermsMismatch { term, deal, file }) => {
                assert_eq!(
                    (term, deal.as_str(), file.as_str()),
                    ("chunk count", "8", "4")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            prover.check_terms(&root, 1024, 3),
            Err(SdkError::TermsMismatch {
                term: "chunk count",
                ..
            })
        ));
        assert!(matches!(
            prover.check_terms(&[1; 32], 1024, 4),
            Err(SdkError::TermsMismatch {
                term: "piece root",
                ..
            })
        ));
        assert!(matches!(
            prover.check_terms(&root, 2048, 4),
            Err(SdkError::TermsMismatch {
                term: "chunk size",
                ..
            })
        ));
        let message = prover.check_terms(&root, 1024, 8).unwrap_err().to_string();
        assert_eq!(message, "the deal's chunk count is 8, the file's 4");
        // the same from the path: the count is refused before the file is hashed
        assert!(StorageProver::for_terms(file.path(), &root, 1024, 4).is_ok());
        assert!(matches!(
            StorageProver::for_terms(file.path(), &root, 1024, 8),
            Err(SdkError::TermsMismatch {
                term: "chunk count",
                ..
            })
        ));
        assert!(matches!(
            StorageProver::for_terms(file.path(), &[2; 32], 1024, 4),
            Err(SdkError::TermsMismatch {
                term: "piece root",
                ..
            })
        ));
        assert!(matches!(
            StorageProver::for_terms(file.path(), &root, 100, 4),
            Err(SdkError::Storage(_))
        ));
    }
}
