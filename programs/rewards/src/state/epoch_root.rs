use anchor_lang::prelude::*;

use super::MAX_ORACLES;

/// One oracle's proposal for an epoch.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct Proposal {
    /// Whether this oracle has proposed.
    pub submitted: bool,
    /// Proposed merkle root.
    pub root: [u8; 32],
    /// Proposed cumulative total.
    pub cumulative_total: u64,
    /// Proposed SHA-256 of the epoch's region multiplier table, as the oracles publish it
    /// off chain (all zeros: the epoch uses no table).
    pub multipliers_hash: [u8; 32],
}

impl Proposal {
    /// Whether `self` and `other` propose exactly the same outcome: root, cumulative total
    /// and multiplier table hash.
    pub fn agrees_with(&self, other: &Proposal) -> bool {
        self.root == other.root
            && self.cumulative_total == other.cumulative_total
            && self.multipliers_hash == other.multipliers_hash
    }
}

/// Proposals and, once quorum is reached, the finalized root of one epoch.
/// Seeds: `["epoch", config, epoch.to_le_bytes()]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct EpochRoot {
    /// The `RewardsConfig`.
    pub config: Pubkey,
    /// The epoch.
    pub epoch: u64,
    /// Oracle-set version the proposals were made under.
    pub oracle_set_version: u32,
    /// Proposals, by oracle index.
    pub proposals: [Proposal; MAX_ORACLES],
    /// Whether quorum was reached.
    pub finalized: bool,
    /// Finalized root (zero until finalized).
    pub root: [u8; 32],
    /// Finalized cumulative total (zero until finalized).
    pub cumulative_total: u64,
    /// Finalized SHA-256 of the epoch's region multiplier table (zero until finalized, and
    /// after it when the epoch uses no table): anyone can check the table the oracles
    /// published off chain against it.
    pub multipliers_hash: [u8; 32],
    /// Unix time of finalization (zero until finalized).
    pub finalized_at: i64,
    /// Bump of this PDA.
    pub bump: u8,
}

impl EpochRoot {
    /// Seed prefix.
    pub const SEED: &'static [u8] = b"epoch";
    /// Bytes the account occupies, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Replaces every field of `self` with the account data `data` (discriminator first),
    /// as `try_deserialize` would, but in place: deserializing a whole `EpochRoot` by value
    /// takes several copies of its 937 bytes on the SBF stack, this takes one `Proposal`.
    ///
    /// # Errors
    /// `AccountDiscriminatorMismatch` (or `AccountDiscriminatorNotFound`) when `data` is not
    /// an `EpochRoot`, `AccountDidNotDeserialize` when it is too short.
    pub fn read_in_place(&mut self, data: &[u8]) -> Result<()> {
        use anchor_lang::error::ErrorCode;
        let discriminator = data
            .get(..Self::DISCRIMINATOR.len())
            .ok_or(ErrorCode::AccountDiscriminatorNotFound)?;
        require!(
            discriminator == Self::DISCRIMINATOR,
            ErrorCode::AccountDiscriminatorMismatch
        );
        let mut body = data.get(Self::DISCRIMINATOR.len()..).unwrap_or(&[]);
        let r = &mut body;
        // Exhaustive, so that a new field cannot be forgotten here.
        let EpochRoot {
            config,
            epoch,
            oracle_set_version,
            proposals,
            finalized,
            root,
            cumulative_total,
            multipliers_hash,
            finalized_at,
            bump,
        } = self;
        let bad = |_| ErrorCode::AccountDidNotDeserialize;
        *config = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *epoch = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *oracle_set_version = AnchorDeserialize::deserialize(r).map_err(bad)?;
        for proposal in proposals.iter_mut() {
            *proposal = AnchorDeserialize::deserialize(r).map_err(bad)?;
        }
        *finalized = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *root = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *cumulative_total = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *multipliers_hash = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *finalized_at = AnchorDeserialize::deserialize(r).map_err(bad)?;
        *bump = AnchorDeserialize::deserialize(r).map_err(bad)?;
        Ok(())
    }

    /// Number of submitted proposals identical to `proposal`: same root, same cumulative
    /// total and same multiplier table hash. Proposals that differ in any of them are votes
    /// for different epochs' outcomes, so they never add up to a quorum together.
    pub fn votes_for(&self, proposal: &Proposal) -> u8 {
        let votes = self
            .proposals
            .iter()
            .filter(|p| p.submitted && p.agrees_with(proposal))
            .count();
        // At most MAX_ORACLES (11) proposals exist.
        u8::try_from(votes).unwrap_or(u8::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EpochRoot {
        let mut proposals = [Proposal::default(); MAX_ORACLES];
        for (i, p) in proposals.iter_mut().enumerate().step_by(2) {
            let i = i as u8;
            *p = Proposal {
                submitted: true,
                root: [i; 32],
                cumulative_total: u64::from(i) * 1_000 + 7,
                multipliers_hash: [i ^ 0x5a; 32],
            };
        }
        EpochRoot {
            config: Pubkey::new_from_array([1; 32]),
            epoch: 42,
            oracle_set_version: 3,
            proposals,
            finalized: true,
            root: [9; 32],
            cumulative_total: 123_456,
            multipliers_hash: [0xab; 32],
            finalized_at: 1_700_000_000,
            bump: 254,
        }
    }

    fn bytes(e: &EpochRoot) -> Vec<u8> {
        let mut out = Vec::new();
        e.try_serialize(&mut out).unwrap();
        out
    }

    #[test]
    fn read_in_place_matches_try_deserialize() {
        // Given a stored EpochRoot (account data may be longer than the value)
        let mut data = bytes(&sample());
        assert_eq!(data.len(), EpochRoot::SIZE);
        data.extend_from_slice(&[0xee; 16]);
        // When it is read in place over another value
        let mut read = EpochRoot::try_deserialize(
            &mut &bytes(&EpochRoot {
                proposals: [Proposal::default(); MAX_ORACLES],
                ..sample()
            })[..],
        )
        .unwrap();
        read.read_in_place(&data).unwrap();
        // Then it is exactly what try_deserialize reads
        let expected = EpochRoot::try_deserialize(&mut &data[..]).unwrap();
        assert_eq!(bytes(&read), bytes(&expected));
        assert_eq!(bytes(&read), bytes(&sample()));
    }

    #[test]
    fn read_in_place_refuses_other_data() {
        let mut e = sample();
        let data = bytes(&sample());
        let mut wrong = data.clone();
        wrong[0] ^= 1;
        assert!(e.read_in_place(&wrong).is_err());
        assert!(e.read_in_place(&data[..4]).is_err());
        assert!(e.read_in_place(&data[..EpochRoot::SIZE - 1]).is_err());
    }

    #[test]
    fn votes_count_only_identical_proposals() {
        let mut e = sample();
        let p = Proposal {
            submitted: true,
            root: [1; 32],
            cumulative_total: 5,
            multipliers_hash: [2; 32],
        };
        e.proposals = [Proposal::default(); MAX_ORACLES];
        e.proposals[0] = p;
        e.proposals[1] = Proposal {
            multipliers_hash: [3; 32],
            ..p
        };
        e.proposals[2] = Proposal {
            cumulative_total: 6,
            ..p
        };
        e.proposals[3] = Proposal { root: [4; 32], ..p };
        e.proposals[4] = p;
        // an unsubmitted slot with equal fields is no vote
        e.proposals[5] = Proposal {
            submitted: false,
            ..p
        };
        assert_eq!(e.votes_for(&p), 2);
    }
}
