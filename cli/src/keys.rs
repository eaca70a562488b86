//! Keys and the other values typed on the command line: Solana CLI keypair files, base58
//! pubkeys, cluster monikers, hex hashes and H3 cells.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use depin_sdk::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::error::{CliError, CliResult};

/// Where the Solana CLI keeps its default keypair: `~/.config/solana/id.json`.
pub fn default_keypair_path() -> PathBuf {
    expand_tilde(Path::new("~/.config/solana/id.json"))
}

/// `path` with a leading `~/` replaced by `$HOME/`.
pub fn expand_tilde(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// Reads a Solana CLI keypair file: a JSON array of the 64 bytes of the secret and public key.
pub fn read_keypair_file(path: &Path) -> CliResult<Keypair> {
    let path = expand_tilde(path);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::KeypairMissing(path))
        }
        Err(e) => {
            return Err(CliError::KeypairMalformed {
                path,
                reason: e.to_string(),
            })
        }
    };
    let malformed = |reason: &str| CliError::KeypairMalformed {
        path: path.clone(),
        reason: reason.to_string(),
    };
    let bytes: Vec<u8> =
        serde_json::from_str(&text).map_err(|_| malformed("not a JSON array of 64 bytes"))?;
    if bytes.len() != 64 {
        return Err(malformed(&format!("{} bytes, expected 64", bytes.len())));
    }
    Keypair::try_from(&bytes[..])
        .map_err(|_| malformed("the public key does not match the secret key"))
}

/// Writes `keypair` as a Solana CLI keypair file (owner-only permissions on Unix); refuses to
/// overwrite an existing file unless `force`, also one that appears while this one is being
/// written.
pub fn write_keypair_file(path: &Path, keypair: &Keypair, force: bool) -> CliResult<()> {
    let path = expand_tilde(path);
    let json = serde_json::to_string(&keypair.to_bytes().to_vec())
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CliError::BadInput(format!(
            "{} exists (use --force to overwrite)",
            path.display()
        )),
        _ => CliError::BadInput(format!("{}: {e}", path.display())),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    // a new file, its owner's alone from its first byte, put in place only once complete: a
    // crash or a full disk never leaves a half-written key, and without `force` it is linked
    // in a step that refuses an existing file
    let write =
        |w: &mut std::io::BufWriter<std::fs::File>| std::io::Write::write_all(w, json.as_bytes());
    if force {
        depin_sdk::file::replace(&path, true, write)
    } else {
        depin_sdk::file::create(&path, true, write)
    }
    .map_err(io)
}

/// Parses a base58 pubkey (a clap value parser).
pub fn parse_pubkey(s: &str) -> Result<Pubkey, String> {
    Pubkey::from_str(s).map_err(|_| format!("malformed pubkey {s:?}"))
}

/// A pubkey, or the pubkey of a keypair file: how `--fund` names an account.
pub fn pubkey_or_keypair_file(s: &str) -> CliResult<Pubkey> {
    if let Ok(key) = Pubkey::from_str(s) {
        return Ok(key);
    }
    let path = Path::new(s);
    if path.exists() || s.contains('/') || s.ends_with(".json") {
        return read_keypair_file(path).map(|k| k.pubkey());
    }
    Err(CliError::BadInput(format!(
        "{s:?} is neither a pubkey nor a keypair file"
    )))
}

/// The JSON-RPC URL of a Solana CLI cluster moniker (`l`, `d`, `m`, `t` and their long
/// names), or the URL itself.
pub fn resolve_url(url: &str) -> CliResult<String> {
    Ok(match url {
        "l" | "localhost" => "http://127.0.0.1:8899".to_string(),
        "d" | "devnet" => "https://api.devnet.solana.com".to_string(),
        "m" | "mainnet-beta" => "https://api.mainnet-beta.solana.com".to_string(),
        "t" | "testnet" => "https://api.testnet.solana.com".to_string(),
        other if other.starts_with("http://") || other.starts_with("https://") => other.to_string(),
        other => {
            return Err(CliError::BadInput(format!(
                "unknown cluster {other:?}: use l, d, m, t or an http(s) URL"
            )))
        }
    })
}

