//! The energy network's market in real time: producers' meters offer their surplus and
//! neighbours' meters bid for it, interval after interval (a few seconds each on the
//! localnet's clock); each interval is cleared at one price by the on-chain double auction,
//! the meters sign what they produced and consumed, and every order is settled (producers
//! paid for what they delivered, less the grid fee; consumers refunded what they did not
//! take).

use depin_sdk::accounts::decode_interval;
use depin_sdk::client::{expect_landed, Client};
use depin_sdk::energy::{
    self, InitializeEnergyMarketArgs, MeterSigner, OrderRef, PlaceAskArgs, PlaceBidArgs,
    QuoteToken, Reading, Side,
};
use depin_sdk::{pda, Pubkey};
use depin_tests::{Keypair, Signer};

use crate::error::DemoError;
use crate::fleet::{landed_all, FleetNetwork};

/// Length of a market interval, in seconds of the chain's clock.
pub const INTERVAL_SECS: u64 = 4;
/// Orders close this long before their interval starts.
pub const GATE_CLOSURE_SECS: u64 = 1;
/// Quote tokens (6 decimals) each consumer's operator is given for its bids.
pub const CONSUMER_FUNDS: u64 = 1_000_000_000;

/// One meter trading on the market.
pub struct Trader {
    /// Its `Device` account.
    pub device: Pubkey,
    /// Its device key (signs its readings).
    pub key: Keypair,
    /// Its owner's wallet (signs its orders).
    pub owner: Keypair,
    /// Watt-hours it offers (producer) or wants (consumer) per interval.
    pub wh: u64,
    /// Its price (producer: ask, consumer: limit), quote base units per kWh.
    pub price: u64,
}

/// One interval's outcome, as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    /// The interval's index.
    pub index: u64,
    /// The uniform clearing price, quote base units per kWh.
    pub clearing_price: u64,
    /// Watt-hours matched.
    pub volume_wh: u64,
    /// Watt-hours delivered, after settlement.
    pub delivered_wh: u64,
}

