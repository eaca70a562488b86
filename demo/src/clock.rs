//! Waiting on the chain's clock. Deals' proving periods and the market's intervals are
//! measured by the programs in the Clock sysvar's unix time, which the localnet sets when a
//! slot opens: on a busy machine a slot can stay open for a while, so the chain's clock lags
//! the wall clock, and an instruction sent when the wall clock says a period has begun can
//! still land in a slot whose clock says it has not.

use std::time::{Duration, Instant};

use depin_sdk::client::Client;

use crate::error::DemoError;

/// Longest wait for the chain's clock to reach a time.
const PATIENCE: Duration = Duration::from_secs(120);

/// Returns once the chain's clock (the newest processed slot's) reads at least `unix`, so
/// that a transaction sent next lands at or after it. Fails with [`DemoError::Timeout`]
/// after [`PATIENCE`].
pub async fn until(client: &Client, unix: i64, what: &str) -> Result<(), DemoError> {
    let waited = Instant::now();
    loop {
        let now = client
            .chain_time()
            .await
            .map_err(DemoError::chain(format!("{what}: read the chain's clock")))?;
        let Some(ahead) = unix.checked_sub(now).filter(|ahead| *ahead > 0) else {
            return Ok(());
        };
        if waited.elapsed() > PATIENCE {
            return Err(DemoError::Timeout(format!(
                "{what}: the chain's clock reads {now}, {ahead} s before {unix}"
            )));
        }
        // most of the way on the wall clock, the last second in short looks
        let ahead = Duration::from_secs(u64::try_from(ahead).unwrap_or(0));
        let nap = ahead
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_default()
            .max(Duration::from_millis(100));
        tokio::time::sleep(nap).await;
    }
}