/// Parses 64 hex digits (an optional `0x` first) into 32 bytes (a clap value parser).
pub fn parse_hash(s: &str) -> Result<[u8; 32], String> {
    depin_sdk::oracle::parse_hex(s).ok_or_else(|| format!("{s:?} is not 64 hex digits"))
}

/// Parses an H3 cell index as H3 tools print it: hex, an optional `0x` first (a clap value
/// parser). Whether it is a valid cell is the registry's call (`InvalidLocation`).
pub fn parse_h3(s: &str) -> Result<u64, String> {
    let digits = s.trim_start_matches("0x");
    if digits.is_empty() || digits.len() > 16 {
        return Err(format!(
            "{s:?} is not an H3 cell (hex, e.g. 8a2a1072b59ffff)"
        ));
    }
    u64::from_str_radix(digits, 16)
        .map_err(|_| format!("{s:?} is not an H3 cell (hex, e.g. 8a2a1072b59ffff)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypair_files_round_trip_and_errors_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        let key = Keypair::new();
        write_keypair_file(&path, &key, false).unwrap();
        assert_eq!(read_keypair_file(&path).unwrap().pubkey(), key.pubkey());
        assert!(matches!(
            write_keypair_file(&path, &key, false),
            Err(CliError::BadInput(_))
        ));

        let missing = dir.path().join("nope.json");
        assert!(
            matches!(read_keypair_file(&missing), Err(CliError::KeypairMissing(p)) if p == missing)
        );

        std::fs::write(&path, "[1,2,3]").unwrap();
        assert!(matches!(
            read_keypair_file(&path),
            Err(CliError::KeypairMalformed { .. })
        ));
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            read_keypair_file(&path),
            Err(CliError::KeypairMalformed { .. })
        ));
        // 64 bytes whose public half does not belong to the secret half
        let mut bytes = key.to_bytes();
        bytes[63] ^= 1;
        std::fs::write(&path, serde_json::to_string(&bytes.to_vec()).unwrap()).unwrap();
        assert!(matches!(
            read_keypair_file(&path),
            Err(CliError::KeypairMalformed { .. })
        ));

        // --force replaces the file whole, its owner's alone, with nothing left beside it
        let other = Keypair::new();
        write_keypair_file(&path, &other, true).unwrap();
        assert_eq!(read_keypair_file(&path).unwrap().pubkey(), other.pubkey());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["id.json"]);
    }

    #[test]
    fn monikers_resolve_and_unknown_clusters_are_refused() {
        assert_eq!(resolve_url("l").unwrap(), "http://127.0.0.1:8899");
        assert_eq!(resolve_url("d").unwrap(), "https://api.devnet.solana.com");
        assert_eq!(
            resolve_url("m").unwrap(),
            "https://api.mainnet-beta.solana.com"
        );
        assert_eq!(resolve_url("t").unwrap(), "https://api.testnet.solana.com");
        assert_eq!(
            resolve_url("http://10.0.0.1:8899").unwrap(),
            "http://10.0.0.1:8899"
        );
        assert!(matches!(resolve_url("moon"), Err(CliError::BadInput(_))));
    }

    #[test]
    fn values_parse_or_say_why() {
        assert!(parse_pubkey("11111111111111111111111111111111").is_ok());
        assert!(parse_pubkey("not-a-key")
            .unwrap_err()
            .contains("malformed pubkey"));
        assert_eq!(parse_h3("8a2a1072b59ffff"), Ok(0x08a2_a107_2b59_ffff));
        assert_eq!(parse_h3("0x08a2a1072b59ffff"), Ok(0x08a2_a107_2b59_ffff));
        assert!(parse_h3("zz").is_err());
        assert!(parse_h3("").is_err());
        assert_eq!(parse_hash(&"ab".repeat(32)), Ok([0xab; 32]));
        assert!(parse_hash("ab").is_err());
    }
}
