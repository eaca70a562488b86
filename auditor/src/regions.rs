//! Demand-driven region multipliers (issue 15, item 4): being built.
