-- Energy books reuse a cancelled order's slot for the next order (security review: a
-- cancelled order must not hold capacity). A slot may therefore carry several orders over an
-- interval's life; an `energy_orders` row follows the latest order placed in its slot and
-- only the cancellations and settlements that came after that placement. An interval's
-- `asks` / `bids` count the slots used, as the book does, not the placements.

CREATE OR REPLACE FUNCTION depin_refresh_energy(markets TEXT[], intervals NUMERIC[]) RETURNS VOID
LANGUAGE sql AS $$
    DELETE FROM energy_orders
    WHERE (market, interval_index) IN (SELECT * FROM unnest(markets, intervals));
    DELETE FROM energy_intervals
    WHERE (market, interval_index) IN (SELECT * FROM unnest(markets, intervals));
    INSERT INTO energy_orders
    SELECT o.market, o.interval_index, o.side, o.order_slot, o.device, o.owner, o.price, o.wh,
           o.escrow,
           CASE WHEN s.market IS NOT NULL THEN 'settled'
                WHEN x.market IS NOT NULL THEN 'cancelled'
                ELSE 'open' END,
           CASE WHEN c.market IS NULL OR x.market IS NOT NULL THEN NULL
                WHEN o.side = 'ask' THEN c.ask_matched_wh[o.order_slot + 1]
                ELSE c.bid_matched_wh[o.order_slot + 1] END,
           s.delivered_wh, s.amount, s.fee, COALESCE(s.refund, x.refunded)
    FROM (SELECT DISTINCT ON (market, interval_index, side, order_slot) * FROM energy_order_placed
          WHERE (market, interval_index) IN (SELECT * FROM unnest(markets, intervals))
          ORDER BY market, interval_index, side, order_slot,
                   slot DESC, tx_index DESC, instruction_index DESC, event_index DESC) o
    LEFT JOIN LATERAL (SELECT * FROM energy_order_cancelled y WHERE y.market = o.market
        AND y.interval_index = o.interval_index AND y.side = o.side AND y.order_slot = o.order_slot
        AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
            > (o.slot, o.tx_index, o.instruction_index, o.event_index)
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) x ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_order_settled y WHERE y.market = o.market
        AND y.interval_index = o.interval_index AND y.side = o.side AND y.order_slot = o.order_slot
        AND (y.slot, y.tx_index, y.instruction_index, y.event_index)
            > (o.slot, o.tx_index, o.instruction_index, o.event_index)
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_cleared y WHERE y.market = o.market
        AND y.interval_index = o.interval_index
        ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) c ON true;
    INSERT INTO energy_intervals
    SELECT k.market, k.interval_index,
           CASE WHEN z.market IS NOT NULL THEN 'closed'
                WHEN s.market IS NOT NULL THEN 'settled'
                WHEN c.market IS NOT NULL THEN 'cleared'
                ELSE 'open' END,
           n.asks, n.bids, c.clearing_price, c.volume_wh, s.delivered_wh
    FROM (SELECT DISTINCT * FROM unnest(markets, intervals) AS k(market, interval_index)) k
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_cleared y WHERE y.market = k.market
        AND y.interval_index = k.interval_index ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) c ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_settled y WHERE y.market = k.market
        AND y.interval_index = k.interval_index ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) s ON true
    LEFT JOIN LATERAL (SELECT * FROM energy_interval_closed y WHERE y.market = k.market
        AND y.interval_index = k.interval_index ORDER BY slot DESC, tx_index DESC, instruction_index DESC, event_index DESC LIMIT 1) z ON true
    CROSS JOIN LATERAL (SELECT count(DISTINCT order_slot) FILTER (WHERE side = 'ask') AS asks,
        count(DISTINCT order_slot) FILTER (WHERE side = 'bid') AS bids
        FROM energy_order_placed o WHERE o.market = k.market AND o.interval_index = k.interval_index) n
    WHERE n.asks + n.bids > 0 OR c.market IS NOT NULL;
$$;
