//! Packing instructions into the fewest transactions that fit a packet.
//!
//! A transaction travels in one UDP packet: signed, it may be at most [`PACKET_DATA_SIZE`]
//! bytes. A cranker with 200 claims, or a gateway with a day of meter readings, wants as
//! few transactions as possible (each pays its base fee) and none too large (the RPC node
//! refuses it outright).
//!
//! [`Packer::pack`] takes the instructions as *groups*: a group always lands whole in one
//! transaction (an Ed25519 verification and the instruction that reads it; an
//! `open_claimed` and its `claim`), groups keep their order, and each transaction is filled
//! greedily: the next group joins the current transaction if the result still fits, and
//! starts the next one otherwise. Every transaction also begins with a *prefix* the caller
//! computes from its content (typically `SetComputeUnitLimit` for exactly those
//! instructions, see [`crate::compute`]), and the size checked includes it.
//!
//! Sizes are not estimated: each candidate is compiled into the real message (legacy
//! [`Message`], or a v0 message when [`Packer::v0`] was given address lookup tables, where a
//! key found in a table costs one byte instead of 32) and serialized with bincode inside a
//! [`VersionedTransaction`] that carries one placeholder for every required signature, so
//! the number is the signed transaction's wire size.

use std::collections::BTreeSet;
use std::ops::Range;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use solana_message::{v0, Message};
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Signature;

/// The message types [`Packer`] takes and gives, so callers need no `solana-message` of
/// their own.
pub use solana_message::{AddressLookupTableAccount, CompileError, Hash, VersionedMessage};

/// Largest signed transaction, in bytes: the 1,280-byte IPv6 minimum MTU less the 40-byte
/// IPv6 and 8-byte UDP headers (`solana_packet::PACKET_DATA_SIZE`).
pub const PACKET_DATA_SIZE: usize = 1232;
/// Most accounts a transaction may lock (the runtime's default limit).
pub const MAX_ACCOUNT_LOCKS: usize = 64;
/// Most top-level instructions the packer joins into one transaction: the runtime traces at
/// most 64 instructions, CPIs included, and a suite instruction makes up to three (its event
/// and a token movement or two), so sixteen keep a packed transaction within the trace.
pub const MAX_INSTRUCTIONS: usize = 16;

/// Most distinct keys a legacy message is compiled from here: `Message::new` panics when an
/// account index no longer fits a byte, and a message with this many keys is far over
/// [`PACKET_DATA_SIZE`] anyway.
const MAX_LEGACY_KEYS: usize = 255;

/// One transaction's worth of instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The prefix followed by the groups' instructions, in order.
    pub instructions: Vec<Instruction>,
    /// Which of the groups given to [`Packer::pack`] are in it (consecutive; empty groups
    /// belong to the transaction around them, or the first one when they lead).
    pub groups: Range<usize>,
    /// Size of the signed transaction in bytes, at most [`PACKET_DATA_SIZE`].
    pub size: usize,
    /// The keys that must sign it, in the message's order (the payer first).
    pub signers: Vec<Pubkey>,
}

/// Why [`Packer::pack`] could not pack the groups.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// A group does not fit a transaction even alone (with its prefix).
    #[error("group {group} alone makes a {size}-byte transaction, over the {PACKET_DATA_SIZE}-byte limit")]
    GroupTooLarge {
        /// Index of the group.
        group: usize,
        /// Size of the signed transaction holding the prefix and this group alone;
        /// `usize::MAX` when it has no wire form at all (a length beyond the compact-u16
        /// range, e.g. more than 65,535 bytes of instruction data).
        size: usize,
    },
    /// A group carries a compute-budget instruction, where the sender sets one per
    /// transaction (two `SetComputeUnitLimit` in one transaction fail it whole).
    #[error("group {group} sets its own compute budget; the sender sets one per transaction")]
    OwnComputeBudget {
        /// Index of the group.
        group: usize,
    },
    /// A group does not compile into a message even alone: more than 255 distinct keys
    /// (more than 256 for a v0 message), or a key found in a lookup table past index 255.
    #[error("group {group} does not compile into a message: {error}")]
    Compile {
        /// Index of the group.
        group: usize,
        /// What the message compiler refused.
        error: CompileError,
    },
}

