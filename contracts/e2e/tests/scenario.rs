//! The cross-module scenario as Wasm on pallet-contracts (see `depin_ink_e2e::scenario`).

#[test]
fn register_stake_earn_claim_then_store_then_trade_energy() {
    if let Err(failure) = depin_ink_e2e::scenario::run() {
        panic!("{failure}");
    }
}
