//! SPL Token reads and instructions the commands share: a mint's decimals and token program,
//! token accounts, associated token accounts.

use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use depin_sdk::{Instruction, Pubkey};
use solana_program_pack::Pack;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::amount::UiAmount;
use crate::context::get_account;
use crate::error::{CliError, CliResult};

/// What the commands need to know about a mint.
#[derive(Debug, Clone, Copy)]
pub struct MintInfo {
    /// The mint.
    pub address: Pubkey,
    /// SPL Token or Token-2022 (the mint account's owner).
    pub token_program: Pubkey,
    /// Its decimals.
    pub decimals: u8,
    /// Who may mint, if anyone.
    pub mint_authority: Option<Pubkey>,
    /// Tokens in circulation, in base units.
    pub supply: u64,
}

impl MintInfo {
    /// `amount` in base units of this mint (more decimals than the mint has is an error).
    pub fn base_units(&self, amount: &UiAmount) -> CliResult<u64> {
        amount
            .to_base_units(self.decimals)
            .map_err(|e| CliError::BadInput(e.to_string()))
    }

    /// `amount` base units as UI text.
    pub fn ui(&self, amount: u64) -> String {
        crate::amount::format_ui(amount, self.decimals)
    }

    /// `owner`'s associated token account of this mint.
    pub fn ata(&self, owner: &Pubkey) -> Pubkey {
        get_associated_token_address_with_program_id(owner, &self.address, &self.token_program)
    }

    /// Creates `owner`'s associated account of this mint unless it exists; `payer` pays.
    pub fn create_ata(&self, payer: &Pubkey, owner: &Pubkey) -> Instruction {
        create_associated_token_account_idempotent(payer, owner, &self.address, &self.token_program)
    }
}

/// Whether `program` is SPL Token or Token-2022.
pub fn is_token_program(program: &Pubkey) -> bool {
    *program == spl_token::ID || *program == spl_token_2022::ID
}

/// Reads mint `address`.
pub async fn mint_info(rpc: &RpcClient, address: &Pubkey) -> CliResult<MintInfo> {
    let account = get_account(rpc, address).await?.ok_or(CliError::NotFound {
        what: "mint",
        address: *address,
    })?;
    let not_a_mint = || CliError::BadInput(format!("{address} is not a token mint"));
    if !is_token_program(&account.owner) {
        return Err(not_a_mint());
    }
    let base = account
        .data
        .get(..spl_token::state::Mint::LEN)
        .ok_or_else(not_a_mint)?;
    // a token account is longer than a mint: its first bytes would not unpack as one
    if account.data.len() == spl_token::state::Account::LEN {
        return Err(not_a_mint());
    }
    let mint = spl_token::state::Mint::unpack_from_slice(base).map_err(|_| not_a_mint())?;
    if !mint.is_initialized {
        return Err(not_a_mint());
    }
    Ok(MintInfo {
        address: *address,
        token_program: account.owner,
        decimals: mint.decimals,
        mint_authority: mint.mint_authority.into(),
        supply: mint.supply,
    })
}

/// What the commands need to know about a token account.
#[derive(Debug, Clone, Copy)]
pub struct TokenAccountInfo {
    /// Its mint.
    pub mint: Pubkey,
    /// Its owner.
    pub owner: Pubkey,
    /// Its balance in base units.
    pub amount: u64,
}

/// Decodes a token account from its raw data, `None` when it is not one.
pub fn unpack_token_account(owner_program: &Pubkey, data: &[u8]) -> Option<TokenAccountInfo> {
    if !is_token_program(owner_program) {
        return None;
    }
    let base = data.get(..spl_token::state::Account::LEN)?;
    let account = spl_token::state::Account::unpack_from_slice(base).ok()?;
    Some(TokenAccountInfo {
        mint: account.mint,
        owner: account.owner,
        amount: account.amount,
    })
}

/// Reads token account `address`; `None` when it does not exist.
pub async fn token_account(
    rpc: &RpcClient,
    address: &Pubkey,
) -> CliResult<Option<TokenAccountInfo>> {
    match get_account(rpc, address).await? {
        None => Ok(None),
        Some(account) => unpack_token_account(&account.owner, &account.data)
            .map(Some)
            .ok_or_else(|| CliError::BadInput(format!("{address} is not a token account"))),
    }
}

/// The instructions that create and initialize mint `mint` (a fresh keypair's address).
pub fn create_mint_instructions(
    payer: &Pubkey,
    mint: &Pubkey,
    mint_authority: &Pubkey,
    token_program: &Pubkey,
    decimals: u8,
    rent: u64,
) -> CliResult<Vec<Instruction>> {
    let space = spl_token::state::Mint::LEN;
    let create = solana_system_interface::instruction::create_account(
        payer,
        mint,
        rent,
        space as u64,
        token_program,
    );
    let init = spl_token_2022::instruction::initialize_mint2(
        token_program,
        mint,
        mint_authority,
        None,
        decimals,
    )
    .map_err(|e| CliError::BadInput(format!("initialize_mint2: {e}")))?;
    Ok(vec![create, init])
}

/// `MintTo` of `amount` base units into `account`.
pub fn mint_to_instruction(
    mint: &MintInfo,
    account: &Pubkey,
    authority: &Pubkey,
    amount: u64,
) -> CliResult<Instruction> {
    spl_token_2022::instruction::mint_to(
        &mint.token_program,
        &mint.address,
        account,
        authority,
        &[],
        amount,
    )
    .map_err(|e| CliError::BadInput(format!("mint_to: {e}")))
}

/// Bytes of a mint account (rent is asked for this size).
pub const MINT_LEN: usize = spl_token::state::Mint::LEN;