/// Packs instructions paid by one fee payer into transactions: legacy ones, or v0 ones
/// using address lookup tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packer {
    payer: Pubkey,
    tables: Option<Vec<AddressLookupTableAccount>>,
}

impl Packer {
    /// Legacy transactions paid by `payer`.
    pub fn legacy(payer: Pubkey) -> Self {
        Self {
            payer,
            tables: None,
        }
    }

    /// Version 0 transactions paid by `payer`, whose keys are looked up in `tables` (the
    /// tables' current contents, as fetched from their accounts) where the runtime allows it:
    /// a key that signs or is an invoked program always stays in the message itself.
    pub fn v0(payer: Pubkey, tables: Vec<AddressLookupTableAccount>) -> Self {
        Self {
            payer,
            tables: Some(tables),
        }
    }

    /// The message holding `instructions`, paid by the payer, with `blockhash`: what a
    /// [`Packed`] is sent as (its size does not depend on the blockhash).
    pub fn message(
        &self,
        instructions: &[Instruction],
        blockhash: Hash,
    ) -> Result<VersionedMessage, CompileError> {
        match &self.tables {
            None => {
                let mut keys = BTreeSet::new();
                keys.insert(self.payer);
                for ix in instructions {
                    keys.insert(ix.program_id);
                    keys.extend(ix.accounts.iter().map(|meta| meta.pubkey));
                }
                if keys.len() > MAX_LEGACY_KEYS {
                    return Err(CompileError::AccountIndexOverflow);
                }
                Ok(VersionedMessage::Legacy(Message::new_with_blockhash(
                    instructions,
                    Some(&self.payer),
                    &blockhash,
                )))
            }
            Some(tables) => v0::Message::try_compile(&self.payer, instructions, tables, blockhash)
                .map(VersionedMessage::V0),
        }
    }

    /// Size in bytes of the signed transaction holding exactly `instructions` (`usize::MAX`
    /// when it has no wire form: a length beyond the compact-u16 range).
    pub fn transaction_size(&self, instructions: &[Instruction]) -> Result<usize, CompileError> {
        self.measure(instructions).map(|(size, _)| size)
    }

    /// Size and signers of the transaction holding `instructions`.
    fn measure(&self, instructions: &[Instruction]) -> Result<(usize, Vec<Pubkey>), CompileError> {
        let message = self.message(instructions, Hash::default())?;
        let required = usize::from(message.header().num_required_signatures);
        let signers = message
            .static_account_keys()
            .iter()
            .take(required)
            .copied()
            .collect();
        let transaction = VersionedTransaction {
            signatures: vec![Signature::default(); required],
            message,
        };
        let size = bincode::serialized_size(&transaction)
            .ok()
            .and_then(|size| usize::try_from(size).ok())
            .unwrap_or(usize::MAX);
        Ok((size, signers))
    }

    /// The transaction for `body`: `prefix(body)` then `body`, measured.
    fn candidate(
        &self,
        body: &[Instruction],
        prefix: &impl Fn(&[Instruction]) -> Vec<Instruction>,
    ) -> Result<Packed, CompileError> {
        let mut instructions = prefix(body);
        instructions.extend_from_slice(body);
        let (size, signers) = self.measure(&instructions)?;
        Ok(Packed {
            instructions,
            groups: 0..0,
            size,
            signers,
        })
    }

