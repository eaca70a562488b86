use anchor_lang::prelude::*;
use device_registry::state::Network;

use super::pack_oracles;
use crate::error::RewardsError;
use crate::events::OraclesSet;
use crate::state::RewardsConfig;

/// Arguments of `set_oracles`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct SetOraclesArgs {
    /// New oracle keys (1 to 11, distinct).
    pub oracles: Vec<Pubkey>,
    /// New quorum (a majority of `oracles`).
    pub quorum: u8,
}

/// Accounts of `set_oracles`. Allowed while paused: replacing a compromised oracle is an
/// incident tool.
#[event_cpi]
#[derive(Accounts)]
pub struct SetOracles<'info> {
    /// The network's authority.
    pub authority: Signer<'info>,
    /// The registry network.
    #[account(has_one = authority @ RewardsError::NotNetworkAuthority)]
    pub network: Account<'info, Network>,
    /// The config to update.
    #[account(mut, dup, has_one = network @ RewardsError::WrongNetwork)]
    pub config: Box<Account<'info, RewardsConfig>>,
}

/// Replaces the oracle set, bumps its version (so pending proposals of the old set stop
/// counting) and emits [`OraclesSet`].
pub fn handler(ctx: Context<SetOracles>, args: SetOraclesArgs) -> Result<()> {
    let packed = pack_oracles(&args.oracles, args.quorum)?;
    let config = &mut ctx.accounts.config;
    config.oracles = packed;
    config.oracle_count =
        u8::try_from(args.oracles.len()).map_err(|_| RewardsError::InvalidOracleSet)?;
    config.quorum = args.quorum;
    config.oracle_set_version = config
        .oracle_set_version
        .checked_add(1)
        .ok_or(RewardsError::MathOverflow)?;
    emit_cpi!(OraclesSet {
        config: config.key(),
        oracles: args.oracles,
        quorum: args.quorum,
        oracle_set_version: config.oracle_set_version,
    });
    Ok(())
}
