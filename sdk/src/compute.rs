//! Compute-unit limits for the suite's instructions.
//!
//! Fees follow the compute units a transaction *requests* (the priority fee is paid per
//! requested unit), so a sender should ask for what its instructions need and no more.
//! [`BUDGETS`] holds, per instruction, the most units it was measured to consume on the SBF
//! builds (`cargo run -p depin-tests --bin compute-units`, which fails when a measurement
//! exceeds this table), and for an instruction whose cost grows with its proof what each
//! node past the measured ones adds ([`PerNode`], read from the instruction's own data:
//! [`units`]); [`compute_unit_limit`] adds a margin and an allowance for the other
//! programs' instructions, and [`with_compute_budget`] puts the matching
//! `SetComputeUnitLimit` instruction first.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{AnchorDeserialize, Discriminator};

/// One instruction's measured worst case.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The program.
    pub program: Pubkey,
    /// The instruction's name in the program (snake case, as in the IDL).
    pub name: &'static str,
    /// Its 8-byte Anchor discriminator.
    pub discriminator: &'static [u8],
    /// Most compute units it consumed in any measured scenario, plus, for an instruction that
    /// creates accounts, [`BUMP_SEARCH_ALLOWANCE`] for each address it searches (creating an
    /// account finds its canonical bump, 444 units per bump below 255).
    pub units: u32,
    /// For an instruction whose cost grows with the proof it carries: what each node past
    /// the measured ones adds.
    pub per_node: Option<PerNode>,
}

/// The part of an instruction's cost that grows with its proof: one hash per node.
#[derive(Debug, Clone, Copy)]
pub struct PerNode {
    /// Proof nodes the row's [`Budget::units`] were measured with.
    pub included: u32,
    /// Units each node past those adds (measured on two proof lengths, rounded up).
    pub units: u32,
    /// The proof nodes of an instruction, from its arguments (the data after the
    /// discriminator); `None` when they do not decode (the program refuses such data).
    pub nodes: fn(&[u8]) -> Option<u32>,
}

/// Sibling hashes of a `claim`'s proof.
fn claim_nodes(args: &[u8]) -> Option<u32> {
    let args = crate::rewards::ClaimArgs::deserialize(&mut &args[..]).ok()?;
    u32::try_from(args.proof.len()).ok()
}

/// `claim` verifies one hash per proof node: 19,699 units at 20 nodes and 22,138 at 32 (the
/// longest it accepts) on the SBF build, 203 a node.
const CLAIM_PER_NODE: PerNode = PerNode {
    included: 20,
    units: 210,
    nodes: claim_nodes,
};

macro_rules! budgets {
    ($($program:ident :: $ty:ident, $name:literal, $units:literal $(, $per_node:expr)?;)*) => {
        /// Measured worst cases, one row per instruction of the five programs (see the
        /// compute-unit table in README.md for the scenario behind each number).
        pub const BUDGETS: &[Budget] = &[
            $(Budget {
                program: $program::ID,
                name: $name,
                discriminator: <$program::instruction::$ty as Discriminator>::DISCRIMINATOR,
                units: $units,
                per_node: budgets!(@per_node $($per_node)?),
            },)*
        ];
    };
    (@per_node) => { None };
    (@per_node $per_node:expr) => { Some($per_node) };
}

budgets! {
    device_registry::InitializeNetwork, "initialize_network", 17_000;
    device_registry::UpdateNetwork, "update_network", 5_000;
    device_registry::ProposeAuthority, "propose_authority", 4_500;
    device_registry::AcceptAuthority, "accept_authority", 4_500;
    device_registry::RegisterMaker, "register_maker", 16_500;
    device_registry::SetMakerApproval, "set_maker_approval", 5_000;
    device_registry::OnboardDevice, "onboard_device", 26_500;
    device_registry::AssertLocation, "assert_location", 13_500;
    device_registry::TransferDevice, "transfer_device", 5_000;
    device_registry::SetDeviceStatus, "set_device_status", 5_500;
    device_registry::SetAuditor, "set_auditor", 5_000;
    device_registry::AuditDevice, "audit_device", 8_500;
    staking::InitializePool, "initialize_pool", 34_000;
    staking::Stake, "stake", 24_000;
    staking::BondDevice, "bond_device", 18_000;
    staking::UnbondDevice, "unbond_device", 7_000;
    staking::RequestUnstake, "request_unstake", 5_500;
    staking::Withdraw, "withdraw", 13_500;
    staking::Slash, "slash", 14_000;
    staking::UpdatePool, "update_pool", 5_000;
    staking::SyncTreasury, "sync_treasury", 6_000;
    rewards::InitializeRewards, "initialize_rewards", 23_500;
    rewards::SetOracles, "set_oracles", 7_000;
    rewards::ProposeRoot, "propose_root", 24_500;
    rewards::Claim, "claim", 20_000, CLAIM_PER_NODE;
    rewards::OpenClaimed, "open_claimed", 16_500;
    storage_escrow::InitializeMarket, "initialize_market", 34_000;
    storage_escrow::ProposeDeal, "propose_deal", 39_000;
    storage_escrow::CancelDeal, "cancel_deal", 13_000;
    storage_escrow::AcceptDeal, "accept_deal", 18_500;
    storage_escrow::OpenChallenge, "open_challenge", 8_500;
    storage_escrow::SubmitProof, "submit_proof", 24_000;
    storage_escrow::ReportFault, "report_fault", 20_000;
    storage_escrow::CompleteDeal, "complete_deal", 20_500;
    storage_escrow::SyncTreasury, "sync_treasury", 6_000;
    energy_settlement::InitializeEnergyMarket, "initialize_energy_market", 37_500;
    energy_settlement::PlaceAsk, "place_ask", 31_000;
    energy_settlement::PlaceBid, "place_bid", 38_000;
    energy_settlement::CancelOrder, "cancel_order", 12_500;
    energy_settlement::SubmitReading, "submit_reading", 30_500;
    energy_settlement::ClearInterval, "clear_interval", 19_500;
    energy_settlement::SettleOrder, "settle_order", 22_000;
    energy_settlement::CloseInterval, "close_interval", 4_500;
    energy_settlement::SyncTreasury, "sync_treasury", 6_000;
}

