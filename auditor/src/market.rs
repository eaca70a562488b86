//! Who serves whom: devices whose paying customers are their own operators.
//!
//! A storage deal is paid by a client wallet to the owner of the provider device. An
//! operator who pays his own devices (self-dealing), or a circle of operators who buy from
//! each other's devices and from nobody else, earn the network's rewards for service
//! nobody outside the circle asked for. Their telemetry is healthy (the proofs are real),
//! so the series-based detectors cannot see them; the deal graph does.
//!
//! The graph's vertices are wallets, an edge runs from a deal's client to the provider
//! device's owner, weighted by what the deal pays. A circle that serves each other is a
//! strongly connected component of that graph (a single wallet with an edge to itself
//! included), found with `petgraph`'s Tarjan. A component is flagged when, over the window:
//!
//! - it made at least [`MarketThresholds::min_deals`] deals inside itself, and
//! - at least [`MarketThresholds::inside_share`] of what its devices earned came from its
//!   own wallets.
//!
//! Every device of the component that served one of those inside deals is flagged. Honest
//! operators who also buy storage from each other form components too, but most of their
//! devices' revenue comes from clients outside them, so they stay below the share.
//!
//! What it cannot see: a client wallet that owns no device (a fresh wallet funded by an
//! operator). Nothing the indexer stores links it to its funder, so a deal from it counts
//! as outside revenue.

use std::collections::BTreeMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::Finding;

/// One paid service: a storage deal accepted in the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deal {
    /// The wallet that pays (an index into the caller's wallets).
    pub client: u32,
    /// The device that serves (an index into the caller's devices).
    pub device: u32,
    /// The wallet that owns the device.
    pub owner: u32,
    /// What the deal pays (base units; only ratios matter).
    pub value: f64,
}

/// When a circle of wallets is said to serve only itself.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketThresholds {
    /// Fewest deals inside the circle over the window.
    pub min_deals: usize,
    /// Share of its devices' revenue that came from its own wallets, at or above which it
    /// is flagged.
    pub inside_share: f64,
}

impl Default for MarketThresholds {
    fn default() -> Self {
        MarketThresholds {
            min_deals: 3,
            inside_share: 0.9,
        }
    }
}

#[derive(Default)]
struct Circle {
    wallets: usize,
    inside_deals: usize,
    inside_value: f64,
    revenue: f64,
}

