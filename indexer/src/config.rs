//! Configuration: a TOML file (see `indexer/indexer.example.toml`), then environment
//! variables on top, then validation. Every field has a default except the endpoint and the
//! database URL.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use serde::Deserialize;

use crate::sink::{Commitment, EventRetention};
use crate::source::suite_programs;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// An environment variable holds an unusable value.
    #[error("{var}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Why.
        reason: String,
    },
    /// A required setting is missing or a value is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The gRPC source.
    pub source: SourceConfig,
    /// JSON-RPC backfill.
    pub backfill: BackfillConfig,
    /// The database.
    pub database: DatabaseConfig,
    /// Batching.
    pub batch: BatchConfig,
    /// Reconnect backoff.
    pub reconnect: ReconnectConfig,
    /// Pruning of old bookkeeping.
    pub retention: RetentionConfig,
    /// Metrics and health.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[source]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Yellowstone gRPC endpoint, `http(s)://host:port` (env `DEPIN_INDEXER_ENDPOINT`).
    pub endpoint: String,
    /// `x-token` (env `DEPIN_INDEXER_X_TOKEN`); empty for none.
    pub x_token: String,
    /// `processed`, `confirmed` or `finalized` (env `DEPIN_INDEXER_COMMITMENT`).
    pub commitment: Commitment,
    /// Connect timeout in seconds.
    pub connect_timeout_secs: u64,
    /// Program ids to index; empty means the suite's five.
    pub programs: Vec<String>,
    /// Checkpoint name, so several streams can share a database.
    pub stream_name: String,
    /// Where to begin when the database has no checkpoint yet (e.g. the slot the programs
    /// were deployed at; replayed, or backfilled over JSON-RPC if the endpoint cannot);
    /// unset: from the live tip.
    pub start_slot: Option<u64>,
}

/// `[backfill]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackfillConfig {
    /// JSON-RPC URL (env `DEPIN_INDEXER_RPC_URL`); empty disables backfill, and a gap the
    /// endpoint cannot replay stops the indexer with an error instead.
    pub rpc_url: String,
    /// `getSignaturesForAddress` page size (at most 1000).
    pub page_limit: usize,
}

/// `[database]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://user@host:port/db` (env `DATABASE_URL`).
    pub url: String,
}

/// `[batch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Commit when this many transactions are waiting.
    pub max_transactions: usize,
    /// Commit at least this often while anything is waiting (milliseconds).
    pub flush_interval_ms: u64,
}

/// `[reconnect]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectConfig {
    /// First delay (milliseconds); doubles per failed attempt, with full jitter.
    pub initial_backoff_ms: u64,
    /// Largest delay (milliseconds).
    pub max_backoff_ms: u64,
}

/// `[retention]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Remove slot statuses and the record of which slots transactions were seen in below
    /// the newest finalized slot this often (seconds); 0 never. Rows keep their commitment
    /// (`depin_commitment` reads a pruned slot below the newest finalized one as finalized).
    pub prune_slots_interval_secs: u64,
    /// Keep the activity events no state row is derived from (meter readings, challenges
    /// opened, device audits, claim records opened: [`crate::rows::ACTIVITY_TABLES`]) and
    /// the energy markets' intervals (their lifecycle events,
    /// [`crate::rows::INTERVAL_TABLES`], with their `energy_intervals` and `energy_orders`
    /// rows) and the storage proofs and faults and reward claims
    /// ([`crate::rows::TALLY_TABLES`], added to per-key tallies the state reads instead)
    /// for this many slots below the newest finalized slot; 0 keeps everything. Checked on
    /// the `prune_slots_interval_secs` schedule. An interval goes only when it is settled
    /// and all its events are past the kept slots. The other events the state rows are derived from (the
    /// registry's, staking's, reward roots, deal lifecycles) are always kept (the state is
    /// recomputed from them).
    pub keep_event_slots: u64,
    /// Slots per segment of the retained events (about a day at 400 ms slots by default):
    /// a segment is retired whole once all its slots are past `keep_event_slots` and its
    /// rows are settled (an energy interval still kept moves its rows out of it first).
    pub event_segment_slots: u64,
    /// What becomes of a retired segment: `drop`, or `detach` (moved out of its event table
    /// into schema `depin_detached`, rows intact, for an operator to archive).
    pub retired_events: RetiredEvents,
}