    /// Packs `groups`, in order, into the fewest transactions greedy filling gives: each
    /// transaction takes the following groups for as long as the signed result fits
    /// [`PACKET_DATA_SIZE`]. `prefix` is called with a transaction's instructions (its
    /// groups', concatenated) and returns the instructions to put before them, e.g. a
    /// `SetComputeUnitLimit` for exactly those; pass `|_| Vec::new()` for none.
    ///
    /// Empty groups produce no transaction; no groups give no transactions.
    pub fn pack(
        &self,
        groups: Vec<Vec<Instruction>>,
        prefix: impl Fn(&[Instruction]) -> Vec<Instruction>,
    ) -> Result<Vec<Packed>, PackError> {
        let count = groups.len();
        let mut packed = Vec::new();
        // The groups' instructions of the transaction being filled, and that transaction.
        let mut open: Option<(Vec<Instruction>, Packed)> = None;
        // First group not in a finished transaction.
        let mut start = 0;
        for (index, group) in groups.into_iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            if let Some((body, current)) = open.as_mut() {
                let mut joined = Vec::with_capacity(body.len() + group.len());
                joined.extend_from_slice(body);
                joined.extend_from_slice(&group);
                // A join that does not compile (too many keys) does not fit either.
                match self.candidate(&joined, &prefix) {
                    Ok(bigger) if bigger.size <= PACKET_DATA_SIZE && within_limits(&joined) => {
                        *body = joined;
                        *current = bigger;
                        continue;
                    }
                    _ => {
                        if let Some((_, mut done)) = open.take() {
                            done.groups = start..index;
                            packed.push(done);
                        }
                        start = index;
                    }
                }
            }
            let alone = self
                .candidate(&group, &prefix)
                .map_err(|error| PackError::Compile {
                    group: index,
                    error,
                })?;
            if alone.size > PACKET_DATA_SIZE {
                return Err(PackError::GroupTooLarge {
                    group: index,
                    size: alone.size,
                });
            }
            open = Some((group, alone));
        }
        if let Some((_, mut done)) = open {
            done.groups = start..count;
            packed.push(done);
        }
        Ok(packed)
    }
}

