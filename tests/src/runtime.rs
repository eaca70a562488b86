//! The in-process Solana runtime with the suite's programs and the real SPL token programs.

use std::path::PathBuf;

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use solana_clock::Clock;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_program_test::{processor, BanksClientError, ProgramTest, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

/// Why a transaction did not land.
#[derive(Debug)]
pub enum SendError {
    /// The runtime executed it and it failed (the error a validator would report).
    Transaction(TransactionError),
    /// The runtime could not be reached.
    Transport(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transaction(e) => write!(f, "transaction failed: {e}"),
            SendError::Transport(e) => write!(f, "runtime unreachable: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

impl From<BanksClientError> for SendError {
    fn from(e: BanksClientError) -> Self {
        match e {
            BanksClientError::TransactionError(err)
            | BanksClientError::SimulationError { err, .. } => SendError::Transaction(err),
            other => SendError::Transport(other.to_string()),
        }
    }
}

/// What a Geyser transaction update carries about one processed transaction.
#[derive(Debug, Clone)]
pub struct ProcessedTransaction {
    /// Base58 signature.
    pub signature: String,
    /// The signed transaction as sent.
    pub transaction: Transaction,
    /// Account keys of the message.
    pub account_keys: Vec<Pubkey>,
    /// Inner instructions per top-level instruction, with that instruction's index.
    pub inner_instructions: Vec<(u8, Vec<InnerInstruction>)>,
    /// Log messages.
    pub log_messages: Vec<String>,
}

/// One inner instruction: the invoked program's index in the account keys, and the data.
#[derive(Debug, Clone)]
pub struct InnerInstruction {
    /// Index of the invoked program in the account keys.
    pub program_id_index: u8,
    /// Instruction data.
    pub data: Vec<u8>,
}

/// One suite instruction of a successful transaction, with the compute units the runtime
/// metered for it (its CPIs included).
#[derive(Debug, Clone)]
pub struct Metered {
    /// The suite program.
    pub program: Pubkey,
    /// The instruction's data (its first 8 bytes name it).
    pub data: Vec<u8>,
    /// Compute units consumed.
    pub units: u64,
    /// The label set with [`Suite::meter_label`] when it ran.
    pub label: String,
}

/// Compute units of each top-level instruction, in order, from a transaction's logs (the
/// `Program <id> consumed <n> of <m> compute units` line at invocation depth 1). Programs
/// that log no consumption (precompiles) get `None`.
pub fn top_level_units(logs: &[String]) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for line in logs {
        let mut words = line.split_whitespace();
        if words.next() != Some("Program") {
            continue;
        }
        let (Some(program), Some(verb)) = (words.next(), words.next()) else {
            continue;
        };
        match verb {
            "invoke" => {
                depth += 1;
                if depth == 1 {
                    out.push((program.to_string(), None));
                }
            }
            "consumed" if depth == 1 => {
                if let (Some(units), Some((last, slot))) = (
                    words.next().and_then(|n| n.parse().ok()),
                    out.last_mut().map(|(p, u)| (p.clone(), u)),
                ) {
                    if last == program {
                        *slot = Some(units);
                    }
                }
            }
            "success" | "failed:" => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// Which build of the suite's programs the runtime executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramBuild {
    /// Compiled natively into this test binary (the default here).
    Native,
    /// SBF shared objects from this directory (`cargo build-sbf` / `anchor build` output).
    Sbf(PathBuf),
}

impl ProgramBuild {
    /// SBF when `SBF_OUT_DIR` or `BPF_OUT_DIR` names a directory holding every program's
    /// `.so`, native otherwise.
    pub fn detect() -> Self {
        let dir = std::env::var_os("SBF_OUT_DIR").or_else(|| std::env::var_os("BPF_OUT_DIR"));
        match dir.map(PathBuf::from) {
            Some(dir)
                if PROGRAMS
                    .iter()
                    .all(|(name, _)| dir.join(format!("{name}.so")).is_file()) =>
            {
                ProgramBuild::Sbf(dir)
            }
            _ => ProgramBuild::Native,
        }
    }
}

/// The suite's programs, by the name of their `.so` and their id.
pub const PROGRAMS: [(&str, Pubkey); 5] = [
    ("device_registry", device_registry::ID),
    ("staking", staking::ID),
    ("rewards", rewards::ID),
    ("energy_settlement", energy_settlement::ID),
    ("storage_escrow", storage_escrow::ID),
];

// Anchor's generated `entry` wants one lifetime for the program id, the accounts and the data,
// while the runtime's native entrypoint type leaves them independent. The runtime keeps all
// three alive for the whole call, so unifying the lifetimes is sound.
macro_rules! anchor_processor {
    ($name:ident, $program:ident) => {
        fn $name(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
            // SAFETY: see the comment above the macro; only lifetimes change, not layout.
            let accounts =
                unsafe { std::mem::transmute::<&[AccountInfo], &[AccountInfo]>(accounts) };
            $program::entry(program_id, accounts, data)
        }
    };
}

anchor_processor!(registry_processor, device_registry);
anchor_processor!(staking_processor, staking);
anchor_processor!(rewards_processor, rewards);
anchor_processor!(energy_processor, energy_settlement);
anchor_processor!(storage_processor, storage_escrow);

/// The runtime logs every instruction at debug level to stderr, which the test harness does
/// not capture. Unless the caller chose a level with `RUST_LOG`, keep only errors.
fn quiet_runtime_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            // Runs once, before any runtime (and its threads) exists in this process.
            std::env::set_var("RUST_LOG", "error");
        }
    });
}

/// The running runtime and the handful of operations tests need.
pub struct Suite {
    /// The runtime's context (banks client, payer, blockhash).
    pub ctx: ProgramTestContext,
    /// Which program build is running.
    pub build: ProgramBuild,
    /// Mint authority of every mint the harness creates.
    pub mint_authority: Keypair,
    next_network_id: u32,
    recorded: Option<Vec<ProcessedTransaction>>,
    metered: Option<Vec<Metered>>,
    meter_label: String,
    last_processed: Option<Transaction>,
}

impl Suite {
    /// Starts a fresh runtime with the suite's programs (see [`ProgramBuild::detect`]) and the
    /// real SPL Token / Token-2022 programs that every runtime genesis carries.
    pub async fn start() -> Self {
        quiet_runtime_logs();
        let build = ProgramBuild::detect();
        let mut test = ProgramTest::default();
        match &build {
            ProgramBuild::Native => {
                test.prefer_bpf(false);
                test.add_program(
                    "device_registry",
                    device_registry::ID,
                    processor!(registry_processor),
                );
                test.add_program("staking", staking::ID, processor!(staking_processor));
                test.add_program("rewards", rewards::ID, processor!(rewards_processor));
                test.add_program(
                    "energy_settlement",
                    energy_settlement::ID,
                    processor!(energy_processor),
                );
                test.add_program(
                    "storage_escrow",
                    storage_escrow::ID,
                    processor!(storage_processor),
                );
            }
            ProgramBuild::Sbf(dir) => {
                std::env::set_var("SBF_OUT_DIR", dir);
                test.prefer_bpf(true);
                for (name, id) in PROGRAMS {
                    test.add_program(name, id, None);
                }
            }
        }
        let ctx = test.start_with_context().await;
        Suite {
            ctx,
            build,
            mint_authority: Keypair::new(),
            next_network_id: 1,
            recorded: None,
            metered: None,
            meter_label: String::new(),
            last_processed: None,
        }
    }

    /// A network id not used yet in this runtime.
    pub fn fresh_network_id(&mut self) -> u32 {
        let id = self.next_network_id;
        self.next_network_id = self.next_network_id.wrapping_add(1);
        id
    }

    /// The fee payer of every transaction the harness sends.
    pub fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    /// From now on, keeps every successful transaction (with what a Geyser update carries)
    /// until [`Suite::take_recorded`]; the indexer's tests replay them as a chain.
    pub fn start_recording(&mut self) {
        self.recorded.get_or_insert_with(Vec::new);
    }

    /// From now on, keeps the compute units of every suite instruction of every successful
    /// transaction until [`Suite::take_metered`] (meaningful on SBF builds: native programs
    /// are not metered).
    pub fn start_metering(&mut self) {
        self.metered.get_or_insert_with(Vec::new);
    }

    /// Labels the instructions metered from now on (the scenario they measure).
    pub fn meter_label(&mut self, label: impl Into<String>) {
        self.meter_label = label.into();
    }

    /// The instructions metered so far, oldest first (metering goes on).
    pub fn take_metered(&mut self) -> Vec<Metered> {
        self.metered
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The last transaction [`Suite::send`] landed, signed as it was sent (what an attacker
    /// could capture and resend).
    pub fn last_processed(&self) -> Option<Transaction> {
        self.last_processed.clone()
    }

    /// The transactions recorded so far, oldest first (recording goes on).
    pub fn take_recorded(&mut self) -> Vec<ProcessedTransaction> {
        self.recorded
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Sends one transaction with `instructions`, paid by the harness payer and signed by it
    /// and `signers`, and waits until it is processed.
    pub async fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), SendError> {
        let mut retried = false;
        loop {
            let result = if self.recorded.is_some() || self.metered.is_some() {
                self.send_with_metadata(instructions, signers)
                    .await
                    .map(drop)
            } else {
                let tx = self.transaction(instructions, signers).await?;
                let result = self
                    .ctx
                    .banks_client
                    .process_transaction(tx.clone())
                    .await
                    .map_err(SendError::from);
                if result.is_ok() {
                    self.last_processed = Some(tx);
                }
                result
            };
            match result {
                // The same instructions and signers under the same blockhash make the same
                // signature; a test may legitimately send that twice.
                Err(SendError::Transaction(TransactionError::AlreadyProcessed)) if !retried => {
                    retried = true;
                    self.ctx.last_blockhash = self
                        .ctx
                        .get_new_latest_blockhash()
                        .await
                        .map_err(|e| SendError::Transport(e.to_string()))?;
                }
                other => return other,
            }
        }
    }

    /// Simulates the transaction, then processes it, and returns the data of every event CPI
    /// the suite's programs made (in execution order), the way a Geyser stream reports
    /// inner instructions.
    pub async fn send_with_events(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Vec<Vec<u8>>, SendError> {
        let processed = self.send_with_metadata(instructions, signers).await?;
        let keys = &processed.account_keys;
        Ok(processed
            .inner_instructions
            .into_iter()
            .flat_map(|(_, group)| group)
            .filter(|inner| {
                keys.get(usize::from(inner.program_id_index))
                    .is_some_and(|program| PROGRAMS.iter().any(|(_, id)| id == program))
                    && depin_sdk::events::event_payload(&inner.data).is_some()
            })
            .map(|inner| inner.data)
            .collect())
    }

    /// Simulates the transaction (to capture what a Geyser update carries: inner
    /// instructions and logs), then processes the very same transaction.
    pub async fn send_with_metadata(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<ProcessedTransaction, SendError> {
        let tx = self.transaction(instructions, signers).await?;
        let simulation = self
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .map_err(SendError::from)?;
        if let Some(Err(err)) = simulation.result {
            return Err(SendError::Transaction(err));
        }
        let details = simulation
            .simulation_details
            .ok_or_else(|| SendError::Transport("simulation returned no details".into()))?;
        let mut inner_instructions = Vec::new();
        for (index, group) in details
            .inner_instructions
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let index = u8::try_from(index)
                .map_err(|_| SendError::Transport("more than 255 instructions".into()))?;
            let group = group
                .into_iter()
                .map(|inner| InnerInstruction {
                    program_id_index: inner.instruction.program_id_index,
                    data: inner.instruction.data,
                })
                .collect();
            inner_instructions.push((index, group));
        }
        let processed = ProcessedTransaction {
            signature: tx.signatures[0].to_string(),
            transaction: tx.clone(),
            account_keys: tx.message.account_keys.clone(),
            inner_instructions,
            log_messages: details.logs,
        };
        self.ctx
            .banks_client
            .process_transaction(tx)
            .await
            .map_err(SendError::from)?;
        self.last_processed = Some(processed.transaction.clone());
        if let Some(metered) = &mut self.metered {
            // Logs name the programs in the order they ran; an instruction whose program
            // logs nothing (a precompile) simply has no entry.
            let mut logged = top_level_units(&processed.log_messages).into_iter();
            let message = &processed.transaction.message;
            for ix in &message.instructions {
                let Some(&id) = message.account_keys.get(usize::from(ix.program_id_index)) else {
                    continue;
                };
                if !PROGRAMS.iter().any(|(_, p)| *p == id) {
                    continue;
                }
                let name = id.to_string();
                if let Some((_, Some(units))) = logged.by_ref().find(|(p, _)| *p == name) {
                    metered.push(Metered {
                        program: id,
                        data: ix.data.clone(),
                        units,
                        label: self.meter_label.clone(),
                    });
                }
            }
        }
        if let Some(recorded) = &mut self.recorded {
            recorded.push(processed.clone());
        }
        Ok(processed)
    }

    /// Builds and signs a transaction under the latest blockhash.
    pub async fn transaction(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<Transaction, SendError> {
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await?;
        let payer = &self.ctx.payer;
        let mut all: Vec<&Keypair> = vec![payer];
        for signer in signers {
            if !all.iter().any(|k| k.pubkey() == signer.pubkey()) {
                all.push(signer);
            }
        }
        Ok(Transaction::new_signed_with_payer(
            instructions,
            Some(&payer.pubkey()),
            &all,
            blockhash,
        ))
    }

    /// Raw account, if it exists.
    pub async fn raw_account(&mut self, address: Pubkey) -> Option<solana_account::Account> {
        self.ctx
            .banks_client
            .get_account(address)
            .await
            .expect("banks client reachable")
    }

    /// Decodes the account at `address` as `T` (discriminator checked).
    pub async fn account<T: AccountDeserialize + Discriminator>(&mut self, address: Pubkey) -> T {
        let account = self
            .raw_account(address)
            .await
            .unwrap_or_else(|| panic!("account {address} does not exist"));
        depin_sdk::accounts::decode::<T>(&account.data)
            .unwrap_or_else(|e| panic!("account {address}: {e}"))
    }

    /// True when an account exists at `address`.
    pub async fn exists(&mut self, address: Pubkey) -> bool {
        self.raw_account(address).await.is_some()
    }

    /// Lamports of `address` (0 when it does not exist).
    pub async fn lamports(&mut self, address: Pubkey) -> u64 {
        self.raw_account(address).await.map_or(0, |a| a.lamports)
    }

    /// Gives `address` `lamports` from the payer (for keys that must pay rent).
    pub async fn airdrop(&mut self, address: &Pubkey, lamports: u64) {
        let ix = solana_system_interface::instruction::transfer(&self.payer(), address, lamports);
        self.send(&[ix], &[]).await.expect("airdrop");
    }

    /// Creates a mint owned by `token_program` (SPL Token or Token-2022) with the harness
    /// mint authority.
    pub async fn create_mint(&mut self, token_program: &Pubkey, decimals: u8) -> Pubkey {
        let mint = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.expect("rent");
        let space = spl_token::state::Mint::LEN;
        let create = solana_system_interface::instruction::create_account(
            &self.payer(),
            &mint.pubkey(),
            rent.minimum_balance(space),
            space as u64,
            token_program,
        );
        let init = spl_token_2022::instruction::initialize_mint2(
            token_program,
            &mint.pubkey(),
            &self.mint_authority.pubkey(),
            None,
            decimals,
        )
        .expect("initialize_mint2");
        self.send(&[create, init], &[&mint])
            .await
            .expect("create mint");
        mint.pubkey()
    }

    /// Creates a token account of `mint` owned by `owner`.
    pub async fn create_token_account(
        &mut self,
        token_program: &Pubkey,
        mint: &Pubkey,
        owner: &Pubkey,
    ) -> Pubkey {
        let account = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.expect("rent");
        let space = spl_token::state::Account::LEN;
        let create = solana_system_interface::instruction::create_account(
            &self.payer(),
            &account.pubkey(),
            rent.minimum_balance(space),
            space as u64,
            token_program,
        );
        let init = spl_token_2022::instruction::initialize_account3(
            token_program,
            &account.pubkey(),
            mint,
            owner,
        )
        .expect("initialize_account3");
        self.send(&[create, init], &[&account])
            .await
            .expect("create token account");
        account.pubkey()
    }

    /// Mints `amount` of `mint` into `account` (real `mint_to` through the token program).
    pub async fn mint_to(
        &mut self,
        token_program: &Pubkey,
        mint: &Pubkey,
        account: &Pubkey,
        amount: u64,
    ) {
        let ix = spl_token_2022::instruction::mint_to(
            token_program,
            mint,
            account,
            &self.mint_authority.pubkey(),
            &[],
            amount,
        )
        .expect("mint_to");
        let authority = self.mint_authority.insecure_clone();
        self.send(&[ix], &[&authority]).await.expect("mint_to");
    }

    /// Closes the empty token account `account` of `owner` (its rent goes to the payer), as
    /// an owner does with an account it no longer uses.
    pub async fn close_token_account(
        &mut self,
        token_program: &Pubkey,
        account: &Pubkey,
        owner: &Keypair,
    ) {
        let ix = spl_token_2022::instruction::close_account(
            token_program,
            account,
            &self.payer(),
            &owner.pubkey(),
            &[],
        )
        .expect("close_account");
        self.send(&[ix], &[owner])
            .await
            .expect("close token account");
    }

    /// Token balance of `account`, read from the account data the token program wrote.
    pub async fn token_balance(&mut self, account: Pubkey) -> u64 {
        let raw = self
            .raw_account(account)
            .await
            .unwrap_or_else(|| panic!("token account {account} does not exist"));
        spl_token::state::Account::unpack_from_slice(&raw.data[..spl_token::state::Account::LEN])
            .expect("token account layout")
            .amount
    }

    /// Supply of `mint`.
    pub async fn mint_supply(&mut self, mint: Pubkey) -> u64 {
        let raw = self.raw_account(mint).await.expect("mint exists");
        spl_token::state::Mint::unpack_from_slice(&raw.data[..spl_token::state::Mint::LEN])
            .expect("mint layout")
            .supply
    }

    /// The runtime's clock.
    pub async fn clock(&mut self) -> Clock {
        self.ctx
            .banks_client
            .get_sysvar::<Clock>()
            .await
            .expect("clock sysvar")
    }

    /// Advances `n` slots one at a time (so every slot gets a bank and a slot hash), keeping
    /// the clock's unix time from going backwards.
    pub async fn advance_slots(&mut self, n: u64) {
        for _ in 0..n {
            let before = self.clock().await;
            self.ctx
                .warp_to_slot(before.slot + 1)
                .expect("warp to the next slot");
            let mut after = self.clock().await;
            if after.unix_timestamp < before.unix_timestamp {
                after.unix_timestamp = before.unix_timestamp;
                self.ctx.set_sysvar(&after);
            }
        }
    }

    /// Moves past `n` slots without a block: the next `n` slots get no bank and no slot
    /// hash, the one after them gets both (the runtime's warp gives its target's parent a
    /// bank), and the clock lands on the slot after that, `n + 2` slots ahead. The clock's
    /// unix time does not go backwards.
    pub async fn skip_slots(&mut self, n: u64) {
        let before = self.clock().await;
        self.ctx
            .warp_to_slot(before.slot + n + 2)
            .expect("warp past the skipped slots");
        let mut after = self.clock().await;
        if after.unix_timestamp < before.unix_timestamp {
            after.unix_timestamp = before.unix_timestamp;
            self.ctx.set_sysvar(&after);
        }
    }

    /// Moves the clock's unix time forward by `seconds` (slots are unchanged).
    pub async fn advance_time(&mut self, seconds: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp = clock.unix_timestamp.saturating_add(seconds);
        self.ctx.set_sysvar(&clock);
    }
}

#[cfg(test)]
mod tests {
    use super::top_level_units;

    #[test]
    fn top_level_units_skip_inner_invocations() {
        let logs: Vec<String> = [
            "Program Ed25519SigVerify111111111111111111111111111 invoke [1]",
            "Program Ed25519SigVerify111111111111111111111111111 success",
            "Program A invoke [1]",
            "Program log: Instruction: Claim",
            "Program T invoke [2]",
            "Program T consumed 4492 of 180000 compute units",
            "Program T success",
            "Program A consumed 17789 of 200000 compute units",
            "Program A success",
            "Program B invoke [1]",
            "Program B consumed 10 of 182211 compute units",
            "Program B failed: custom program error: 0x1",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            top_level_units(&logs),
            vec![
                (
                    "Ed25519SigVerify111111111111111111111111111".to_string(),
                    None
                ),
                ("A".to_string(), Some(17789)),
                ("B".to_string(), Some(10)),
            ]
        );
    }
}