/// The devices that serve a circle of wallets which pays them and nobody else, over the
/// deals of one window, each with its [`Finding::ClosedMarket`]. `names` gives a device's
/// name for the finding (the other devices of its circle, at most ten); deals with a
/// non-finite or negative value are ignored.
pub fn closed_markets(
    deals: &[Deal],
    names: impl Fn(u32) -> String,
    t: &MarketThresholds,
) -> BTreeMap<u32, Finding> {
    let mut graph: DiGraph<u32, f64> = DiGraph::new();
    let mut vertex: BTreeMap<u32, NodeIndex> = BTreeMap::new();
    let mut node = |graph: &mut DiGraph<u32, f64>, wallet: u32| {
        *vertex
            .entry(wallet)
            .or_insert_with(|| graph.add_node(wallet))
    };
    let valid = |d: &&Deal| d.value.is_finite() && d.value >= 0.0;
    for d in deals.iter().filter(valid) {
        let (a, b) = (node(&mut graph, d.client), node(&mut graph, d.owner));
        // parallel edges are fine: the components only need one
        graph.add_edge(a, b, d.value);
    }
    let mut component: BTreeMap<u32, usize> = BTreeMap::new();
    let mut circles: Vec<Circle> = Vec::new();
    for scc in tarjan_scc(&graph) {
        let id = circles.len();
        circles.push(Circle {
            wallets: scc.len(),
            ..Circle::default()
        });
        for v in scc {
            component.insert(graph[v], id);
        }
    }
    let mut served: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for d in deals.iter().filter(valid) {
        let Some(&c) = component.get(&d.owner) else {
            continue;
        };
        let circle = &mut circles[c];
        circle.revenue += d.value;
        if component.get(&d.client) == Some(&c) {
            circle.inside_deals += 1;
            circle.inside_value += d.value;
            served.entry(c).or_default().push(d.device);
        }
    }
    let mut out = BTreeMap::new();
    for (c, mut devices) in served {
        let circle = &circles[c];
        let share = if circle.revenue > 0.0 {
            circle.inside_value / circle.revenue
        } else {
            0.0
        };
        if circle.inside_deals < t.min_deals || share < t.inside_share {
            continue;
        }
        devices.sort_unstable();
        devices.dedup();
        for &device in &devices {
            let with = devices
                .iter()
                .filter(|o| **o != device)
                .take(10)
                .map(|o| names(*o))
                .collect();
            out.insert(
                device,
                Finding::ClosedMarket {
                    wallets: circle.wallets,
                    devices: devices.len(),
                    with,
                    inside_deals: circle.inside_deals,
                    inside_share: share,
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(client: u32, device: u32, owner: u32) -> Deal {
        Deal {
            client,
            device,
            owner,
            value: 100.0,
        }
    }

    fn flagged(deals: &[Deal]) -> Vec<u32> {
        closed_markets(deals, |d| format!("d{d}"), &MarketThresholds::default())
            .into_keys()
            .collect()
    }

    #[test]
    fn an_operator_paying_its_own_device_is_flagged() {
        // Given wallet 1 owning device 7 and buying three deals from it, nobody else
        let deals = vec![deal(1, 7, 1); 3];
        // Then device 7 serves a closed market of one wallet
        let found = closed_markets(&deals, |d| format!("d{d}"), &MarketThresholds::default());
        assert_eq!(found.keys().copied().collect::<Vec<_>>(), vec![7]);
        let Finding::ClosedMarket {
            wallets,
            inside_deals,
            inside_share,
            ..
        } = &found[&7]
        else {
            panic!("{found:?}");
        };
        assert_eq!((*wallets, *inside_deals), (1, 3));
        assert!((inside_share - 1.0).abs() < 1e-12);
        assert!(found[&7].explain().contains("its own operator"));
    }

    #[test]
    fn a_circle_of_operators_buying_from_each_other_only_is_flagged() {
        // Given wallets 1 -> 2 -> 3 -> 1 buying from each other's devices 10, 20, 30
        let deals = vec![
            deal(1, 20, 2),
            deal(2, 30, 3),
            deal(3, 10, 1),
            deal(1, 20, 2),
        ];
        assert_eq!(flagged(&deals), vec![10, 20, 30]);
    }

    #[test]
    fn operators_who_also_serve_outside_clients_are_not_flagged() {
        // Given the same circle, but most of its revenue paid by clients 100..110
        let mut deals = vec![deal(1, 20, 2), deal(2, 30, 3), deal(3, 10, 1)];
        for c in 100..110 {
            deals.push(deal(c, 10 + 10 * (c % 3), 1 + c % 3));
        }
        assert!(flagged(&deals).is_empty());
        // and customers who own no device form no circle at all
        let customers: Vec<Deal> = (100..120).map(|c| deal(c, 7, 1)).collect();
        assert!(flagged(&customers).is_empty());
    }

    #[test]
    fn too_few_inside_deals_and_bad_values_are_not_evidence() {
        // Given two self-deals (below the three required) and a third worth NaN
        let mut deals = vec![deal(1, 7, 1); 2];
        deals.push(Deal {
            value: f64::NAN,
            ..deal(1, 7, 1)
        });
        assert!(flagged(&deals).is_empty());
        // and a negative one does not count either
        deals.push(Deal {
            value: -5.0,
            ..deal(1, 7, 1)
        });
        assert!(flagged(&deals).is_empty());
    }

    #[test]
    fn a_one_way_chain_is_not_a_circle() {
        // Given 1 buys from 2's device, 2 from 3's, 3 from 4's: customers, not a circle
        let deals = vec![deal(1, 20, 2); 3]
            .into_iter()
            .chain(vec![deal(2, 30, 3); 3])
            .chain(vec![deal(3, 40, 4); 3])
            .collect::<Vec<_>>();
        assert!(flagged(&deals).is_empty());
    }
}
