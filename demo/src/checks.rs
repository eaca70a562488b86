//! The report checked against the chain: what was paid against the finalized roots, what was
//! flagged against what was made faulty, what the telemetry table holds against what the
//! gateways' outboxes signed.

use std::collections::{BTreeMap, BTreeSet};

use depin_sdk::accounts::{Claimed, Device, DeviceStatus, EpochRoot};
use depin_sdk::{pda, Pubkey};
use depin_tests::Signer;

use crate::error::DemoError;
use crate::sim::Demo;

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it holds.
    pub ok: bool,
    /// The numbers behind it.
    pub detail: String,
}

impl Check {
    fn new(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        }
    }
}

async fn account<T: anchor_decode::Decode>(demo: &Demo, key: &Pubkey) -> Result<T, DemoError> {
    let data = demo
        .client
        .rpc()
        .get_account_data(key)
        .await
        .map_err(|e| DemoError::Data(format!("account {key}: {e}")))?;
    T::decode(&data)
}

/// Decoding of the suite's accounts, through the SDK.
mod anchor_decode {
    use crate::error::DemoError;

    /// An account type the SDK decodes.
    pub trait Decode: Sized {
        /// Decodes account data.
        fn decode(data: &[u8]) -> Result<Self, DemoError>;
    }

    macro_rules! decode {
        ($($t:ty),*) => {$(
            impl Decode for $t {
                fn decode(data: &[u8]) -> Result<Self, DemoError> {
                    depin_sdk::accounts::decode(data)
                        .map_err(|e| DemoError::Data(format!("decode: {e:?}")))
                }
            }
        )*};
    }
    decode!(
        depin_sdk::accounts::Claimed,
        depin_sdk::accounts::Device,
        depin_sdk::accounts::EpochRoot
    );
}

async fn balance(demo: &Demo, account: &Pubkey) -> Result<u64, DemoError> {
    demo.client
        .rpc()
        .get_token_account_balance(account)
        .await
        .map_err(|e| DemoError::Data(format!("balance of {account}: {e}")))?
        .amount
        .parse()
        .map_err(|e| DemoError::Data(format!("balance of {account}: {e}")))
}

/// Every check (the PostgreSQL ones only when it is there).
pub async fn run(demo: &Demo) -> Result<Vec<Check>, DemoError> {
    let mut checks = Vec::new();
    rewards(demo, &mut checks).await?;
    if demo.off_chain.is_some() {
        flagged(demo, &mut checks).await?;
        outboxes(demo, &mut checks).await?;
        energy(demo, &mut checks).await?;
        storage(demo, &mut checks).await?;
    }
    Ok(checks)
}

