//! The closing report: every number read from PostgreSQL, printed beside the SQL that
//! produced it, plus the few that come from elsewhere (the gateways' outboxes, the chain),
//! each saying where.

use depin_sdk::Pubkey;
use tokio_postgres::SimpleQueryMessage;

use crate::error::DemoError;
use crate::fleet::CITIES;
use crate::sim::Demo;

/// One query and its result, as text.
#[derive(Debug, Clone)]
pub struct Section {
    /// What it shows.
    pub title: String,
    /// The SQL, exactly as run.
    pub sql: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, every value as PostgreSQL prints it (`NULL` as empty).
    pub rows: Vec<Vec<String>>,
}

impl Section {
    /// The section as text: title, SQL, then an aligned table.
    pub fn render(&self) -> String {
        let mut out = format!("── {}\n", self.title);
        for line in self.sql.lines() {
            out.push_str(&format!("   {}\n", line.trim_end()));
        }
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.len()).collect();
        for row in &self.rows {
            for (i, v) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(v.chars().count());
                }
            }
        }
        let line = |values: &[String]| {
            let cells: Vec<String> = values
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            format!("   │ {}\n", cells.join(" │ "))
        };
        out.push_str(&line(&self.columns));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        if self.rows.is_empty() {
            out.push_str("   (no rows)\n");
        }
        out
    }

    /// The value in column `column` of row `row`, if any.
    pub fn value(&self, row: usize, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.rows.get(row)?.get(i).map(String::as_str)
    }
}

/// Runs `sql` and keeps its result as text.
pub async fn section(
    db: &tokio_postgres::Client,
    title: &str,
    sql: &str,
) -> Result<Section, DemoError> {
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for message in db.simple_query(sql).await? {
        if let SimpleQueryMessage::Row(row) = message {
            if columns.is_empty() {
                columns = row.columns().iter().map(|c| c.name().to_string()).collect();
            }
            rows.push(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("").to_string())
                    .collect(),
            );
        }
    }
    Ok(Section {
        title: title.into(),
        sql: sql.into(),
        columns,
        rows,
    })
}

/// Writes the demo's own table, `demo_fleet`: which city, gateway and fault the demo gave
/// each device (the one table the report reads that the suite does not write).
pub async fn write_fleet_table(demo: &Demo) -> Result<(), DemoError> {
    let Some(off) = &demo.off_chain else {
        return Ok(());
    };
    off.db
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS demo_fleet (
                device TEXT PRIMARY KEY, kind TEXT NOT NULL, city TEXT NOT NULL,
                region TEXT NOT NULL, gateway TEXT NOT NULL, fault TEXT)",
        )
        .await?;
    let policy = depin_auditor::regions::RegionPolicy::default();
    for network in &demo.fleet.networks {
        for d in &network.devices {
            let region =
                depin_auditor::regions::region_of(&format!("{:x}", d.cell), policy.resolution)?;
            let fault = d
                .fault
                .filter(|f| f.from_epoch() < demo.epochs_run)
                .map(|f| f.name().to_string());
            off.db
                .execute(
                    "INSERT INTO demo_fleet VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (device) DO UPDATE SET fault = EXCLUDED.fault",
                    &[
                        &d.account.to_string(),
                        &network.kind.name(),
                        &CITIES[d.city % CITIES.len()].0,
                        &format!("{region:x}"),
                        &demo.fleet.gateways[d.gateway].name,
                        &fault,
                    ],
                )
                .await?;
        }
    }
    Ok(())
}

