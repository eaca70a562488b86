//! # Energy settlement (ink!)
//!
//! Peer-to-peer energy between the registered meters of one Energy network, settled per
//! market interval in the chain's native token. Producers place asks of at most what their
//! meter can deliver in one interval (its registered panel's peak output over the interval
//! plus a full battery), consumers place bids that escrow `ceil(limit x Wh / 1000)`; at
//! gate closure anyone clears the interval with the uniform-price double auction; meters
//! report signed readings; after the interval each order settles: producers are paid for
//! what they delivered (less the grid fee), consumers pay their pro-rata share of what was
//! delivered and get the rest of their escrow back.
//!
//! Auction, escrow, settlement splits, interval boundaries, the signed reading layout and
//! the replay-counter rule all come from `depin_core` (`energy`, `epoch`, `meter`).
//!
//! ## Meter signatures
//!
//! A reading is signed by the device key over `depin_core::meter::reading_message`
//! (`"depin-meter-v1" || market || device id || interval || produced || consumed ||
//! counter`, `market` this contract's address), exactly the layout the Solana program
//! checks. Solana names the network there, which has one market (its PDA); a registry
//! here can have several markets, and a reading names the one it sells in, so the same
//! reading is not paid by two. ink! 5 contracts on
//! `pallet-contracts` have no ed25519 verification and only an unstable sr25519 one, but
//! every chain offers `ecdsa_recover`; device keys are therefore secp256k1 keys and the
//! signature is a recoverable ECDSA signature over `sha256(message)`.
//!
//! ## Book slots
//!
//! Each side of an interval's book has `max_orders_per_interval` slots. A cancelled order
//! frees its slot: the next order on that side takes the lowest cancelled slot, and only
//! when there is none a new one, so the side is full only when every slot holds an open
//! order. Asks escrow nothing, so a device could otherwise fill a book by placing and
//! cancelling; each device may also place at most `MAX_PLACEMENTS_PER_DEVICE` orders per
//! side and interval, cancelled ones included, so churning costs the churner its own
//! allowance and filling a side takes as many distinct devices as it has slots.
//!
//! A slot says nothing about when its order came: every order gets the interval's next
//! arrival number (`seq`) when it is placed, a reused slot included, and the clearing takes
//! each side in arrival order, so price ties go to the earlier order, as on Solana. A
//! cancelled-and-replaced order goes to the back of its price level.
//!
//! ## Payouts
//!
//! Settling an order pushes its owner's payment or refund. A push can fail (on a Substrate
//! chain, a transfer below the existential deposit to an account that does not exist), and
//! an owner must not be able to block its interval that way: the amount is then credited
//! to the owner's owed balance (`PayoutOwed`), the order settles all the same, and the
//! owner takes it later with `withdraw_owed`.

#![cfg_attr(not(feature = "std"), no_std, no_main)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

#[ink::contract]
pub mod energy_settlement {
    use depin_core::energy::{self, Order, MAX_ORDERS_PER_SIDE, MAX_PLACEMENTS_PER_DEVICE};
    use depin_core::fees::MAX_BPS;
    use depin_core::{epoch, meter, CoreError};
    use depin_ink_shared::cross::{self, RegistryReader};
    use depin_ink_shared::host;
    use depin_ink_shared::{DeviceId, DeviceInfo, NetworkKind, Signature};
    use device_registry::device_registry::DeviceRegistryRef;
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;