/// Rewards: the final roots are the oracles', each device's claims equal its amount in the
/// root it claimed against, each operator's balance is the sum of its devices' claims, and
/// the indexed claims add up to the balances.
async fn rewards(demo: &Demo, checks: &mut Vec<Check>) -> Result<(), DemoError> {
    for (network, ledger) in demo.fleet.networks.iter().zip(&demo.ledgers) {
        let name = network.kind.name();
        let config = pda::rewards_config(&network.net.network).0;
        let Some((epoch, root, total)) = ledger.last_root else {
            continue;
        };
        let on_chain: EpochRoot = account(demo, &pda::epoch_root(&config, epoch).0).await?;
        checks.push(Check::new(
            format!("{name}: epoch {epoch}'s root on chain is the oracles' and finalized"),
            on_chain.finalized && on_chain.root == root && on_chain.cumulative_total == total,
            format!("cumulative total {total}"),
        ));
        // every device: what the chain says it claimed is what its rows paid
        let rows: BTreeMap<Pubkey, u64> = ledger
            .rows
            .iter()
            .map(|r| (r.device, r.cumulative_amount))
            .collect();
        let mut mismatched = Vec::new();
        let mut per_operator = vec![0u64; network.operators.len()];
        for d in &network.devices {
            let expected = ledger.claimed.get(&d.account).copied();
            let claimed = match expected {
                Some(_) => {
                    let c: Claimed = account(demo, &pda::claimed(&config, &d.account).0).await?;
                    Some(c.total_claimed)
                }
                None => None,
            };
            let active = !ledger.suspended.contains_key(&d.account);
            // an active device has claimed all its final row; a suspended one what it had
            // before its suspension
            let fine = claimed == expected
                && (!active || claimed.unwrap_or(0) == rows.get(&d.account).copied().unwrap_or(0));
            if !fine {
                mismatched.push(format!(
                    "{}: claimed {claimed:?}, expected {expected:?}, row {:?}",
                    d.account,
                    rows.get(&d.account)
                ));
            }
            per_operator[d.operator] += claimed.unwrap_or(0);
        }
        checks.push(Check::new(
            format!(
                "{name}: every device's claims on chain equal its amount in the finalized root"
            ),
            mismatched.is_empty(),
            if mismatched.is_empty() {
                format!("{} devices", network.devices.len())
            } else {
                mismatched.join("; ")
            },
        ));
        let mut balances = Vec::new();
        for (o, recipient) in network.recipients.iter().enumerate() {
            balances.push(balance(demo, recipient).await?);
            let _ = o;
        }
        checks.push(Check::new(
            format!("{name}: each operator's reward balance is the sum of its devices' claims"),
            balances == per_operator,
            format!("balances {balances:?}, claims {per_operator:?}"),
        ));
        if let Some(off) = &demo.off_chain {
            let mut indexed = Vec::new();
            for op in &network.operators {
                let row = off
                    .db
                    .query_one(
                        "SELECT COALESCE(sum(amount), 0)::TEXT FROM rewards_rewards_claimed
                         WHERE config = $1 AND owner = $2",
                        &[&config.to_string(), &op.wallet.pubkey().to_string()],
                    )
                    .await?;
                let paid: u64 = row
                    .get::<_, &str>(0)
                    .parse()
                    .map_err(|e| DemoError::Data(format!("indexed claims: {e}")))?;
                indexed.push(paid);
            }
            checks.push(Check::new(
                format!("{name}: the indexed claims per operator equal the token balances"),
                indexed == balances,
                format!("indexed {indexed:?}"),
            ));
        }
    }
    Ok(())
}