/// Whether a joined transaction stays within the runtime's limits other than its size:
/// account locks, instruction trace (see [`MAX_INSTRUCTIONS`]) and compute units.
fn within_limits(instructions: &[Instruction]) -> bool {
    let mut keys: Vec<&Pubkey> = instructions
        .iter()
        .flat_map(|ix| {
            ix.accounts
                .iter()
                .map(|m| &m.pubkey)
                .chain([&ix.program_id])
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // the payer and the compute budget program come on top
    keys.len() + 2 <= MAX_ACCOUNT_LOCKS
        && instructions.len() < MAX_INSTRUCTIONS
        && crate::compute::compute_unit_limit(instructions) < crate::compute::MAX_UNITS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute;
    use crate::energy::{MeterSigner, Reading};
    use crate::rewards::{ClaimArgs, RewardToken};
    use crate::AccountMeta;
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    use solana_transaction::Transaction;

    /// The compute-budget prefix a sender uses.
    fn budget(ixs: &[Instruction]) -> Vec<Instruction> {
        vec![compute::set_compute_unit_limit(
            compute::compute_unit_limit(ixs),
        )]
    }

    fn no_prefix(_: &[Instruction]) -> Vec<Instruction> {
        Vec::new()
    }

    struct Claims {
        network: Pubkey,
        token: RewardToken,
        owners: Vec<Pubkey>,
        groups: Vec<Vec<Instruction>>,
    }

    /// `n` rewards claims (12 accounts; 92 bytes of data with a two-level proof), one per
    /// group, for distinct devices of 10 owners.
    fn claims(n: usize) -> Claims {
        let network = Pubkey::new_unique();
        let token = RewardToken {
            mint: Pubkey::new_unique(),
            token_program: anchor_spl::token::ID,
        };
        let owners: Vec<Pubkey> = (0..10).map(|_| Pubkey::new_unique()).collect();
        let groups = (0..n)
            .map(|i| {
                let device = Pubkey::new_unique();
                let recipient = Pubkey::new_unique();
                vec![crate::rewards::claim(
                    &network,
                    &device,
                    &owners[i % owners.len()],
                    &token,
                    &recipient,
                    ClaimArgs {
                        epoch: 7,
                        cumulative_amount: 1_000 + i as u64,
                        proof: vec![[i as u8; 32]; 2],
                    },
                )]
            })
            .collect();
        Claims {
            network,
            token,
            owners,
            groups,
        }
    }

    /// The instructions of `packed` after the prefix of `prefix_len`.
    fn body(packed: &Packed, prefix_len: usize) -> &[Instruction] {
        &packed.instructions[prefix_len..]
    }

    /// Every transaction fits, groups keep their order and cover the input, and none could
    /// have taken the next group.
    fn check_greedy(
        packer: &Packer,
        groups: &[Vec<Instruction>],
        packed: &[Packed],
        prefix: &impl Fn(&[Instruction]) -> Vec<Instruction>,
    ) {
        let mut next_group = 0;
        let mut all = Vec::new();
        for p in packed {
            assert!(p.size <= PACKET_DATA_SIZE, "{}", p.size);
            assert_eq!(p.groups.start, next_group);
            next_group = p.groups.end;
            let own: Vec<Instruction> = groups[p.groups.clone()].concat();
            let prefix_len = p.instructions.len() - own.len();
            assert_eq!(body(p, prefix_len), own.as_slice());
            assert_eq!(&p.instructions[..prefix_len], prefix(&own).as_slice());
            assert_eq!(packer.transaction_size(&p.instructions), Ok(p.size));
            all.extend(own);
        }
        assert_eq!(next_group, groups.len());
        assert_eq!(all, groups.concat());
        for pair in packed.windows(2) {
            let mut joined = groups[pair[0].groups.clone()].concat();
            joined.extend_from_slice(&groups[pair[1].groups.start]);
            let mut instructions = prefix(&joined);
            instructions.extend(joined);
            // (a join that does not compile does not fit either)
            if let Ok(size) = packer.transaction_size(&instructions) {
                assert!(size > PACKET_DATA_SIZE, "{size}");
            }
        }
    }

    #[test]
    fn two_hundred_claims_pack_greedily_at_their_wire_size() {
        let payer = Keypair::new();
        let claims = claims(200);
        assert_eq!(claims.groups[0][0].accounts.len(), 12);
        assert_eq!(claims.groups[0][0].data.len(), 92);
        let packer = Packer::legacy(payer.pubkey());
        let packed = packer.pack(claims.groups.clone(), budget).unwrap();
        check_greedy(&packer, &claims.groups, &packed, &budget);
        // 3 claims a transaction: 67 transactions
        assert_eq!(packed.len(), 67);
        assert!(packed[..66].iter().all(|p| p.groups.len() == 3));
        for p in &packed {
            assert_eq!(p.signers, vec![payer.pubkey()]);
            let message = Message::new_with_blockhash(
                &p.instructions,
                Some(&payer.pubkey()),
                &Hash::new_from_array([9; 32]),
            );
            let signed = Transaction::new(&[&payer], message, Hash::new_from_array([9; 32]));
            assert_eq!(bincode::serialize(&signed).unwrap().len(), p.size);
            // what a sender builds with a real blockhash is the same size
            let sent = packer
                .message(&p.instructions, Hash::new_from_array([9; 32]))
                .unwrap();
            assert_eq!(sent, VersionedMessage::Legacy(signed.message));
        }
    }

    #[test]
    fn lookup_tables_need_fewer_transactions() {
        let payer = Keypair::new();
        let claims = claims(200);
        // The accounts claims share: the network's, and the stake position of each owner.
        let pool = crate::pda::stake_pool(&claims.network).0;
        let mut addresses = vec![
            claims.network,
            crate::pda::rewards_config(&claims.network).0,
            pool,
            claims.token.mint,
            claims.token.token_program,
            crate::pda::event_authority(&crate::REWARDS_PROGRAM_ID).0,
        ];
        addresses.extend(
            claims
                .owners
                .iter()
                .map(|owner| crate::pda::stake_position(&pool, owner).0),
        );
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses,
        };
        let legacy = Packer::legacy(payer.pubkey())
            .pack(claims.groups.clone(), budget)
            .unwrap();
        let packer = Packer::v0(payer.pubkey(), vec![table.clone()]);
        let packed = packer.pack(claims.groups.clone(), budget).unwrap();
        check_greedy(&packer, &claims.groups, &packed, &budget);
        // 4 claims a transaction instead of 3
        assert_eq!((legacy.len(), packed.len()), (67, 50));
        for p in &packed {
            let message = v0::Message::try_compile(
                &payer.pubkey(),
                &p.instructions,
                std::slice::from_ref(&table),
                Hash::new_from_array([3; 32]),
            )
            .unwrap();
            assert_eq!(message.address_table_lookups.len(), 1);
            let signed =
                VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer]).unwrap();
            assert_eq!(bincode::serialize(&signed).unwrap().len(), p.size);
        }
        // v0 without tables costs the version byte and an empty lookup list over legacy
        let bare = Packer::v0(payer.pubkey(), vec![]);
        let ixs = &legacy[0].instructions;
        assert_eq!(
            bare.transaction_size(ixs),
            Ok(legacy[0].size + 2),
            "v0 without tables"
        );
    }

    #[test]
    fn every_required_signature_is_counted() {
        let payer = Keypair::new();
        let owners: Vec<Keypair> = (0..4).map(|_| Keypair::new()).collect();
        let program = Pubkey::new_unique();
        let groups: Vec<Vec<Instruction>> = (0..40)
            .map(|i| {
                let owner = &owners[i % owners.len()];
                vec![Instruction {
                    program_id: program,
                    accounts: vec![
                        AccountMeta::new_readonly(owner.pubkey(), true),
                        AccountMeta::new(Pubkey::new_unique(), false),
                    ],
                    data: vec![i as u8; 40],
                }]
            })
            .collect();
        let packer = Packer::legacy(payer.pubkey());
        let packed = packer.pack(groups.clone(), no_prefix).unwrap();
        check_greedy(&packer, &groups, &packed, &no_prefix);
        assert!(packed.len() > 1);
        for p in &packed {
            assert_eq!(p.signers[0], payer.pubkey());
            let mut keys: Vec<&Keypair> = vec![&payer];
            keys.extend(owners.iter().filter(|o| p.signers.contains(&o.pubkey())));
            assert_eq!(keys.len(), p.signers.len());
            let message = Message::new(&p.instructions, Some(&payer.pubkey()));
            let signed = Transaction::new(&keys, message, Hash::default());
            assert_eq!(signed.signatures.len(), p.signers.len());
            assert_eq!(bincode::serialize(&signed).unwrap().len(), p.size);
        }
    }

    #[test]
    fn groups_stay_whole_in_one_transaction() {
        let payer = Pubkey::new_unique();
        let network = Pubkey::new_unique();
        let meters: Vec<Keypair> = (0..9).map(|_| Keypair::new()).collect();
        let groups: Vec<Vec<Instruction>> = meters
            .iter()
            .map(|key| {
                let meter = MeterSigner {
                    key,
                    device: Pubkey::new_unique(),
                    network,
                };
                let reading = Reading {
                    interval: 4,
                    produced_wh: 1_500,
                    consumed_wh: 200,
                    counter: 11,
                };
                meter.reading_instructions(&payer, &reading).to_vec()
            })
            .collect();
        let packer = Packer::legacy(payer);
        let packed = packer.pack(groups.clone(), budget).unwrap();
        check_greedy(&packer, &groups, &packed, &budget);
        // the gateway's fixed batch size is what greedy packing finds
        for p in &packed[..packed.len() - 1] {
            assert_eq!(p.groups.len(), crate::energy::READINGS_PER_TRANSACTION);
        }
        for p in &packed {
            let body = body(p, 1);
            for pair in body.chunks(2) {
                assert_eq!(pair[0].program_id, compute::ED25519_ID);
                assert_eq!(pair[1].program_id, crate::ENERGY_PROGRAM_ID);
            }
        }
    }

    #[test]
    fn a_group_too_large_alone_is_refused() {
        let packer = Packer::legacy(Pubkey::new_unique());
        let program = Pubkey::new_unique();
        let with_data = |len: usize| Instruction {
            program_id: program,
            accounts: vec![],
            data: vec![1; len],
        };
        let (small, large) = (with_data(100), with_data(1_200));
        let groups = vec![
            vec![small.clone()],
            vec![small.clone()],
            vec![small.clone(), large.clone()],
            vec![small.clone()],
        ];
        let size = packer
            .transaction_size(&compute::with_compute_budget(&groups[2]))
            .unwrap();
        assert!(size > PACKET_DATA_SIZE);
        assert_eq!(
            packer.pack(groups, budget),
            Err(PackError::GroupTooLarge { group: 2, size })
        );
        let err = packer.pack(vec![vec![large]], budget).unwrap_err();
        assert!(matches!(err, PackError::GroupTooLarge { group: 0, .. }));
        assert!(err.to_string().contains("1232-byte limit"), "{err}");
        // exactly the limit fits, one byte more does not (data of 128 bytes and more takes
        // a two-byte length)
        let base = packer.transaction_size(&[with_data(0)]).unwrap();
        let exact = with_data(PACKET_DATA_SIZE - base - 1);
        assert_eq!(
            packer.transaction_size(std::slice::from_ref(&exact)),
            Ok(PACKET_DATA_SIZE)
        );
        let packed = packer.pack(vec![vec![exact]], no_prefix).unwrap();
        assert_eq!(packed.len(), 1);
        assert_eq!(packed[0].size, PACKET_DATA_SIZE);
        assert_eq!(
            packer.pack(vec![vec![with_data(PACKET_DATA_SIZE - base)]], no_prefix),
            Err(PackError::GroupTooLarge {
                group: 0,
                size: PACKET_DATA_SIZE + 1
            })
        );
    }

    #[test]
    fn a_group_without_wire_form_is_too_large() {
        let huge = Instruction {
            program_id: Pubkey::new_unique(),
            accounts: vec![],
            data: vec![0; 70_000],
        };
        let packer = Packer::legacy(Pubkey::new_unique());
        assert_eq!(
            packer.transaction_size(std::slice::from_ref(&huge)),
            Ok(usize::MAX)
        );
        assert_eq!(
            packer.pack(vec![vec![huge]], no_prefix),
            Err(PackError::GroupTooLarge {
                group: 0,
                size: usize::MAX
            })
        );
    }

    #[test]
    fn a_group_that_does_not_compile_is_reported() {
        let program = Pubkey::new_unique();
        let many = Instruction {
            program_id: program,
            accounts: (0..300)
                .map(|_| AccountMeta::new_readonly(Pubkey::new_unique(), false))
                .collect(),
            data: vec![],
        };
        let packer = Packer::legacy(Pubkey::new_unique());
        assert_eq!(
            packer.pack(vec![vec![], vec![many.clone()]], no_prefix),
            Err(PackError::Compile {
                group: 1,
                error: CompileError::AccountIndexOverflow
            })
        );
        // a key at index 256 of a table cannot be referenced
        let far = Pubkey::new_unique();
        let mut addresses: Vec<Pubkey> = (0..256).map(|_| Pubkey::new_unique()).collect();
        addresses.push(far);
        let packer = Packer::v0(
            Pubkey::new_unique(),
            vec![AddressLookupTableAccount {
                key: Pubkey::new_unique(),
                addresses,
            }],
        );
        let ix = Instruction {
            program_id: program,
            accounts: vec![AccountMeta::new(far, false)],
            data: vec![],
        };
        let err = packer.pack(vec![vec![ix]], no_prefix).unwrap_err();
        assert_eq!(
            err,
            PackError::Compile {
                group: 0,
                error: CompileError::AddressTableLookupIndexOverflow
            }
        );
        assert!(err.to_string().starts_with("group 0 does not compile"));
    }

    #[test]
    fn a_join_that_does_not_compile_starts_a_new_transaction() {
        // Two groups of 150 table keys each: either alone is a small v0 message, both
        // together reference more keys than a one-byte index reaches.
        let program = Pubkey::new_unique();
        let tables: Vec<AddressLookupTableAccount> = (0..2)
            .map(|_| AddressLookupTableAccount {
                key: Pubkey::new_unique(),
                addresses: (0..150).map(|_| Pubkey::new_unique()).collect(),
            })
            .collect();
        let groups: Vec<Vec<Instruction>> = tables
            .iter()
            .map(|t| {
                vec![Instruction {
                    program_id: program,
                    accounts: t
                        .addresses
                        .iter()
                        .map(|a| AccountMeta::new_readonly(*a, false))
                        .collect(),
                    data: vec![],
                }]
            })
            .collect();
        let packer = Packer::v0(Pubkey::new_unique(), tables);
        assert_eq!(
            packer.transaction_size(&groups.concat()),
            Err(CompileError::AccountIndexOverflow)
        );
        let packed = packer.pack(groups.clone(), no_prefix).unwrap();
        assert_eq!(packed.len(), 2);
        check_greedy(&packer, &groups, &packed, &no_prefix);
    }

    #[test]
    fn a_join_past_the_runtime_limits_starts_a_new_transaction() {
        // tiny instructions: the size would allow far more than the trace does
        let program = Pubkey::new_unique();
        let shared = Pubkey::new_unique();
        let groups: Vec<Vec<Instruction>> = (0..40)
            .map(|_| {
                vec![Instruction {
                    program_id: program,
                    accounts: vec![AccountMeta::new_readonly(shared, false)],
                    data: vec![1],
                }]
            })
            .collect();
        let packed = Packer::legacy(Pubkey::new_unique())
            .pack(groups, no_prefix)
            .expect("packs");
        assert!(packed
            .iter()
            .all(|p| p.instructions.len() < MAX_INSTRUCTIONS));
        assert_eq!(packed.iter().map(|p| p.groups.len()).sum::<usize>(), 40);
        // distinct writable accounts: the lock limit
        let groups: Vec<Vec<Instruction>> = (0..100)
            .map(|_| {
                vec![Instruction {
                    program_id: program,
                    accounts: vec![AccountMeta::new(Pubkey::new_unique(), false)],
                    data: vec![],
                }]
            })
            .collect();
        let tables = vec![AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: groups.iter().map(|g| g[0].accounts[0].pubkey).collect(),
        }];
        for packed in Packer::v0(Pubkey::new_unique(), tables)
            .pack(groups, no_prefix)
            .expect("packs")
        {
            let mut keys: Vec<Pubkey> = packed
                .instructions
                .iter()
                .flat_map(|ix| ix.accounts.iter().map(|m| m.pubkey).chain([ix.program_id]))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            assert!(keys.len() + 2 <= MAX_ACCOUNT_LOCKS, "{}", keys.len());
        }
    }

    #[test]
    fn empty_input_and_empty_groups() {
        let packer = Packer::legacy(Pubkey::new_unique());
        assert_eq!(packer.pack(vec![], budget), Ok(vec![]));
        assert_eq!(packer.pack(vec![vec![], vec![]], budget), Ok(vec![]));
        let ix = Instruction {
            program_id: Pubkey::new_unique(),
            accounts: vec![],
            data: vec![0; 500],
        };
        let groups = vec![
            vec![],
            vec![ix.clone()],
            vec![],
            vec![ix.clone()],
            vec![ix.clone()],
            vec![],
        ];
        let packed = packer.pack(groups.clone(), no_prefix).unwrap();
        assert_eq!(packed.len(), 2);
        assert_eq!(packed[0].groups, 0..4);
        assert_eq!(packed[1].groups, 4..6);
        check_greedy(&packer, &groups, &packed, &no_prefix);
    }
}