/// What 16 more steps of a canonical-bump search cost (16 x 444 units): a bump below 239
/// happens for one address in 65,536.
pub const BUMP_SEARCH_ALLOWANCE: u32 = 16 * 444;

/// Margin on top of the measured worst cases, in percent: covers account contents and bump
/// searches no measurement happened to meet.
pub const MARGIN_PERCENT: u32 = 10;
/// Fixed headroom added once per transaction.
pub const HEADROOM_UNITS: u32 = 2_000;
/// What an instruction of another program is allowed: enough for an associated token account
/// creation (about 23,000 measured) or a token transfer.
pub const OTHER_PROGRAM_UNITS: u32 = 30_000;
/// The runtime's ceiling per transaction.
pub const MAX_UNITS: u32 = 1_400_000;

/// Program id of the compute budget program.
pub const COMPUTE_BUDGET_ID: Pubkey =
    anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");
/// Program id of the Ed25519 signature-verification precompile.
pub const ED25519_ID: Pubkey = anchor_lang::pubkey!("Ed25519SigVerify111111111111111111111111111");

/// The row of the suite instruction with this program and data, if it is one.
fn lookup(program: &Pubkey, data: &[u8]) -> Option<&'static Budget> {
    let discriminator = data.get(..8)?;
    BUDGETS
        .iter()
        .find(|b| b.program == *program && b.discriminator == discriminator)
}

/// The measured budget of `ix`, if it is one of the suite's instructions.
pub fn budget(ix: &Instruction) -> Option<&'static Budget> {
    lookup(&ix.program_id, &ix.data)
}

/// The compute units the suite instruction with this program and data needs: its row's
/// [`Budget::units`], plus [`PerNode::units`] for each proof node past the measured ones.
/// `None` when it is not a suite instruction.
pub fn units(program: &Pubkey, data: &[u8]) -> Option<u32> {
    let b = lookup(program, data)?;
    let extra = b.per_node.map_or(0, |p| {
        let nodes = data.get(8..).and_then(p.nodes).unwrap_or(p.included);
        nodes.saturating_sub(p.included).saturating_mul(p.units)
    });
    Some(b.units.saturating_add(extra))
}

/// The name of a suite instruction (`"claim"`), from its program and data.
pub fn instruction_name(program: &Pubkey, data: &[u8]) -> Option<&'static str> {
    lookup(program, data).map(|b| b.name)
}

/// The compute-unit limit for a transaction holding `ixs`: the suite instructions' measured
/// worst cases ([`units`]) plus [`MARGIN_PERCENT`], an allowance per other instruction (none for compute
/// budget instructions and signature precompiles, which the runtime does not meter against
/// the program budget), and [`HEADROOM_UNITS`]; at most [`MAX_UNITS`].
pub fn compute_unit_limit(ixs: &[Instruction]) -> u32 {
    let mut suite = 0u64;
    let mut other = 0u64;
    for ix in ixs {
        match units(&ix.program_id, &ix.data) {
            Some(n) => suite = suite.saturating_add(u64::from(n)),
            None if ix.program_id == COMPUTE_BUDGET_ID || ix.program_id == ED25519_ID => {}
            None => other = other.saturating_add(u64::from(OTHER_PROGRAM_UNITS)),
        }
    }
    let with_margin = suite.saturating_mul(100 + u64::from(MARGIN_PERCENT)) / 100;
    let total = with_margin
        .saturating_add(other)
        .saturating_add(u64::from(HEADROOM_UNITS));
    u32::try_from(total.min(u64::from(MAX_UNITS))).unwrap_or(MAX_UNITS)
}