/// The queries of the report, in order.
pub const QUERIES: [(&str, &str); 11] = [
    (
        "Reward roots per network and epoch (finalized by the oracles, claimed by operators)",
        "SELECT n.kind, e.epoch, e.votes, e.finalized, e.cumulative_total, e.claimed, e.claims
FROM reward_epochs e
JOIN rewards_rewards_initialized r ON r.config = e.config
JOIN networks n ON n.network = r.network
ORDER BY n.kind, e.epoch",
    ),
    (
        "Rewards per operator (claims as indexed)",
        "SELECT n.kind, left(c.owner, 8) AS operator, count(DISTINCT c.device) AS devices,
       count(*) AS claims, sum(c.amount) AS paid
FROM rewards_rewards_claimed c
JOIN rewards_rewards_initialized r ON r.config = c.config
JOIN networks n ON n.network = r.network
GROUP BY n.kind, c.owner ORDER BY n.kind, paid DESC",
    ),
    (
        "Wireless rewards per region, with the last epoch's multiplier",
        "SELECT f.city, f.region, count(DISTINCT c.device) AS devices, sum(c.amount) AS paid,
       round(sum(c.amount) / count(DISTINCT c.device)) AS per_device,
       (SELECT m.multiplier_bps FROM region_multipliers m
         WHERE m.region = f.region ORDER BY m.epoch DESC LIMIT 1) AS last_bps
FROM rewards_rewards_claimed c JOIN demo_fleet f ON f.device = c.device
WHERE f.kind = 'wireless'
GROUP BY f.city, f.region ORDER BY per_device DESC",
    ),
    (
        "Flagged and suspended devices, with the auditor's reason (and the fault the demo gave them)",
        "SELECT f.kind, left(a.device, 8) AS device, f.fault AS made_faulty, a.outcome,
       a.explanation
FROM audit_actions a JOIN demo_fleet f ON f.device = a.device
ORDER BY f.kind, a.id",
    ),
    (
        "Outbox deliveries per gateway (each reading stored once, none twice)",
        "SELECT gateway, count(*) AS readings,
       count(DISTINCT (device_key, counter)) AS distinct_readings,
       count(DISTINCT device) AS devices, max(counter) AS last_counter
FROM telemetry GROUP BY gateway ORDER BY gateway",
    ),
    (
        "Energy traded per interval: clearing price (quote base units per kWh) and volume",
        "SELECT interval_index, status, asks, bids, clearing_price, volume_wh, delivered_wh
FROM energy_intervals ORDER BY interval_index",
    ),
    (
        "Energy settlement per side: producers paid (less the grid fee), consumers charged and refunded",
        "SELECT side, count(*) AS orders, sum(delivered_wh) AS delivered_wh, sum(amount) AS amount,
       sum(fee) AS grid_fee, sum(refund) AS refunded
FROM energy_order_settled GROUP BY side ORDER BY side",
    ),
    (
        "Storage deals: periods proven, provider paid, protocol fees, collateral returned",
        "SELECT left(deal, 8) AS deal, left(provider_device, 8) AS provider_device, status,
       num_chunks, periods, proven_periods, faults, provider_paid, protocol_fees,
       collateral_returned
FROM deals ORDER BY deal_id",
    ),
    (
        "Storage proofs: every proof accepted on chain, per deal and period",
        "SELECT left(p.deal, 8) AS deal, p.period, p.answered, p.proven, p.provider_paid,
       c.challenge_slot
FROM storage_proof_accepted p
JOIN storage_challenge_opened c ON c.deal = p.deal AND c.period = p.period
ORDER BY p.deal, p.period, p.answered",
    ),
    (
        "Telemetry per network (what the oracles paid from)",
        "SELECT kind, count(*) AS reports, count(DISTINCT device) AS devices,
       sum(bytes_served) AS bytes, sum(proofs_answered) AS proofs, sum(produced_wh) AS wh
FROM telemetry GROUP BY kind ORDER BY kind",
    ),
    (
        "Indexer: rows written, slot reached, event rows per second since the first slot",
        "SELECT (SELECT count(*) FROM events) AS event_rows,
       (SELECT count(*) FROM indexed_transactions) AS transactions,
       (SELECT max(slot) FROM indexer_checkpoint) AS indexed_slot,
       round((SELECT count(*) FROM events)
         / greatest(extract(epoch FROM max(updated_at) - min(updated_at)), 1)::numeric, 1)
         AS event_rows_per_sec
FROM slots",
    ),
];

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// The SQL sections, in order.
    pub sections: Vec<Section>,
    /// Lines not from SQL, each saying where it came from.
    pub notes: Vec<String>,
}

impl Report {
    /// The report as text.
    pub fn render(&self) -> String {
        let mut out = if self.sections.is_empty() {
            String::from("\n════ Report ════\n")
        } else {
            String::from("\n════ Report (read from PostgreSQL; the SQL above each result) ════\n")
        };
        for s in &self.sections {
            out.push_str(&s.render());
        }
        for n in &self.notes {
            out.push_str(&format!("── {n}\n"));
        }
        out
    }
}

/// Reads the report.
pub async fn read(demo: &Demo) -> Result<Report, DemoError> {
    let mut notes = Vec::new();
    let slot = demo
        .client
        .rpc()
        .get_slot()
        .await
        .map_err(|e| DemoError::Data(format!("getSlot: {e}")))?;
    let Some(off) = &demo.off_chain else {
        notes.push(format!(
            "the localnet is at slot {slot} (getSlot); no PostgreSQL, so no SQL report"
        ));
        return Ok(Report {
            sections: Vec::new(),
            notes,
        });
    };
    write_fleet_table(demo).await?;
    let mut sections = Vec::new();
    for (title, sql) in QUERIES {
        sections.push(section(&off.db, title, sql).await?);
    }
    if let Some(indexed) = sections
        .last()
        .and_then(|s| s.value(0, "indexed_slot"))
        .and_then(|v| v.parse::<u64>().ok())
    {
        notes.push(format!(
            "indexer lag: the localnet is at slot {slot} (JSON-RPC getSlot, confirmed), the indexer's checkpoint at {indexed}: {} slots behind",
            slot.saturating_sub(indexed)
        ));
    }
    for g in &demo.fleet.gateways {
        if g.interrupted > 0 {
            notes.push(format!(
                "from the outbox of {} (redb on disk): {} readings signed, {} accepted, {} dead letters, {} pending, {} deliveries interrupted by the cut",
                g.name,
                g.recorded,
                g.accepted,
                g.dead,
                g.outbox.pending_len()?,
                g.interrupted
            ));
        }
    }
    Ok(Report { sections, notes })
}

/// Short form of an address for the report.
pub fn short(key: &Pubkey) -> String {
    key.to_string().chars().take(8).collect()
}