/// What becomes of a retired event segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetiredEvents {
    /// Dropped.
    Drop,
    /// Moved to schema `depin_detached`.
    Detach,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            prune_slots_interval_secs: 60,
            keep_event_slots: 0,
            event_segment_slots: 216_000,
            retired_events: RetiredEvents::Drop,
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of `/metrics` and `/health` (env `DEPIN_INDEXER_LISTEN`).
    pub listen: SocketAddr,
    /// `/health` fails when no batch committed for this long (seconds).
    pub max_idle_secs: u64,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` or `text` (env `DEPIN_INDEXER_LOG_FORMAT`).
    pub format: String,
    /// Filter, e.g. `info` or `depin_indexer=debug` (env `RUST_LOG` wins).
    pub level: String,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            endpoint: String::new(),
            x_token: String::new(),
            commitment: Commitment::Confirmed,
            connect_timeout_secs: 10,
            programs: Vec::new(),
            stream_name: "main".into(),
            start_slot: None,
        }
    }
}

impl Default for BackfillConfig {
    fn default() -> Self {
        BackfillConfig {
            rpc_url: String::new(),
            page_limit: 1000,
        }
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_transactions: 5000,
            flush_interval_ms: 100,
        }
    }
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            initial_backoff_ms: 250,
            max_backoff_ms: 30_000,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            max_idle_secs: 60,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "json".into(),
            level: "info".into(),
        }
    }
}

impl Config {
    /// Reads `path` (if given), applies the environment through `env`, and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Self::parse(&text, &path.display().to_string())?
            }
            None => Config::default(),
        };
        if let Some(v) = env("DEPIN_INDEXER_ENDPOINT") {
            config.source.endpoint = v;
        }
        if let Some(v) = env("DEPIN_INDEXER_X_TOKEN") {
            config.source.x_token = v;
        }
        if let Some(v) = env("DEPIN_INDEXER_COMMITMENT") {
            config.source.commitment = v.parse().map_err(|reason| ConfigError::Env {
                var: "DEPIN_INDEXER_COMMITMENT",
                reason,
            })?;
        }
        if let Some(v) = env("DEPIN_INDEXER_RPC_URL") {
            config.backfill.rpc_url = v;
        }
        if let Some(v) = env("DATABASE_URL") {
            config.database.url = v;
        }
        if let Some(v) = env("DEPIN_INDEXER_LISTEN") {
            config.server.listen = v.parse().map_err(|e| ConfigError::Env {
                var: "DEPIN_INDEXER_LISTEN",
                reason: format!("{e}"),
            })?;
        }
        if let Some(v) = env("DEPIN_INDEXER_LOG_FORMAT") {
            config.log.format = v;
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML text (`origin` names it in errors). Does not validate.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: origin.to_owned(),
            source: Box::new(source),
        })
    }

    /// Checks required settings and ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |s: &str| Err(ConfigError::Invalid(s.to_owned()));
        if self.source.endpoint.is_empty() {
            return invalid("source.endpoint (or DEPIN_INDEXER_ENDPOINT) is required");
        }
        if !(self.source.endpoint.starts_with("http://")
            || self.source.endpoint.starts_with("https://"))
        {
            return invalid("source.endpoint must start with http:// or https://");
        }
        if self.database.url.is_empty() {
            return invalid("database.url (or DATABASE_URL) is required");
        }
        if self.batch.max_transactions == 0 {
            return invalid("batch.max_transactions must be at least 1");
        }
        if self.batch.flush_interval_ms == 0 {
            return invalid("batch.flush_interval_ms must be at least 1");
        }
        if self.reconnect.initial_backoff_ms == 0
            || self.reconnect.max_backoff_ms < self.reconnect.initial_backoff_ms
        {
            return invalid("reconnect: need 0 < initial_backoff_ms <= max_backoff_ms");
        }
        if self.retention.keep_event_slots > 0 {
            if self.retention.event_segment_slots == 0 {
                return invalid("retention.event_segment_slots must be at least 1");
            }
            // slots are BIGINT in the database: a larger value passed here and failed
            // every prune (and every batch with a segmented row) afterwards
            if i64::try_from(self.retention.keep_event_slots).is_err()
                || i64::try_from(self.retention.event_segment_slots).is_err()
            {
                return invalid(
                    "retention.keep_event_slots and retention.event_segment_slots must be at \
                     most 9223372036854775807 (a slot in the database)",
                );
            }
            if self.retention.prune_slots_interval_secs == 0 {
                return invalid(
                    "retention.keep_event_slots needs retention.prune_slots_interval_secs \
                     (the schedule it is checked on) above 0",
                );
            }
        }
        if !matches!(self.log.format.as_str(), "json" | "text") {
            return invalid("log.format must be json or text");
        }
        self.programs()?;
        Ok(())
    }

    /// The retention of the segmented events (activity, energy intervals, tallied), when
    /// configured (`keep_event_slots` > 0).
    pub fn event_retention(&self) -> Option<EventRetention> {
        (self.retention.keep_event_slots > 0).then_some(EventRetention {
            keep_slots: self.retention.keep_event_slots,
            segment_slots: self.retention.event_segment_slots,
            detach: self.retention.retired_events == RetiredEvents::Detach,
        })
    }

    /// The program ids to index: some of the suite's five, whose events this build
    /// decodes. Any other id is refused: its transactions would be stored without a single
    /// event and without a decode failure, as if nothing had happened (a deployment under
    /// other ids needs a build of the indexer with those ids).
    pub fn programs(&self) -> Result<Vec<Pubkey>, ConfigError> {
        if self.source.programs.is_empty() {
            return Ok(suite_programs().to_vec());
        }
        self.source
            .programs
            .iter()
            .map(|p| {
                let id: Pubkey = p
                    .parse()
                    .map_err(|_| ConfigError::Invalid(format!("source.programs: bad id {p:?}")))?;
                if !suite_programs().contains(&id) {
                    return Err(ConfigError::Invalid(format!(
                        "source.programs: {id} is not one of the suite's programs this build \
                         decodes ({})",
                        suite_programs()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Ok(id)
            })
            .collect()
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.source.connect_timeout_secs.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_example_file_parses_and_validates() {
        let text = include_str!("../indexer.example.toml");
        let config = Config::parse(text, "example").expect("parses");
        config.validate().expect("valid");
        assert_eq!(config.source.commitment, Commitment::Confirmed);
        assert_eq!(config.programs().expect("ids").len(), 5);
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = Config::load(
            None,
            env_of(&[
                ("DEPIN_INDEXER_ENDPOINT", "http://127.0.0.1:1"),
                ("DATABASE_URL", "postgres://x@127.0.0.1/db"),
                ("DEPIN_INDEXER_COMMITMENT", "processed"),
                ("DEPIN_INDEXER_LISTEN", "127.0.0.1:0"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.source.endpoint, "http://127.0.0.1:1");
        assert_eq!(config.source.commitment, Commitment::Processed);
        assert_eq!(config.server.listen.port(), 0);
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let no_endpoint = Config::load(None, env_of(&[("DATABASE_URL", "postgres://x@h/db")]));
        assert!(matches!(no_endpoint, Err(ConfigError::Invalid(m)) if m.contains("endpoint")));
        let bad_commitment = Config::load(None, env_of(&[("DEPIN_INDEXER_COMMITMENT", "rooted")]));
        assert!(matches!(
            bad_commitment,
            Err(ConfigError::Env {
                var: "DEPIN_INDEXER_COMMITMENT",
                ..
            })
        ));
        let unknown_key = Config::parse("[source]\nendpont = \"x\"\n", "t");
        assert!(matches!(unknown_key, Err(ConfigError::Parse { .. })));
        let mut config = Config::parse(include_str!("../indexer.example.toml"), "t").expect("ok");
        config.source.programs = vec!["not-a-key".into()];
        assert!(matches!(config.validate(), Err(ConfigError::Invalid(m)) if m.contains("bad id")));
        // an id this build does not decode: its transactions would be stored eventless
        config.source.programs = vec![Pubkey::new_unique().to_string()];
        assert!(
            matches!(config.validate(), Err(ConfigError::Invalid(m)) if m.contains("not one of the suite's programs"))
        );
        // a subset of the suite's programs is fine
        config.source.programs = vec![suite_programs()[0].to_string()];
        assert_eq!(config.programs().expect("valid"), vec![suite_programs()[0]]);
    }

    #[test]
    fn event_retention_is_off_by_default_and_checked_when_on() {
        let example = include_str!("../indexer.example.toml");
        let config = Config::parse(example, "t").expect("ok");
        assert_eq!(config.event_retention(), None, "keep everything by default");
        let mut config = config;
        config.retention.keep_event_slots = 432_000;
        config.retention.retired_events = RetiredEvents::Detach;
        config.validate().expect("valid");
        assert_eq!(
            config.event_retention(),
            Some(EventRetention {
                keep_slots: 432_000,
                segment_slots: 216_000,
                detach: true,
            })
        );
        let mut no_width = config.clone();
        no_width.retention.event_segment_slots = 0;
        assert!(
            matches!(no_width.validate(), Err(ConfigError::Invalid(m)) if m.contains("event_segment_slots"))
        );
        let mut never_checked = config.clone();
        never_checked.retention.prune_slots_interval_secs = 0;
        assert!(
            matches!(never_checked.validate(), Err(ConfigError::Invalid(m)) if m.contains("prune_slots_interval_secs"))
        );
        // slots are BIGINT: a width or horizon past i64::MAX failed every prune after
        for (keep, width) in [(u64::MAX, 216_000), (432_000, u64::MAX)] {
            let mut huge = config.clone();
            huge.retention.keep_event_slots = keep;
            huge.retention.event_segment_slots = width;
            assert!(
                matches!(huge.validate(), Err(ConfigError::Invalid(m)) if m.contains("at most 9223372036854775807")),
                "{keep} {width}"
            );
        }
        let unknown_action = Config::parse("[retention]\nretired_events = \"archive\"\n", "t");
        assert!(matches!(unknown_action, Err(ConfigError::Parse { .. })));
    }
}