/// `SetComputeUnitLimit(units)`.
pub fn set_compute_unit_limit(units: u32) -> Instruction {
    let mut data = vec![2u8];
    data.extend_from_slice(&units.to_le_bytes());
    Instruction {
        program_id: COMPUTE_BUDGET_ID,
        accounts: vec![],
        data,
    }
}

/// `ixs` preceded by the `SetComputeUnitLimit` instruction [`compute_unit_limit`] gives.
pub fn with_compute_budget(ixs: &[Instruction]) -> Vec<Instruction> {
    let mut all = Vec::with_capacity(ixs.len() + 1);
    all.push(set_compute_unit_limit(compute_unit_limit(ixs)));
    all.extend_from_slice(ixs);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::AnchorSerialize;

    #[test]
    fn every_row_is_a_distinct_instruction() {
        for (i, a) in BUDGETS.iter().enumerate() {
            assert_eq!(a.discriminator.len(), 8, "{}", a.name);
            for b in &BUDGETS[i + 1..] {
                assert!(
                    a.program != b.program || a.discriminator != b.discriminator,
                    "{} and {} share a discriminator",
                    a.name,
                    b.name
                );
            }
        }
        assert_eq!(BUDGETS.len(), 44);
    }

    #[test]
    fn limits_follow_the_table() {
        let claim = BUDGETS.iter().find(|b| b.name == "claim").unwrap();
        let ix = Instruction {
            program_id: claim.program,
            accounts: vec![],
            data: claim.discriminator.to_vec(),
        };
        let expected = claim.units * 110 / 100 + HEADROOM_UNITS;
        assert_eq!(compute_unit_limit(std::slice::from_ref(&ix)), expected);
        let all = with_compute_budget(&[ix.clone(), ix.clone()]);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].program_id, COMPUTE_BUDGET_ID);
        let limit = u32::from_le_bytes(all[0].data[1..5].try_into().unwrap());
        assert_eq!(limit, 2 * claim.units * 110 / 100 + HEADROOM_UNITS);
        // another program's instruction gets the allowance; precompiles and budgets nothing
        let other = Instruction {
            program_id: Pubkey::new_unique(),
            accounts: vec![],
            data: vec![],
        };
        let budget_ix = set_compute_unit_limit(1);
        assert_eq!(
            compute_unit_limit(&[other, budget_ix]),
            OTHER_PROGRAM_UNITS + HEADROOM_UNITS
        );
        assert_eq!(
            instruction_name(&claim.program, claim.discriminator),
            Some("claim")
        );
        assert_eq!(instruction_name(&claim.program, &[0; 3]), None);
    }

    fn claim_with_proof(nodes: usize) -> Instruction {
        let claim = BUDGETS.iter().find(|b| b.name == "claim").unwrap();
        let mut data = claim.discriminator.to_vec();
        crate::rewards::ClaimArgs {
            epoch: 3,
            cumulative_amount: 1_000,
            proof: vec![[7; 32]; nodes],
        }
        .serialize(&mut data)
        .unwrap();
        Instruction {
            program_id: claim.program,
            accounts: vec![],
            data,
        }
    }

    #[test]
    fn a_longer_proof_asks_for_its_extra_hashes() {
        let measured = claim_with_proof(20);
        assert_eq!(units(&measured.program_id, &measured.data), Some(20_000));
        // shorter proofs keep the measured row: nothing is taken off below it
        let short = claim_with_proof(3);
        assert_eq!(units(&short.program_id, &short.data), Some(20_000));
        let longest = claim_with_proof(crate::rewards::MAX_PROOF_LEN);
        assert_eq!(
            units(&longest.program_id, &longest.data),
            Some(20_000 + 12 * 210)
        );
        assert_eq!(
            compute_unit_limit(std::slice::from_ref(&longest)),
            (20_000 + 12 * 210) * 110 / 100 + HEADROOM_UNITS
        );
    }

    #[test]
    fn undecodable_claim_data_keeps_the_measured_row() {
        // the program refuses such data whatever the limit; the row still names it
        let mut ix = claim_with_proof(32);
        ix.data.truncate(30);
        assert_eq!(units(&ix.program_id, &ix.data), Some(20_000));
        assert_eq!(units(&Pubkey::new_unique(), &ix.data), None);
    }

    #[test]
    fn the_limit_never_exceeds_the_runtime_ceiling() {
        let claim = BUDGETS.iter().find(|b| b.name == "claim").unwrap();
        let ix = Instruction {
            program_id: claim.program,
            accounts: vec![],
            data: claim.discriminator.to_vec(),
        };
        assert_eq!(compute_unit_limit(&vec![ix; 200]), MAX_UNITS);
    }
}
