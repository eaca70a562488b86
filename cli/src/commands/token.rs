//! `depin token`: the SPL token mints and accounts a network needs (reward mint, fee and
//! stake mint, treasury and operator accounts), so a network can be bootstrapped with this
//! CLI alone.

use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use clap::Subcommand;
use depin_sdk::Pubkey;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::amount::UiAmount;
use crate::context::{get_account, send, Ctx};
use crate::error::{CliError, CliResult};
use crate::keys::parse_pubkey;
use crate::tokens::{self, mint_info};

/// Mints and token accounts.
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Creates a mint whose mint authority is the --keypair (or --mint-authority).
    CreateMint {
        /// Decimals of the mint.
        #[arg(long)]
        decimals: u8,
        /// Mint authority [default: the --keypair's pubkey].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        mint_authority: Option<Pubkey>,
        /// Create it under Token-2022 instead of SPL Token.
        #[arg(long)]
        token_2022: bool,
    },
    /// Creates OWNER's associated token account of MINT (nothing happens if it exists).
    CreateAccount {
        /// The mint.
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        mint: Pubkey,
        /// The owner [default: the --keypair's pubkey].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        owner: Option<Pubkey>,
    },
    /// Mints AMOUNT (in UI units) to a wallet's associated account (created if needed) or
    /// to a token account; the --keypair is the mint authority.
    MintTo {
        /// The mint.
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        mint: Pubkey,
        /// A wallet (its associated account is used) or a token account of the mint.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        to: Pubkey,
        /// Amount in UI units (e.g. 1.5 with 6 decimals is 1,500,000 base units).
        #[arg(long)]
        amount: UiAmount,
    },
    /// Prints a token account's balance (an owner's associated account, or --account).
    Balance {
        /// The mint.
        #[arg(long, value_parser = parse_pubkey, value_name = "MINT")]
        mint: Pubkey,
        /// The owner [default: the --keypair's pubkey].
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY", conflicts_with = "account")]
        owner: Option<Pubkey>,
        /// A token account of the mint.
        #[arg(long, value_parser = parse_pubkey, value_name = "PUBKEY")]
        account: Option<Pubkey>,
    },
}

/// Runs a `token` command.
pub async fn run(ctx: &Ctx, cmd: TokenCommand) -> CliResult<Value> {
    match cmd {
        TokenCommand::CreateMint {
            decimals,
            mint_authority,
            token_2022,
        } => {
            let payer = ctx.payer()?;
            let authority = mint_authority.unwrap_or_else(|| payer.pubkey());
            let token_program = if token_2022 {
                spl_token_2022::ID
            } else {
                spl_token::ID
            };
            let client = ctx.client(payer);
            let rent = client
                .rpc()
                .get_minimum_balance_for_rent_exemption(tokens::MINT_LEN)
                .await
                .map_err(CliError::rpc)?;
            let mint = Keypair::new();
            let ixs = tokens::create_mint_instructions(
                &client.payer(),
                &mint.pubkey(),
                &authority,
                &token_program,
                decimals,
                rent,
            )?;
            let signature = send(&client, &ixs, &[&mint]).await?;
            Ok(json!({
                "mint": mint.pubkey().to_string(),
                "decimals": decimals,
                "mint_authority": authority.to_string(),
                "token_program": token_program.to_string(),
                "signature": signature,
            }))
        }
        TokenCommand::CreateAccount { mint, owner } => {
            let payer = ctx.payer()?;
            let owner = owner.unwrap_or_else(|| payer.pubkey());
            let client = ctx.client(payer);
            let mint = mint_info(client.rpc(), &mint).await?;
            let account = mint.ata(&owner);
            let signature = send(&client, &[mint.create_ata(&client.payer(), &owner)], &[]).await?;
            Ok(json!({
                "account": account.to_string(),
                "owner": owner.to_string(),
                "mint": mint.address.to_string(),
                "signature": signature,
            }))
        }
        TokenCommand::MintTo { mint, to, amount } => {
            let payer = ctx.payer()?;
            let client = ctx.client(payer);
            let mint = mint_info(client.rpc(), &mint).await?;
            let base = mint.base_units(&amount)?;
            if mint.mint_authority != Some(client.payer()) {
                return Err(CliError::BadInput(format!(
                    "{} is not the mint authority of {}",
                    client.payer(),
                    mint.address
                )));
            }
            let mut ixs = Vec::new();
            let existing = get_account(client.rpc(), &to).await?;
            let account = match existing
                .as_ref()
                .and_then(|a| tokens::unpack_token_account(&a.owner, &a.data))
            {
                Some(token_account) if token_account.mint == mint.address => to,
                Some(_) => {
                    return Err(CliError::BadInput(format!(
                        "{to} is a token account of another mint"
                    )))
                }
                None => {
                    let ata = mint.ata(&to);
                    ixs.push(mint.create_ata(&client.payer(), &to));
                    ata
                }
            };
            ixs.push(tokens::mint_to_instruction(
                &mint,
                &account,
                &client.payer(),
                base,
            )?);
            let signature = send(&client, &ixs, &[]).await?;
            Ok(json!({
                "mint": mint.address.to_string(),
                "account": account.to_string(),
                "amount": base,
                "ui_amount": mint.ui(base),
                "signature": signature,
            }))
        }
        TokenCommand::Balance {
            mint,
            owner,
            account,
        } => {
            let rpc = ctx.rpc();
            let mint = mint_info(&rpc, &mint).await?;
            let account = match (account, owner) {
                (Some(account), _) => account,
                (None, Some(owner)) => mint.ata(&owner),
                (None, None) => mint.ata(&ctx.payer()?.pubkey()),
            };
            let amount = match tokens::token_account(&rpc, &account).await? {
                Some(info) if info.mint == mint.address => info.amount,
                Some(_) => {
                    return Err(CliError::BadInput(format!(
                        "{account} is a token account of another mint"
                    )))
                }
                None => 0,
            };
            Ok(json!({
                "account": account.to_string(),
                "mint": mint.address.to_string(),
                "amount": amount,
                "ui_amount": mint.ui(amount),
                "decimals": mint.decimals,
            }))
        }
    }
}