/// The energy market of the fleet's energy network.
pub struct Market {
    /// The energy network.
    pub network: Pubkey,
    /// The quote token (a stablecoin of the demo).
    pub quote: QuoteToken,
    /// The market's treasury in the quote token (grid fees).
    pub treasury: Pubkey,
    /// The producers (all owned by one operator).
    pub producers: Vec<Trader>,
    /// The consumers (all owned by another).
    pub consumers: Vec<Trader>,
    /// Where the consumers' operator's bids are paid from.
    pub consumer_funds: Pubkey,
    /// The intervals run so far.
    pub cleared: Vec<Cleared>,
    counter: u64,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Market {
    /// Opens the market of `network` (an energy network with at least two operators):
    /// a quote mint, the treasury, funds for the consumers. Producers are up to four of the
    /// first operator's healthy meters, consumers up to four of the second's.
    pub async fn open(client: &Client, network: &FleetNetwork) -> Result<Market, DemoError> {
        let step = |s: &str| format!("energy market: {s}");
        let mint_authority = Keypair::new();
        let mint = client
            .create_mint(&mint_authority.pubkey(), 6)
            .await
            .map_err(DemoError::chain(step("quote mint")))?;
        let quote = QuoteToken {
            mint,
            token_program: network.net.token.token_program,
        };
        let net = &network.net;
        let treasury = client
            .create_token_account(&mint, &net.treasury_owner)
            .await
            .map_err(DemoError::chain(step("treasury")))?;
        let init = energy::initialize_energy_market(
            &client.payer(),
            &net.authority.pubkey(),
            &net.network,
            &quote,
            &net.treasury,
            &treasury,
            InitializeEnergyMarketArgs {
                interval_secs: INTERVAL_SECS,
                gate_closure_secs: GATE_CLOSURE_SECS,
                settlement_delay_secs: 2,
                max_orders_per_interval: 32,
                grid_fee_bps: 200,
                price_floor: 1,
                price_cap: 1_000_000,
            },
        );
        expect_landed(
            client
                .send(&[init], &[&net.authority])
                .await
                .map_err(DemoError::chain(step("create")))?,
        )
        .map_err(DemoError::chain(step("create")))?;
        let traders = |operator: usize, base_price: u64, base_wh: u64| -> Vec<Trader> {
            network
                .devices
                .iter()
                .filter(|d| d.operator == operator && d.fault.is_none())
                .take(4)
                .enumerate()
                .map(|(i, d)| Trader {
                    device: d.account,
                    key: d.key.insecure_clone(),
                    owner: network.operators[d.operator].wallet.insecure_clone(),
                    wh: base_wh + 250 * i as u64,
                    price: base_price + 10_000 * i as u64,
                })
                .collect()
        };
        // producers ask 90-120 thousandths per kWh, consumers bid up to 100-130
        let producers = traders(0, 90_000, 1_000);
        let consumers = traders(1, 100_000, 1_200);
        let consumer_owner = network
            .operators
            .get(1)
            .ok_or_else(|| DemoError::Data("the energy network needs two operators".into()))?
            .wallet
            .pubkey();
        let consumer_funds = client
            .create_token_account(&mint, &consumer_owner)
            .await
            .map_err(DemoError::chain(step("consumer funds")))?;
        client
            .mint_to(&mint, &consumer_funds, &mint_authority, CONSUMER_FUNDS)
            .await
            .map_err(DemoError::chain(step("fund consumers")))?;
        Ok(Market {
            network: net.network,
            quote,
            treasury,
            producers,
            consumers,
            consumer_funds,
            cleared: Vec::new(),
            counter: 0,
        })
    }

    /// Runs `intervals` consecutive intervals: orders, clearing, readings, settlement.
    pub async fn run(
        &mut self,
        client: &Client,
        intervals: u64,
        progress: &crate::progress::Progress,
    ) -> Result<(), DemoError> {
        let first = unix_now() / INTERVAL_SECS + 2;
        let ks: Vec<u64> = (first..first + intervals).collect();
        // every order of every interval, placed at once
        let mut groups = Vec::new();
        for k in &ks {
            for p in &self.producers {
                groups.push(vec![energy::place_ask(
                    &p.owner.pubkey(),
                    &self.network,
                    &p.device,
                    PlaceAskArgs {
                        interval: *k,
                        price: p.price,
                        wh: p.wh,
                    },
                )]);
            }
            for c in &self.consumers {
                groups.push(vec![energy::place_bid(
                    &c.owner.pubkey(),
                    &self.network,
                    &c.device,
                    &self.quote,
                    &self.consumer_funds,
                    PlaceBidArgs {
                        interval: *k,
                        limit: c.price,
                        wh: c.wh,
                    },
                )]);
            }
        }
        // producers all belong to the first operator, consumers to the second
        let owners: Vec<&Keypair> = self
            .producers
            .first()
            .into_iter()
            .chain(self.consumers.first())
            .map(|t| &t.owner)
            .collect();
        landed_all(
            client
                .send_packed(groups, &owners, Vec::new())
                .await
                .map_err(DemoError::chain("energy market: orders"))?,
            "energy market: orders",
        )?;
        progress.detail(format!(
            "energy market: {} asks and {} bids placed for each of intervals {}..={} ({} s each, on the chain's clock)",
            self.producers.len(),
            self.consumers.len(),
            first,
            first + intervals.saturating_sub(1),
            INTERVAL_SECS
        ));
        for k in ks {
            let start = k * INTERVAL_SECS;
            let gate = i64::try_from(start - GATE_CLOSURE_SECS).unwrap_or(i64::MAX);
            crate::clock::until(client, gate, &format!("energy market: clear {k}")).await?;
            expect_landed(
                client
                    .send(&[energy::clear_interval(&self.network, k)], &[])
                    .await
                    .map_err(DemoError::chain(format!("energy market: clear {k}")))?,
            )
            .map_err(DemoError::chain(format!("energy market: clear {k}")))?;
            let ended = i64::try_from(start + INTERVAL_SECS).unwrap_or(i64::MAX);
            crate::clock::until(client, ended, &format!("energy market: readings of {k}")).await?;
            // the meters sign what happened: producers deliver 90% of their offer
            self.counter += 1;
            let mut readings = Vec::new();
            for (t, produced) in self
                .producers
                .iter()
                .map(|p| (p, p.wh * 9 / 10))
                .chain(self.consumers.iter().map(|c| (c, 0)))
            {
                let meter = MeterSigner {
                    key: &t.key,
                    device: t.device,
                    network: self.network,
                };
                let consumed = if produced == 0 { t.wh } else { 0 };
                readings.push(
                    meter
                        .reading_instructions(
                            &client.payer(),
                            &Reading {
                                interval: k,
                                produced_wh: produced,
                                consumed_wh: consumed,
                                counter: self.counter,
                            },
                        )
                        .to_vec(),
                );
            }
            landed_all(
                client
                    .send_packed(readings, &[], Vec::new())
                    .await
                    .map_err(DemoError::chain(format!("energy market: readings {k}")))?,
                &format!("energy market: readings of interval {k}"),
            )?;
            // settlement of every order
            let mut settle = Vec::new();
            for (side, traders) in [(Side::Ask, &self.producers), (Side::Bid, &self.consumers)] {
                for (slot, t) in traders.iter().enumerate() {
                    settle.push(
                        energy::settle_order_instructions(
                            &client.payer(),
                            &self.network,
                            &self.quote,
                            &self.treasury,
                            &t.device,
                            &t.owner.pubkey(),
                            OrderRef {
                                interval: k,
                                side,
                                slot: u8::try_from(slot).unwrap_or(u8::MAX),
                            },
                        )
                        .to_vec(),
                    );
                }
            }
            landed_all(
                client
                    .send_packed(settle, &[], Vec::new())
                    .await
                    .map_err(DemoError::chain(format!("energy market: settle {k}")))?,
                &format!("energy market: settlement of interval {k}"),
            )?;
            let market = pda::energy_market(&self.network).0;
            let data = client
                .rpc()
                .get_account_data(&pda::interval(&market, k).0)
                .await
                .map_err(|e| DemoError::Data(format!("interval {k}: {e}")))?;
            let book = decode_interval(&data)
                .map_err(|e| DemoError::Data(format!("interval {k}: {e:?}")))?;
            progress.detail(format!(
                "energy interval {k}: {} asks, {} bids, cleared {} Wh at {} per kWh, {} Wh delivered and settled",
                self.producers.len(),
                self.consumers.len(),
                book.volume_wh,
                book.clearing_price,
                book.delivered_wh
            ));
            self.cleared.push(Cleared {
                index: k,
                clearing_price: book.clearing_price,
                volume_wh: book.volume_wh,
                delivered_wh: book.delivered_wh,
            });
        }
        Ok(())
    }
}