    /// Side of the book.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Side {
        /// A producer's offer.
        Ask,
        /// A consumer's bid.
        Bid,
    }

    /// One device's side of one interval's book: `(interval, device, side)`.
    pub type PlacementKey = (u64, DeviceId, Side);

    /// Lifecycle of an order.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum OrderStatus {
        /// Live.
        Open,
        /// Withdrawn before gate closure; the slot is free for the next order.
        Cancelled,
        /// Paid out.
        Settled,
    }

    /// Lifecycle of an interval.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub enum IntervalState {
        /// Taking orders.
        Open,
        /// Cleared, orders being settled.
        Cleared,
        /// Every order settled.
        Settled,
    }

    /// A producer's offer.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Ask {
        /// The producing device.
        pub device: DeviceId,
        /// Who is paid (the device owner when the ask was placed).
        pub owner: AccountId,
        /// Price per kWh.
        pub price: u64,
        /// Offered Wh.
        pub wh: u64,
        /// Wh matched by the clearing.
        pub matched_wh: u64,
        /// Wh delivered (`min(matched, metered)`), set at settlement.
        pub delivered_wh: u64,
        /// Lifecycle.
        pub status: OrderStatus,
        /// Arrival number in its interval (`Interval::next_seq` when placed): price ties in
        /// the auction go to the earlier order, whichever slot it sits in.
        pub seq: u32,
    }

    /// A consumer's bid.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Bid {
        /// The consuming device.
        pub device: DeviceId,
        /// Who pays and is refunded (the device owner when the bid was placed).
        pub owner: AccountId,
        /// Highest price per kWh accepted.
        pub limit: u64,
        /// Wanted Wh.
        pub wh: u64,
        /// Escrowed: `ceil(limit x wh / 1000)`.
        pub escrow: u64,
        /// Wh matched by the clearing.
        pub matched_wh: u64,
        /// What it paid, set at settlement.
        pub charge: u64,
        /// Lifecycle.
        pub status: OrderStatus,
        /// Arrival number in its interval (`Interval::next_seq` when placed): price ties in
        /// the auction go to the earlier order, whichever slot it sits in.
        pub seq: u32,
    }

    /// One interval's order book and results.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Interval {
        /// Uniform clearing price per kWh (0 until cleared or if nothing crossed).
        pub clearing_price: u64,
        /// Wh matched in all.
        pub volume_wh: u64,
        /// Wh delivered in all, summed as asks settle.
        pub delivered_wh: u64,
        /// Escrow held for open and settled bids.
        pub escrow_total: u64,
        /// What consumers paid so far.
        pub charged_total: u64,
        /// Gross value paid to producers so far (fees included).
        pub gross_paid_total: u64,
        /// Lifecycle.
        pub state: IntervalState,
        /// Asks cancelled or settled (a cancelled ask whose slot is reused no longer
        /// counts).
        pub asks_done: u8,
        /// Bids cancelled or settled (likewise).
        pub bids_done: u8,
        /// Orders placed so far on both sides, cancelled ones included: the next order's
        /// arrival number.
        pub next_seq: u32,
        /// Asks by slot; a new ask takes the lowest cancelled slot, else the next one
        /// (arrival order is `seq`, not the slot).
        pub asks: Vec<Ask>,
        /// Bids by slot, filled the same way.
        pub bids: Vec<Bid>,
    }

    impl Interval {
        /// True once every order is cancelled or settled.
        fn all_done(&self) -> bool {
            usize::from(self.asks_done) == self.asks.len()
                && usize::from(self.bids_done) == self.bids.len()
        }

        /// Takes the next arrival number.
        fn take_seq(&mut self) -> Result<u32> {
            let seq = self.next_seq;
            self.next_seq = seq.checked_add(1).ok_or(Error::MathOverflow)?;
            Ok(seq)
        }
    }

    /// Replay protection of one meter.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Meter {
        /// Highest counter accepted so far; the next must be higher.
        pub last_counter: u64,
        /// Readings accepted.
        pub readings: u64,
    }

    /// One meter's reading for one interval.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Reading {
        /// Wh produced.
        pub produced_wh: u64,
        /// Wh consumed.
        pub consumed_wh: u64,
        /// The meter's counter in the signed message.
        pub counter: u64,
        /// Unix time of submission.
        pub submitted_at: i64,
    }

    /// Market parameters.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct MarketParams {
        /// Length of an interval, 1 to `depin_core::epoch::MAX_DURATION_SECS` (366 days);
        /// interval `i` covers `[i x len, (i + 1) x len)`.
        pub interval_secs: u64,
        /// Orders for an interval close this many seconds before it starts (at most
        /// `depin_core::epoch::MAX_DURATION_SECS`).
        pub gate_closure_secs: u64,
        /// Seconds after an interval ends during which meters may still report, from
        /// `depin_core::energy::MIN_SETTLEMENT_DELAY_SECS` (2 s, a bare minimum: an empty
        /// window let anyone settle producers at zero before their readings could land) to
        /// `depin_core::epoch::MAX_DURATION_SECS`.
        pub settlement_delay_secs: u64,
        /// Most orders per side of one interval, 1 to 32.
        pub max_orders_per_interval: u8,
        /// Grid fee taken from producers' payments, in bps (at most 10,000).
        pub grid_fee_bps: u16,
        /// Lowest price or limit accepted, per kWh (at least 1, at most `price_cap`).
        pub price_floor: u64,
        /// Highest price or limit accepted, per kWh.
        pub price_cap: u64,
    }

    /// The market: parameters, books, meters and readings.
    #[ink(storage)]
    pub struct EnergySettlement {
        /// The device registry (an Energy network).
        registry: AccountId,
        /// Market parameters.
        params: MarketParams,
        /// Interval books by index.
        intervals: Mapping<u64, Interval>,
        /// Replay state by meter.
        meters: Mapping<DeviceId, Meter>,
        /// Readings by `(meter, interval)`.
        readings: Mapping<(DeviceId, u64), Reading>,
        /// Orders placed by `(interval, device, side)`, cancelled ones included (at most
        /// `MAX_PLACEMENTS_PER_DEVICE`). Kept after the interval closes, like readings.
        placements: Mapping<PlacementKey, u8>,
        /// What settlements owe accounts whose payout could not be pushed, by account;
        /// taken with `withdraw_owed`.
        owed: Mapping<AccountId, u64>,
    }

    /// Every way an energy message can refuse its input.
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Error {
        /// Returned if the network is paused and the message is not a refund or payout.
        NetworkPaused,
        /// Returned if the caller is not the network's authority.
        NotNetworkAuthority,
        /// Returned if the network is not an Energy network.
        NotEnergyNetwork,
        /// Returned if market parameters are out of range (an interval of zero, or an
        /// interval, gate closure or settlement delay longer than 366 days, a settlement
        /// delay under 2 s, no orders or
        /// more than 32, a fee above 100%, a floor above the cap).
        InvalidMarketParams,
        /// Returned if the device is not registered in the network.
        DeviceNotFound,
        /// Returned if the caller does not own the device.
        NotDeviceOwner,
        /// Returned if the device is not active.
        DeviceNotActive,
        /// Returned if an order or cancellation comes at or after gate closure.
        GateClosed,
        /// Returned if an interval is cleared before gate closure.
        GateNotClosed,
        /// Returned if a price or limit is outside the market's floor and cap.
        PriceOutOfBounds,
        /// Returned if an order's volume is zero.
        ZeroVolume,
        /// Returned if every slot of that side of the interval's book holds an open order.
        BookFull,
        /// Returned if the device already has an open order on that side of the interval.
        DuplicateOrder,
        /// Returned if the value sent is not exactly the bid's escrow.
        WrongPayment,
        /// Returned if the interval has no book.
        IntervalNotFound,
        /// Returned if an order reference names no order.
        NoSuchOrder,
        /// Returned if a cancellation comes from someone other than the order's owner.
        NotOrderOwner,
        /// Returned if the order was already cancelled or settled.
        OrderNotOpen,
        /// Returned if an interval is cleared twice.
        AlreadyCleared,
        /// Returned if an order is settled before its interval is cleared.
        NotCleared,
        /// Returned if a reading or settlement comes before the interval ends.
        IntervalNotOver,
        /// Returned if an ask without a reading is settled while meters may still report:
        /// before the interval's reading deadline, or within a reading window of the
        /// network's resume from a pause.
        ReadingWindowOpen,
        /// Returned if a bid that matched energy is settled before every ask of its interval
        /// (a bid that matched nothing settles at any time after the interval).
        AsksNotSettled,
        /// Returned if the signature is not the device key's over the reading.
        InvalidSignature,
        /// Returned if the reading's counter is not above the meter's last counter.
        StaleCounter,
        /// Returned if the device already reported for this interval.
        ReadingAlreadySubmitted,
        /// Returned if an interval is closed before every order is settled.
        IntervalNotSettled,
        /// Returned if an amount, count or time would overflow.
        MathOverflow,
        /// Returned if a payment out of the escrow fails.
        TransferFailed,
        /// Returned if the device already placed `MAX_PLACEMENTS_PER_DEVICE` orders on
        /// that side of the interval, cancelled ones included.
        TooManyPlacements,
        /// Returned if an order's volume is above `depin_core::energy::MAX_ORDER_WH` (so a
        /// full side of a book always sums within a `u64` and every interval can clear).
        OrderTooLarge,
        /// Returned if an ask offers more than its device can deliver in one interval
        /// (`depin_core::energy::ask_capacity_wh` of the capabilities its maker registered:
        /// the panel's peak output over the market's interval plus a full battery). A meter
        /// with neither can only bid.
        AskAboveCapacity,
        /// Returned if `withdraw_owed` is called by an account that is owed nothing.
        NothingOwed,
    }

    impl From<CoreError> for Error {
        fn from(e: CoreError) -> Self {
            match e {
                CoreError::TooManyOrders => Error::BookFull,
                _ => Error::MathOverflow,
            }
        }
    }

    /// Result of an energy message.
    pub type Result<T> = core::result::Result<T, Error>;

    /// Emitted by the constructor.
    #[ink(event)]
    pub struct MarketInitialized {
        /// The registry.
        #[ink(topic)]
        pub registry: AccountId,
        /// Parameters.
        pub params: MarketParams,
    }

    /// Emitted by `place_ask` and `place_bid`.
    #[ink(event)]
    pub struct OrderPlaced {
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
        /// The device.
        #[ink(topic)]
        pub device: DeviceId,
        /// Its owner.
        #[ink(topic)]
        pub owner: AccountId,
        /// Ask or bid.
        pub side: Side,
        /// Slot in that side of the book (possibly a cancelled order's, reused).
        pub slot: u8,
        /// Price or limit per kWh.
        pub price: u64,
        /// Volume.
        pub wh: u64,
        /// Escrow (bids).
        pub escrow: u64,
    }

    /// Emitted by `cancel_order`.
    #[ink(event)]
    pub struct OrderCancelled {
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
        /// Ask or bid.
        pub side: Side,
        /// Slot.
        pub slot: u8,
        /// Escrow refunded (bids).
        pub refunded: u64,
    }

    /// Emitted by `submit_reading`.
    #[ink(event)]
    pub struct ReadingSubmitted {
        /// The meter.
        #[ink(topic)]
        pub device: DeviceId,
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
        /// Wh produced.
        pub produced_wh: u64,
        /// Wh consumed.
        pub consumed_wh: u64,
        /// The meter's counter.
        pub counter: u64,
    }

    /// Emitted by `clear_interval`.
    #[ink(event)]
    pub struct IntervalCleared {
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
        /// Uniform price.
        pub clearing_price: u64,
        /// Wh matched.
        pub volume_wh: u64,
        /// Matched Wh per ask slot.
        pub ask_matched_wh: Vec<u64>,
        /// Matched Wh per bid slot.
        pub bid_matched_wh: Vec<u64>,
    }

    /// Emitted by `settle_order`.
    #[ink(event)]
    pub struct OrderSettled {
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
        /// The order's owner.
        #[ink(topic)]
        pub owner: AccountId,
        /// Ask or bid.
        pub side: Side,
        /// Slot.
        pub slot: u8,
        /// Ask: Wh delivered. Bid: its share of the energy delivered to the interval, pro
        /// rata to what it matched (as on Solana).
        pub wh: u64,
        /// Ask: net payment. Bid: charge.
        pub amount: u64,
        /// Ask: grid fee.
        pub fee: u64,
        /// Bid: escrow refunded.
        pub refund: u64,
    }

    /// Emitted by the settlement of an interval's last order.
    #[ink(event)]
    pub struct IntervalSettled {
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
        /// Wh delivered in all.
        pub delivered_wh: u64,
        /// Rounding remainder sent to the treasury.
        pub rounding: u64,
    }

    /// Emitted by `close_interval`.
    #[ink(event)]
    pub struct IntervalClosed {
        /// Interval index.
        #[ink(topic)]
        pub interval: u64,
    }

    /// Emitted by `settle_order` when the transfer to the order's owner fails: the amount
    /// is credited to the owner's owed balance instead, for `withdraw_owed`.
    #[ink(event)]
    pub struct PayoutOwed {
        /// The owner who could not be paid.
        #[ink(topic)]
        pub owner: AccountId,
        /// The amount credited.
        pub amount: u64,
        /// The owner's owed balance after the credit.
        pub owed: u64,
    }

    /// Emitted by `withdraw_owed`.
    #[ink(event)]
    pub struct OwedWithdrawn {
        /// The account paid.
        #[ink(topic)]
        pub owner: AccountId,
        /// The amount paid: everything it was owed.
        pub amount: u64,
    }

    impl EnergySettlement {
        /// Creates the market of the Energy network at `registry` (its authority only,
        /// unpaused). The parameters are fixed for the market's life.
        ///
        /// Bounds: `1 <= interval_secs <= depin_core::epoch::MAX_DURATION_SECS` (366
        /// days); `gate_closure_secs` and `settlement_delay_secs` at most that too (so
        /// every gate closure and reading deadline is a real time: each interval can be
        /// cleared and every bid settled in the end), and `settlement_delay_secs` at least
        /// `depin_core::energy::MIN_SETTLEMENT_DELAY_SECS` (a reading window that can be
        /// used); `1 <= max_orders_per_interval <=
        /// 32`; `grid_fee_bps <= 10,000`; `1 <= price_floor <= price_cap` (a floor of 0
        /// would let free bids of any size overflow the clearing volume and lock every
        /// other bid's escrow).
        ///
        /// # Errors
        /// `NotNetworkAuthority`, `NetworkPaused`, `NotEnergyNetwork`,
        /// `InvalidMarketParams`.
        #[ink(constructor)]
        pub fn new(registry: AccountId, params: MarketParams) -> Result<Self> {
            let network = cross::registry::<DeviceRegistryRef>(registry).network_info();
            if Self::env().caller() != network.authority {
                return Err(Error::NotNetworkAuthority);
            }
            if network.paused {
                return Err(Error::NetworkPaused);
            }
            if network.kind != NetworkKind::Energy {
                return Err(Error::NotEnergyNetwork);
            }
            let p = &params;
            if epoch::validate_duration(p.interval_secs).is_err()
                || p.gate_closure_secs > epoch::MAX_DURATION_SECS
                || !(energy::MIN_SETTLEMENT_DELAY_SECS..=epoch::MAX_DURATION_SECS)
                    .contains(&p.settlement_delay_secs)
                || p.max_orders_per_interval == 0
                || usize::from(p.max_orders_per_interval) > MAX_ORDERS_PER_SIDE
                || p.grid_fee_bps > MAX_BPS
                || p.price_floor == 0
                || p.price_floor > p.price_cap
            {
                return Err(Error::InvalidMarketParams);
            }
            Self::env().emit_event(MarketInitialized { registry, params });
            Ok(Self {
                registry,
                params,
                intervals: Mapping::default(),
                meters: Mapping::default(),
                readings: Mapping::default(),
                placements: Mapping::default(),
                owed: Mapping::default(),
            })
        }

        /// Offers `wh` of the caller's producing device at `price` per kWh in `interval`:
        /// at most what the device can deliver in one interval, its panel's peak output
        /// over `interval_secs` (rounded down) plus a full battery, from the capabilities
        /// its maker registered (`depin_core::energy::ask_capacity_wh`). A meter that
        /// cannot deliver thus cannot outbid the producers that can; one with no panel and
        /// no battery (a consumer's) can only bid. The ask takes the lowest cancelled
        /// slot, else a new one; the device may have one open ask per interval and place
        /// at most `MAX_PLACEMENTS_PER_DEVICE`. A refused ask counts no placement.
        /// Returns the ask's slot.
        ///
        /// # Errors
        /// `NetworkPaused`, `DeviceNotFound`, `NotDeviceOwner`, `DeviceNotActive`,
        /// `GateClosed`, `PriceOutOfBounds`, `ZeroVolume`, `OrderTooLarge`,
        /// `AskAboveCapacity`, `DuplicateOrder`, `TooManyPlacements`, `BookFull`,
        /// `MathOverflow`.
        #[ink(message)]
        pub fn place_ask(
            &mut self,
            interval: u64,
            device: DeviceId,
            price: u64,
            wh: u64,
        ) -> Result<u8> {
            let owner = self.env().caller();
            let info = self.require_owned_device(device, owner)?;
            self.require_order(interval, price, wh)?;
            let capacity = energy::ask_capacity_wh(
                info.capabilities.panel_watts,
                info.capabilities.battery_wh,
                self.params.interval_secs,
            );
            if wh > capacity {
                return Err(Error::AskAboveCapacity);
            }
            let mut book = self.book_or_new(interval);
            if book
                .asks
                .iter()
                .any(|a| a.device == device && a.status == OrderStatus::Open)
            {
                return Err(Error::DuplicateOrder);
            }
            let placed = self.next_placement(interval, device, Side::Ask)?;
            let (slot, reused) = self.free_slot(book.asks.iter().map(|a| a.status))?;
            let ask = Ask {
                device,
                owner,
                price,
                wh,
                matched_wh: 0,
                delivered_wh: 0,
                status: OrderStatus::Open,
                seq: book.take_seq()?,
            };
            if reused {
                book.asks_done = book.asks_done.checked_sub(1).ok_or(Error::MathOverflow)?;
                let entry = book
                    .asks
                    .get_mut(usize::from(slot))
                    .ok_or(Error::MathOverflow)?;
                *entry = ask;
            } else {
                book.asks.push(ask);
            }
            self.intervals.insert(interval, &book);
            self.placements
                .insert((interval, device, Side::Ask), &placed);
            self.env().emit_event(OrderPlaced {
                interval,
                device,
                owner,
                side: Side::Ask,
                slot,
                price,
                wh,
                escrow: 0,
            });
            Ok(slot)
        }

        /// Bids for `wh` at up to `limit` per kWh for the caller's consuming device; the
        /// value sent must be exactly the escrow `ceil(limit x wh / 1000)`. Slots and
        /// per-device limits as for asks. Returns the bid's slot.
        ///
        /// # Errors
        /// `NetworkPaused`, `DeviceNotFound`, `NotDeviceOwner`, `DeviceNotActive`,
        /// `GateClosed`, `PriceOutOfBounds`, `ZeroVolume`, `OrderTooLarge`, `MathOverflow`,
        /// `WrongPayment`, `DuplicateOrder`, `TooManyPlacements`, `BookFull`.
        #[ink(message, payable)]
        pub fn place_bid(
            &mut self,
            interval: u64,
            device: DeviceId,
            limit: u64,
            wh: u64,
        ) -> Result<u8> {
            let owner = self.env().caller();
            self.require_owned_device(device, owner)?;
            self.require_order(interval, limit, wh)?;
            let escrow = energy::bid_escrow(limit, wh)?;
            if host::transferred_amount() != Some(escrow) {
                return Err(Error::WrongPayment);
            }
            let mut book = self.book_or_new(interval);
            if book
                .bids
                .iter()
                .any(|b| b.device == device && b.status == OrderStatus::Open)
            {
                return Err(Error::DuplicateOrder);
            }
            let placed = self.next_placement(interval, device, Side::Bid)?;
            let (slot, reused) = self.free_slot(book.bids.iter().map(|b| b.status))?;
            book.escrow_total = book
                .escrow_total
                .checked_add(escrow)
                .ok_or(Error::MathOverflow)?;
            let bid = Bid {
                device,
                owner,
                limit,
                wh,
                escrow,
                matched_wh: 0,
                charge: 0,
                status: OrderStatus::Open,
                seq: book.take_seq()?,
            };
            if reused {
                book.bids_done = book.bids_done.checked_sub(1).ok_or(Error::MathOverflow)?;
                let entry = book
                    .bids
                    .get_mut(usize::from(slot))
                    .ok_or(Error::MathOverflow)?;
                *entry = bid;
            } else {
                book.bids.push(bid);
            }
            self.intervals.insert(interval, &book);
            self.placements
                .insert((interval, device, Side::Bid), &placed);
            self.env().emit_event(OrderPlaced {
                interval,
                device,
                owner,
                side: Side::Bid,
                slot,
                price: limit,
                wh,
                escrow,
            });
            Ok(slot)
        }

        /// Withdraws the caller's order before gate closure; a bid's escrow goes back and
        /// the slot is free for the next order on that side (the device's placements still
        /// count). Allowed while paused: it only returns the caller's own funds.
        ///
        /// # Errors
        /// `GateClosed`, `MathOverflow`, `NoSuchOrder`, `NotOrderOwner`, `OrderNotOpen`,
        /// `TransferFailed`.
        #[ink(message)]
        pub fn cancel_order(&mut self, interval: u64, side: Side, slot: u8) -> Result<u64> {
            self.require_gate_open(interval)?;
            let mut book = self.intervals.get(interval).ok_or(Error::NoSuchOrder)?;
            let caller = self.env().caller();
            let index = usize::from(slot);
            let refund = match side {
                Side::Ask => {
                    let ask = book.asks.get_mut(index).ok_or(Error::NoSuchOrder)?;
                    require_open(ask.owner, ask.status, caller)?;
                    ask.status = OrderStatus::Cancelled;
                    0
                }
                Side::Bid => {
                    let bid = book.bids.get_mut(index).ok_or(Error::NoSuchOrder)?;
                    require_open(bid.owner, bid.status, caller)?;
                    bid.status = OrderStatus::Cancelled;
                    bid.escrow
                }
            };
            match side {
                Side::Ask => {
                    book.asks_done = book.asks_done.checked_add(1).ok_or(Error::MathOverflow)?
                }
                Side::Bid => {
                    book.bids_done = book.bids_done.checked_add(1).ok_or(Error::MathOverflow)?
                }
            }
            book.escrow_total = book
                .escrow_total
                .checked_sub(refund)
                .ok_or(Error::MathOverflow)?;
            host::pay(caller, refund).map_err(|_| Error::TransferFailed)?;
            self.intervals.insert(interval, &book);
            self.env().emit_event(OrderCancelled {
                interval,
                side,
                slot,
                refunded: refund,
            });
            Ok(refund)
        }

        /// Records a meter's signed reading for a finished interval. Anyone may relay it;
        /// the device key's signature over the reading is what counts, and its counter
        /// must be above every earlier one of the meter.
        ///
        /// # Errors
        /// `NetworkPaused`, `DeviceNotFound`, `DeviceNotActive`, `MathOverflow`,
        /// `IntervalNotOver`, `InvalidSignature`, `StaleCounter`,
        /// `ReadingAlreadySubmitted`.
        #[ink(message)]
        pub fn submit_reading(
            &mut self,
            device: DeviceId,
            interval: u64,
            produced_wh: u64,
            consumed_wh: u64,
            counter: u64,
            signature: Signature,
        ) -> Result<()> {
            let info = self.active_device(device)?;
            let now = host::now_secs();
            if now < self.interval_end(interval)? {
                return Err(Error::IntervalNotOver);
            }
            // the market's own address: a reading signed for this market is not accepted by
            // another market on the same registry (each keeps its own counters)
            let message = meter::reading_message(
                self.env().account_id().as_ref(),
                &device,
                interval,
                produced_wh,
                consumed_wh,
                counter,
            );
            if !host::signed_by(&info.device_key, &signature, &message) {
                return Err(Error::InvalidSignature);
            }
            let mut state = self.meters.get(device).unwrap_or_default();
            if !meter::counter_is_fresh(state.last_counter, counter) {
                return Err(Error::StaleCounter);
            }
            if self.readings.contains((device, interval)) {
                return Err(Error::ReadingAlreadySubmitted);
            }
            state.last_counter = counter;
            state.readings = state.readings.checked_add(1).ok_or(Error::MathOverflow)?;
            self.meters.insert(device, &state);
            self.readings.insert(
                (device, interval),
                &Reading {
                    produced_wh,
                    consumed_wh,
                    counter,
                    submitted_at: now,
                },
            );
            self.env().emit_event(ReadingSubmitted {
                device,
                interval,
                produced_wh,
                consumed_wh,
                counter,
            });
            Ok(())
        }

        /// Runs the double auction over the interval's open orders (cancelled ones take
        /// part with no volume) once the gate has closed; anyone may call it. Each side is
        /// handed to the auction in arrival order (`seq`), so price ties go to the earlier
        /// order whatever its slot. Returns the clearing price (0 if nothing crossed).
        ///
        /// # Errors
        /// `MathOverflow`, `GateNotClosed`, `IntervalNotFound`, `AlreadyCleared`,
        /// `BookFull`.
        #[ink(message)]
        pub fn clear_interval(&mut self, interval: u64) -> Result<u64> {
            if host::now_secs() < self.gate_closure(interval)? {
                return Err(Error::GateNotClosed);
            }
            let mut book = self
                .intervals
                .get(interval)
                .ok_or(Error::IntervalNotFound)?;
            if book.state != IntervalState::Open {
                return Err(Error::AlreadyCleared);
            }
            let live = |open: bool, wh: u64| if open { wh } else { 0 };
            // The auction breaks price ties by position: hand it each side in arrival order
            // (slots are reused, so slot order is not arrival order) and map the results
            // back to the slots.
            let ask_order = arrival_order(book.asks.iter().map(|a| a.seq));
            let bid_order = arrival_order(book.bids.iter().map(|b| b.seq));
            let asks: Vec<Order> = ask_order
                .iter()
                .filter_map(|&slot| book.asks.get(slot))
                .map(|a| Order {
                    price: a.price,
                    wh: live(a.status == OrderStatus::Open, a.wh),
                })
                .collect();
            let bids: Vec<Order> = bid_order
                .iter()
                .filter_map(|&slot| book.bids.get(slot))
                .map(|b| Order {
                    price: b.limit,
                    wh: live(b.status == OrderStatus::Open, b.wh),
                })
                .collect();
            let mut ask_matched = ink::prelude::vec![0u64; asks.len()];
            let mut bid_matched = ink::prelude::vec![0u64; bids.len()];
            let clearing = energy::clear(&asks, &bids, &mut ask_matched, &mut bid_matched)?;
            for (&slot, matched) in ask_order.iter().zip(&ask_matched) {
                if let Some(ask) = book.asks.get_mut(slot) {
                    ask.matched_wh = *matched;
                }
            }
            for (&slot, matched) in bid_order.iter().zip(&bid_matched) {
                if let Some(bid) = book.bids.get_mut(slot) {
                    bid.matched_wh = *matched;
                }
            }
            if let Some(c) = clearing {
                book.clearing_price = c.price;
                book.volume_wh = c.volume_wh;
            }
            // A book whose orders were all cancelled has nothing left to settle.
            book.state = if book.all_done() {
                IntervalState::Settled
            } else {
                IntervalState::Cleared
            };
            let price = book.clearing_price;
            self.env().emit_event(IntervalCleared {
                interval,
                clearing_price: price,
                volume_wh: book.volume_wh,
                ask_matched_wh: book.asks.iter().map(|a| a.matched_wh).collect(),
                bid_matched_wh: book.bids.iter().map(|b| b.matched_wh).collect(),
            });
            self.intervals.insert(interval, &book);
            Ok(price)
        }

        /// Settles one order after the interval (asks first, then the bids that matched
        /// energy; a bid that matched nothing is refunded whole at any time); anyone may call
        /// it and money only goes to the order's owner and the treasury. The last order
        /// also sends the rounding remainder to the treasury. If the transfer to the owner
        /// fails, the order settles all the same and the amount is credited to the owner's
        /// owed balance (`PayoutOwed`, then `withdraw_owed`): an owner cannot block its
        /// interval's other orders by making itself unpayable. Returns what the owner was
        /// paid or credited. Allowed while paused: it pays people what they are owed. The
        /// one exception is a producer without a reading: a paused network refuses
        /// readings, so a missing one counts as zero only while the network runs and once
        /// a whole reading window has passed since it last resumed.
        ///
        /// # Errors
        /// `IntervalNotFound`, `NotCleared`, `MathOverflow`, `IntervalNotOver`,
        /// `NoSuchOrder`, `OrderNotOpen`, `NetworkPaused`, `ReadingWindowOpen`,
        /// `AsksNotSettled`; `TransferFailed` if the treasury's payment fails (never the
        /// owner's).
        #[ink(message)]
        pub fn settle_order(&mut self, interval: u64, side: Side, slot: u8) -> Result<u64> {
            let mut book = self
                .intervals
                .get(interval)
                .ok_or(Error::IntervalNotFound)?;
            if book.state == IntervalState::Open {
                return Err(Error::NotCleared);
            }
            let now = host::now_secs();
            if now < self.interval_end(interval)? {
                return Err(Error::IntervalNotOver);
            }
            let price = book.clearing_price;
            let index = usize::from(slot);
            let overflow = || Error::MathOverflow;
            let event = match side {
                Side::Ask => {
                    let ask = *book.asks.get(index).ok_or(Error::NoSuchOrder)?;
                    if ask.status != OrderStatus::Open {
                        return Err(Error::OrderNotOpen);
                    }
                    let produced = if ask.matched_wh == 0 {
                        0 // nothing to deliver: no reading needed
                    } else {
                        self.produced_wh(ask.device, interval, now)?
                    };
                    let s = energy::settle_producer(
                        ask.matched_wh,
                        produced,
                        price,
                        self.params.grid_fee_bps,
                    )?;
                    book.delivered_wh = book
                        .delivered_wh
                        .checked_add(s.delivered_wh)
                        .ok_or_else(overflow)?;
                    book.gross_paid_total = book
                        .gross_paid_total
                        .checked_add(s.gross)
                        .ok_or_else(overflow)?;
                    book.asks_done = book.asks_done.checked_add(1).ok_or_else(overflow)?;
                    if let Some(entry) = book.asks.get_mut(index) {
                        entry.delivered_wh = s.delivered_wh;
                        entry.status = OrderStatus::Settled;
                    }
                    OrderSettled {
                        interval,
                        owner: ask.owner,
                        side,
                        slot,
                        wh: s.delivered_wh,
                        amount: s.net,
                        fee: s.fee,
                        refund: 0,
                    }
                }
                Side::Bid => {
                    let bid = *book.bids.get(index).ok_or(Error::NoSuchOrder)?;
                    if bid.status != OrderStatus::Open {
                        return Err(Error::OrderNotOpen);
                    }
                    // a bid that matched nothing is owed its whole escrow whatever the
                    // producers deliver: it does not wait for the asks
                    if bid.matched_wh != 0 && usize::from(book.asks_done) != book.asks.len() {
                        return Err(Error::AsksNotSettled);
                    }
                    let s = energy::settle_consumer(
                        bid.matched_wh,
                        book.delivered_wh,
                        book.volume_wh,
                        price,
                        bid.escrow,
                    )?;
                    book.charged_total = book
                        .charged_total
                        .checked_add(s.charge)
                        .ok_or_else(overflow)?;
                    book.bids_done = book.bids_done.checked_add(1).ok_or_else(overflow)?;
                    if let Some(entry) = book.bids.get_mut(index) {
                        entry.charge = s.charge;
                        entry.status = OrderStatus::Settled;
                    }
                    OrderSettled {
                        interval,
                        owner: bid.owner,
                        side,
                        slot,
                        wh: s.delivered_wh,
                        amount: s.charge,
                        fee: 0,
                        refund: s.refund,
                    }
                }
            };
            let finished = book.state == IntervalState::Cleared && book.all_done();
            let rounding = if finished {
                book.state = IntervalState::Settled;
                book.charged_total
                    .checked_sub(book.gross_paid_total)
                    .ok_or_else(overflow)?
            } else {
                0
            };
            let (to_owner, to_treasury) = match side {
                Side::Ask => (event.amount, event.fee),
                Side::Bid => (event.refund, 0),
            };
            let to_treasury = to_treasury.checked_add(rounding).ok_or_else(overflow)?;
            let treasury = self.registry().network_info().treasury;
            self.pay_or_owe(event.owner, to_owner)?;
            host::pay(treasury, to_treasury).map_err(|_| Error::TransferFailed)?;
            let delivered_wh = book.delivered_wh;
            self.intervals.insert(interval, &book);
            self.env().emit_event(event);
            if finished {
                self.env().emit_event(IntervalSettled {
                    interval,
                    delivered_wh,
                    rounding,
                });
            }
            Ok(to_owner)
        }

        /// Removes a settled interval's book from storage (anyone; frees its deposit).
        ///
        /// # Errors
        /// `IntervalNotFound`, `IntervalNotSettled`.
        #[ink(message)]
        pub fn close_interval(&mut self, interval: u64) -> Result<()> {
            let book = self
                .intervals
                .get(interval)
                .ok_or(Error::IntervalNotFound)?;
            if book.state != IntervalState::Settled {
                return Err(Error::IntervalNotSettled);
            }
            self.intervals.remove(interval);
            self.env().emit_event(IntervalClosed { interval });
            Ok(())
        }

        /// Pays the caller everything settlements owed it but could not push to it.
        /// Allowed while paused: it only pays people what they are owed. Returns the
        /// amount paid.
        ///
        /// # Errors
        /// `NothingOwed`; `TransferFailed` if the payment fails (then nothing changes and
        /// the amount stays owed).
        #[ink(message)]
        pub fn withdraw_owed(&mut self) -> Result<u64> {
            let caller = self.env().caller();
            let amount = host::withdraw_owed(&mut self.owed, caller).map_err(|e| match e {
                host::WithdrawError::NothingOwed => Error::NothingOwed,
                host::WithdrawError::TransferFailed => Error::TransferFailed,
            })?;
            self.env().emit_event(OwedWithdrawn {
                owner: caller,
                amount,
            });
            Ok(amount)
        }

        /// What settlements owe `account` (payouts that could not be pushed to it).
        #[ink(message)]
        pub fn owed(&self, account: AccountId) -> u64 {
            self.owed.get(account).unwrap_or(0)
        }

        /// An interval's book.
        #[ink(message)]
        pub fn interval(&self, interval: u64) -> Option<Interval> {
            self.intervals.get(interval)
        }

        /// A meter's replay state.
        #[ink(message)]
        pub fn meter(&self, device: DeviceId) -> Option<Meter> {
            self.meters.get(device)
        }

        /// A meter's reading for an interval.
        #[ink(message)]
        pub fn reading(&self, device: DeviceId, interval: u64) -> Option<Reading> {
            self.readings.get((device, interval))
        }

        /// The market's parameters.
        #[ink(message)]
        pub fn params(&self) -> MarketParams {
            self.params
        }

        /// Orders `device` placed on `side` of `interval`, cancelled ones included.
        #[ink(message)]
        pub fn placements(&self, interval: u64, device: DeviceId, side: Side) -> u8 {
            self.placements.get((interval, device, side)).unwrap_or(0)
        }

        /// Pays `amount` to an order's `owner`; if the transfer fails, credits it to the
        /// owner's owed balance instead and emits `PayoutOwed`, so the settlement goes on.
        fn pay_or_owe(&mut self, owner: AccountId, amount: u64) -> Result<()> {
            if let Some(owed) = host::pay_or_credit(&mut self.owed, owner, amount)? {
                self.env().emit_event(PayoutOwed {
                    owner,
                    amount,
                    owed,
                });
            }
            Ok(())
        }

        fn registry(&self) -> ink::prelude::boxed::Box<dyn RegistryReader> {
            cross::registry::<DeviceRegistryRef>(self.registry)
        }

        /// The device, if the network is running and the device is active.
        fn active_device(&self, device: DeviceId) -> Result<DeviceInfo> {
            let registry = self.registry();
            if registry.network_info().paused {
                return Err(Error::NetworkPaused);
            }
            let info = registry.device_info(device).ok_or(Error::DeviceNotFound)?;
            if !info.is_active() {
                return Err(Error::DeviceNotActive);
            }
            Ok(info)
        }

        /// The device, if the network is running, `owner` owns it and it is active.
        fn require_owned_device(&self, device: DeviceId, owner: AccountId) -> Result<DeviceInfo> {
            let registry = self.registry();
            if registry.network_info().paused {
                return Err(Error::NetworkPaused);
            }
            let info = registry.device_info(device).ok_or(Error::DeviceNotFound)?;
            if info.owner != owner {
                return Err(Error::NotDeviceOwner);
            }
            if !info.is_active() {
                return Err(Error::DeviceNotActive);
            }
            Ok(info)
        }

        fn require_order(&self, interval: u64, price: u64, wh: u64) -> Result<()> {
            self.require_gate_open(interval)?;
            if !(self.params.price_floor..=self.params.price_cap).contains(&price) {
                return Err(Error::PriceOutOfBounds);
            }
            if wh == 0 {
                return Err(Error::ZeroVolume);
            }
            if wh > energy::MAX_ORDER_WH {
                return Err(Error::OrderTooLarge);
            }
            Ok(())
        }

        /// The device's placement count on that side of the interval once it places one
        /// more order, `TooManyPlacements` past `MAX_PLACEMENTS_PER_DEVICE`.
        fn next_placement(&self, interval: u64, device: DeviceId, side: Side) -> Result<u8> {
            let placed = self.placements(interval, device, side);
            if placed >= MAX_PLACEMENTS_PER_DEVICE {
                return Err(Error::TooManyPlacements);
            }
            placed.checked_add(1).ok_or(Error::MathOverflow)
        }

        /// The slot a new order takes on a side whose slots have `statuses`: the lowest
        /// cancelled one (`true`: reused), else the next new one while the side has room.
        fn free_slot(
            &self,
            statuses: impl ExactSizeIterator<Item = OrderStatus>,
        ) -> Result<(u8, bool)> {
            let used = statuses.len();
            let (index, reused) = match statuses
                .enumerate()
                .find(|(_, s)| *s == OrderStatus::Cancelled)
            {
                Some((index, _)) => (index, true),
                None if used < usize::from(self.params.max_orders_per_interval) => (used, false),
                None => return Err(Error::BookFull),
            };
            let slot = u8::try_from(index).map_err(|_| Error::BookFull)?;
            Ok((slot, reused))
        }

        fn book_or_new(&self, interval: u64) -> Interval {
            self.intervals.get(interval).unwrap_or(Interval {
                clearing_price: 0,
                volume_wh: 0,
                delivered_wh: 0,
                escrow_total: 0,
                charged_total: 0,
                gross_paid_total: 0,
                state: IntervalState::Open,
                asks_done: 0,
                bids_done: 0,
                next_seq: 0,
                asks: Vec::new(),
                bids: Vec::new(),
            })
        }

        /// Produced Wh of `device` in `interval`: its reading, or zero once the window to
        /// submit one has closed without it: the interval's reading deadline, or a whole
        /// reading window after the network last resumed if that is later, and never while
        /// the network is paused (it refuses readings, so it must not run their window out).
        fn produced_wh(&self, device: DeviceId, interval: u64, now: i64) -> Result<u64> {
            if let Some(reading) = self.readings.get((device, interval)) {
                return Ok(reading.produced_wh);
            }
            let network = self.registry().network_info();
            if network.paused {
                return Err(Error::NetworkPaused);
            }
            let delay = i64::try_from(self.params.settlement_delay_secs)
                .map_err(|_| Error::MathOverflow)?;
            let deadline = self
                .interval_end(interval)?
                .checked_add(delay)
                .ok_or(Error::MathOverflow)?;
            let since_resume = network
                .resumed_at
                .checked_add(delay)
                .ok_or(Error::MathOverflow)?;
            if now < deadline.max(since_resume) {
                return Err(Error::ReadingWindowOpen);
            }
            Ok(0)
        }

        /// End of `interval` (intervals count from the Unix epoch).
        fn interval_end(&self, interval: u64) -> Result<i64> {
            Ok(epoch::epoch_end(0, self.params.interval_secs, interval)?)
        }

        /// Gate closure of `interval`: its start less `gate_closure_secs`.
        fn gate_closure(&self, interval: u64) -> Result<i64> {
            let len = i64::try_from(self.params.interval_secs).map_err(|_| Error::MathOverflow)?;
            let gate =
                i64::try_from(self.params.gate_closure_secs).map_err(|_| Error::MathOverflow)?;
            self.interval_end(interval)?
                .checked_sub(len)
                .and_then(|start| start.checked_sub(gate))
                .ok_or(Error::MathOverflow)
        }

        fn require_gate_open(&self, interval: u64) -> Result<()> {
            if host::now_secs() >= self.gate_closure(interval)? {
                return Err(Error::GateClosed);
            }
            Ok(())
        }
    }

    /// Slots `0..n` ordered by their orders' arrival numbers `seqs` (unique in a book).
    fn arrival_order(seqs: impl Iterator<Item = u32>) -> Vec<usize> {
        let mut order: Vec<(u32, usize)> = seqs.zip(0..).collect();
        order.sort_unstable();
        order.into_iter().map(|(_, slot)| slot).collect()
    }

    /// The order must be the caller's and open.
    fn require_open(owner: AccountId, status: OrderStatus, caller: AccountId) -> Result<()> {
        if owner != caller {
            return Err(Error::NotOrderOwner);
        }
        if status != OrderStatus::Open {
            return Err(Error::OrderNotOpen);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