/// The devices the auditor suspended are exactly those made faulty, and the chain has them
/// suspended by the auditor.
async fn flagged(demo: &Demo, checks: &mut Vec<Check>) -> Result<(), DemoError> {
    let Some(off) = &demo.off_chain else {
        return Ok(());
    };
    let faulty: BTreeSet<String> = demo
        .fleet
        .networks
        .iter()
        .flat_map(|n| &n.devices)
        .filter(|d| d.fault.is_some_and(|f| f.from_epoch() < demo.epochs_run))
        .map(|d| d.account.to_string())
        .collect();
    let suspended: BTreeSet<String> = off
        .db
        .query(
            "SELECT device FROM audit_actions WHERE action = 'suspend' AND outcome = 'landed'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let outcomes: Vec<String> = off
        .db
        .query(
            "SELECT device, outcome FROM audit_actions WHERE outcome <> 'landed'",
            &[],
        )
        .await?
        .iter()
        .map(|r| format!("{}: {}", r.get::<_, &str>(0), r.get::<_, &str>(1)))
        .collect();
    let missed: Vec<&String> = faulty.difference(&suspended).collect();
    let wrong: Vec<&String> = suspended.difference(&faulty).collect();
    checks.push(Check::new(
        "the devices the auditor suspended are exactly the ones made faulty",
        faulty == suspended,
        format!(
            "{} faulty, {} suspended; missed {missed:?}, wrongly {wrong:?}, actions not landed {outcomes:?}",
            faulty.len(),
            suspended.len()
        ),
    ));
    let mut not_suspended = Vec::new();
    for network in &demo.fleet.networks {
        for d in network
            .devices
            .iter()
            .filter(|d| suspended.contains(&d.account.to_string()))
        {
            let device: Device = account(demo, &d.account).await?;
            if device.status != DeviceStatus::SuspendedByAuditor {
                not_suspended.push(d.account.to_string());
            }
        }
    }
    checks.push(Check::new(
        "each of them is suspended by the auditor on chain",
        not_suspended.is_empty(),
        not_suspended.join(", "),
    ));
    Ok(())
}

/// Each gateway's readings are in the telemetry table once: what it signed is what the
/// service stored plus what it refused for good, nothing pending, no reading twice.
async fn outboxes(demo: &Demo, checks: &mut Vec<Check>) -> Result<(), DemoError> {
    let Some(off) = &demo.off_chain else {
        return Ok(());
    };
    let cut = demo.fleet.cut_gateway();
    let mut wrong = Vec::new();
    for (g, gateway) in demo.fleet.gateways.iter().enumerate() {
        let row = off
            .db
            .query_one(
                "SELECT count(*), count(DISTINCT (device_key, counter)) FROM telemetry
                 WHERE gateway = $1",
                &[&gateway.name],
            )
            .await?;
        let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
        let rows = u64::try_from(rows).unwrap_or(0);
        let pending = gateway.outbox.pending_len()?;
        let dead = gateway.outbox.dead_letters()?.len() as u64;
        let fine = rows == gateway.accepted
            && rows == u64::try_from(distinct).unwrap_or(0)
            && rows + dead == gateway.recorded
            && pending == 0;
        if !fine {
            wrong.push(format!(
                "{}: {rows} rows ({distinct} distinct), {} accepted, {dead} dead, {} signed, {pending} pending",
                gateway.name, gateway.accepted, gateway.recorded
            ));
        }
        if g == cut {
            checks.push(Check::new(
                format!(
                    "{}: its uplink was cut and its outbox delivered every reading exactly once afterwards",
                    gateway.name
                ),
                fine && gateway.interrupted > 0,
                format!(
                    "{} signed, {rows} stored once each, {dead} refused, {} deliveries interrupted",
                    gateway.recorded, gateway.interrupted
                ),
            ));
        }
    }
    checks.push(Check::new(
        "every gateway: telemetry rows = readings signed - dead letters, none twice, none pending",
        wrong.is_empty(),
        wrong.join("; "),
    ));
    Ok(())
}

async fn sum(db: &tokio_postgres::Client, sql: &str) -> Result<u64, DemoError> {
    let row = db.query_one(sql, &[]).await?;
    row.get::<_, &str>(0)
        .parse()
        .map_err(|e| DemoError::Data(format!("`{sql}`: {e}")))
}

/// Every energy payment equals the settlement: the producers' operator holds what the
/// asks were paid, the consumers' operator paid the bids' escrow and got their refunds, the
/// market's treasury holds the grid fees; and every interval run is indexed as settled.
async fn energy(demo: &Demo, checks: &mut Vec<Check>) -> Result<(), DemoError> {
    let (Some(off), Some((_, market))) = (&demo.off_chain, &demo.market) else {
        return Ok(());
    };
    let (Some(producer), Some(consumer)) = (market.producers.first(), market.consumers.first())
    else {
        return Ok(());
    };
    let paid = sum(
        &off.db,
        "SELECT COALESCE(sum(amount), 0)::TEXT FROM energy_order_settled WHERE side = 'ask'",
    )
    .await?;
    let fees = sum(
        &off.db,
        "SELECT COALESCE(sum(fee), 0)::TEXT FROM energy_order_settled",
    )
    .await?;
    let refunds = sum(
        &off.db,
        "SELECT COALESCE(sum(refund), 0)::TEXT FROM energy_order_settled WHERE side = 'bid'",
    )
    .await?;
    let escrow = sum(
        &off.db,
        "SELECT COALESCE(sum(escrow), 0)::TEXT FROM energy_order_placed WHERE side = 'bid'",
    )
    .await?;
    let producer_balance = balance(
        demo,
        &depin_sdk::energy::quote_account(&producer.owner.pubkey(), &market.quote),
    )
    .await?;
    let consumer_refunds = balance(
        demo,
        &depin_sdk::energy::quote_account(&consumer.owner.pubkey(), &market.quote),
    )
    .await?;
    let funds = balance(demo, &market.consumer_funds).await?;
    let treasury = balance(demo, &market.treasury).await?;
    let spent = crate::market::CONSUMER_FUNDS.saturating_sub(funds);
    checks.push(Check::new(
        "energy: every payment equals the settlement (producers, consumers, grid fee)",
        producer_balance == paid
            && consumer_refunds == refunds
            && spent == escrow
            && treasury == fees
            && paid > 0,
        format!(
            "producers hold {producer_balance} (settled {paid}), consumers escrowed {spent} (placed {escrow}) and were refunded {consumer_refunds} (settled {refunds}), treasury {treasury} (fees {fees})"
        ),
    ));
    let settled: i64 = off
        .db
        .query_one("SELECT count(*) FROM energy_interval_settled", &[])
        .await?
        .get(0);
    checks.push(Check::new(
        "energy: every interval run is cleared and settled, as indexed",
        usize::try_from(settled).unwrap_or(0) == market.cleared.len()
            && market.cleared.iter().all(|c| c.volume_wh > 0),
        format!(
            "{} intervals, {settled} settled in PostgreSQL",
            market.cleared.len()
        ),
    ));
    Ok(())
}

/// Every proof and deal on chain is a row: each deal's periods proven on chain are its
/// indexed proofs, the provider holds what the indexed deals paid it plus its collateral
/// back, and the treasury the protocol fees.
async fn storage(demo: &Demo, checks: &mut Vec<Check>) -> Result<(), DemoError> {
    let (Some(off), Some((_, deals))) = (&demo.off_chain, &demo.deals) else {
        return Ok(());
    };
    let mut wrong = Vec::new();
    for d in &deals.deals {
        // a completed deal's account is closed: its proven periods were read back from it
        // after each period (`StoredDeal::proven`)
        let closed = demo.client.rpc().get_account_data(&d.deal).await.is_err();
        let proven_on_chain = i64::from(d.proven);
        let row = off
            .db
            .query_one(
                "SELECT (SELECT count(*) FROM storage_proof_accepted WHERE deal = $1 AND proven),
                        (SELECT proven_periods FROM deals WHERE deal = $1),
                        (SELECT status FROM deals WHERE deal = $1)",
                &[&d.deal.to_string()],
            )
            .await?;
        let (proofs, proven, status): (i64, Option<i64>, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        if !closed
            || proven_on_chain != i64::from(crate::deals::PERIODS)
            || proofs != proven_on_chain
            || proven != Some(proven_on_chain)
            || status.as_deref() != Some("completed")
        {
            wrong.push(format!(
                "{}: {proven_on_chain} periods proven on chain, {proofs} proving rows, {proven:?} in deals, {status:?}, account closed: {closed}",
                d.deal
            ));
        }
    }
    checks.push(Check::new(
        "storage: every period proven on chain is a proof row, every deal completed and closed",
        wrong.is_empty() && !deals.deals.is_empty(),
        if wrong.is_empty() {
            format!("{} deals", deals.deals.len())
        } else {
            wrong.join("; ")
        },
    ));
    let paid = sum(
        &off.db,
        "SELECT COALESCE(sum(provider_paid), 0)::TEXT FROM deals",
    )
    .await?;
    let fees = sum(
        &off.db,
        "SELECT COALESCE(sum(protocol_fees), 0)::TEXT FROM deals",
    )
    .await?;
    let provider = balance(demo, &deals.provider_pay).await?;
    let treasury = balance(demo, &deals.treasury).await?;
    // the provider started with its funds, put up collateral and got it back
    let earned = provider.saturating_sub(crate::deals::FUNDS);
    checks.push(Check::new(
        "storage: the provider's payments and the protocol fees equal the indexed deals",
        earned == paid && treasury == fees && paid > 0,
        format!("provider earned {earned} (indexed {paid}), treasury {treasury} (fees {fees})"),
    ));
    Ok(())
}
