//! The demo's scenario at a small scale (72 devices in three networks, two epochs), checked
//! against the chain: every reward paid equals the finalized roots, every energy payment
//! equals the settlement, every storage proof on chain is a row, the flagged devices are exactly the ones made faulty, and the cut
//! gateway's outbox delivered every reading exactly once, and a device unbonded and bonded
//! again within an epoch earned nothing for it. The report read from PostgreSQL agrees with
//! what the chain and the outboxes say.

#![allow(
    deprecated,
    reason = "solana-program-test 3.x deprecations; see the harness crate doc"
)]

use std::collections::BTreeSet;

use depin_demo::fleet::Kind;
use depin_demo::progress::Progress;
use depin_demo::sim::Demo;
use depin_demo::{checks, report, Scale};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scenario_at_small_scale_matches_the_chain() {
    let scale = Scale::small();
    let mut demo = Demo::start(scale, Progress::new(true))
        .await
        .expect("start");
    assert!(
        demo.off_chain.is_some(),
        "this test needs PostgreSQL: {:?}",
        demo.no_postgres
    );
    demo.run().await.expect("epochs");
    demo.settle_indexer().await.expect("indexer");

    // Then every check against the chain holds
    let checks = checks::run(&demo).await.expect("checks");
    let failed: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    // rewards (4 per network), flagged (2), outboxes (2), energy (2), storage (2)
    assert_eq!(checks.len(), 3 * 4 + 2 + 2 + 2 + 2, "{checks:#?}");

    // And the report says the same: one suspension per faulty device, with its reason
    let report = report::read(&demo).await.expect("report");
    let section = |title: &str| {
        report
            .sections
            .iter()
            .find(|s| s.title.starts_with(title))
            .unwrap_or_else(|| panic!("no section {title}"))
    };
    let flagged = section("Flagged");
    let faulty: BTreeSet<String> = demo
        .fleet
        .networks
        .iter()
        .flat_map(|n| &n.devices)
        .filter(|d| d.fault.is_some())
        .map(|d| d.account.to_string()[..8].to_string())
        .collect();
    let reported: BTreeSet<String> = (0..flagged.rows.len())
        .map(|r| flagged.value(r, "device").expect("device").to_string())
        .collect();
    assert_eq!(reported, faulty);
    assert!((0..flagged.rows.len()).all(|r| flagged.value(r, "outcome") == Some("landed")));
    assert!((0..flagged.rows.len()).any(|r| flagged
        .value(r, "explanation")
        .is_some_and(|e| e.starts_with("inflation: bytes served"))));

    // the outbox section: the cut gateway's readings, once each, as its outbox counted them
    let cut = &demo.fleet.gateways[demo.fleet.cut_gateway()];
    assert!(cut.interrupted > 0);
    let outboxes = section("Outbox deliveries");
    let row = (0..outboxes.rows.len())
        .find(|r| outboxes.value(*r, "gateway") == Some(cut.name.as_str()))
        .expect("the cut gateway's row");
    assert_eq!(
        outboxes.value(row, "readings"),
        Some(cut.accepted.to_string().as_str())
    );
    assert_eq!(
        outboxes.value(row, "readings"),
        outboxes.value(row, "distinct_readings")
    );

    // the roots: two per network, each finalized by both oracles
    let roots = section("Reward roots");
    assert_eq!(roots.rows.len(), 3 * 2);
    assert!((0..roots.rows.len())
        .all(|r| roots.value(r, "finalized") == Some("t") && roots.value(r, "votes") == Some("2")));
    // the energy market: one interval per epoch, each cleared at one price and settled
    let energy = section("Energy traded per interval");
    assert_eq!(energy.rows.len(), 2, "{}", energy.render());
    assert!(
        (0..energy.rows.len()).all(|r| energy.value(r, "status") == Some("settled")
            && energy.value(r, "clearing_price") != Some("0"))
    );

    // the storage deals: each completed with both periods proven, every proof a row
    let deals = section("Storage deals");
    assert_eq!(deals.rows.len(), 3, "{}", deals.render());
    assert!(
        (0..deals.rows.len()).all(|r| deals.value(r, "status") == Some("completed")
            && deals.value(r, "proven_periods") == Some("2")
            && deals.value(r, "faults") == Some("0"))
    );
    let proofs = section("Storage proofs");
    assert_eq!(
        (0..proofs.rows.len())
            .filter(|r| proofs.value(*r, "proven") == Some("t"))
            .count(),
        3 * 2
    );

    // the wireless network paid epoch 1 with region multipliers forecast from epoch 0's
    // usage: the table published in PostgreSQL is the one whose hash the root carries
    let off = demo.off_chain.as_ref().expect("PostgreSQL");
    let w = demo
        .fleet
        .networks
        .iter()
        .position(|n| n.kind == Kind::Wireless)
        .expect("wireless network");
    let wireless = &demo.fleet.networks[w];
    let matched: i64 = off
        .db
        .query_one(
            "SELECT count(*) FROM rewards_root_finalized f
             JOIN region_multiplier_tables t ON t.hash = f.multipliers_hash
             WHERE t.network = $1 AND f.epoch = t.epoch",
            &[&wireless.net.network.to_string()],
        )
        .await
        .expect("query")
        .get(0);
    assert_eq!(matched, 1);

    // the device its operator unbonded and bonded again within the cut epoch earned nothing
    // for that epoch (the last one at this scale), and it is the only device that went
    // without a bond all epoch in any network
    let (epoch, device, before) = demo.ledgers[w].rebonded.expect("a device re-bonded");
    assert_eq!(epoch, demo.cut_epoch());
    assert_eq!(
        epoch + 1,
        scale.epochs,
        "the cut epoch is the last at this scale"
    );
    assert!(before > 0, "it earned in the epochs before");
    let amount = demo.ledgers[w]
        .rows
        .iter()
        .find(|r| r.device == device)
        .map(|r| r.cumulative_amount);
    assert_eq!(amount, Some(before));
    let unbonded: Vec<(u64, _)> = demo
        .ledgers
        .iter()
        .flat_map(|l| l.unbonded.iter().copied())
        .collect();
    assert_eq!(unbonded, vec![(epoch, device)]);

    demo.stop().await.expect("stop");
}
