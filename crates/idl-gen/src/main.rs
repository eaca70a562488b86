//! `idl-gen`: builds the Anchor IDL of every program under `programs/` and compares it with
//! `idl/<program>.json` (`--check`, the default; exit status 1 when a file differs) or
//! writes it (`--write`). Exit status 2 when an IDL cannot be built. See the library's doc.

use std::{fs, io::ErrorKind, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context, Result};
use idl_gen::{
    build, committed_files, default_target_dir, difference, display, idl_dir, pin_toolchain,
    programs, to_json, workspace_root, BuildOptions, REGENERATE, REGENERATE_WITH_TEST,
};

const USAGE: &str = "\
usage: idl-gen [--check | --write] [--offline] [--quiet] [--target-dir DIR]

Builds the Anchor IDL of every program under programs/ with a nested
`cargo test __anchor_private_print_idl --features idl-build --locked` and compares it with
idl/<program>.json (--check, the default) or writes it (--write).

  --offline          pass --offline to the nested cargo
  --quiet            no progress lines of its own (the nested cargo's are still shown:
                     `cargo test --quiet` would pass `--quiet` to the test harness, which
                     IdlBuilder already does)
  --target-dir DIR   the nested build's target directory (default: $CARGO_TARGET_DIR/idl)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    Write,
}

struct Args {
    mode: Mode,
    offline: bool,
    quiet: bool,
    target_dir: Option<PathBuf>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>> {
    let mut parsed = Args {
        mode: Mode::Check,
        offline: false,
        quiet: false,
        target_dir: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => parsed.mode = Mode::Check,
            "--write" => parsed.mode = Mode::Write,
            "--offline" => parsed.offline = true,
            "--quiet" | "-q" => parsed.quiet = true,
            "--target-dir" => {
                let dir = args.next().context("--target-dir needs a directory")?;
                parsed.target_dir = Some(PathBuf::from(dir));
            }
            "--help" | "-h" => return Ok(None),
            other => bail!("unknown argument `{other}`"),
        }
    }
    Ok(Some(parsed))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("idl-gen: {err:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Before anything else may start a thread: this changes the process environment.
    if let Err(err) = pin_toolchain() {
        eprintln!("idl-gen: {err:#}");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("idl-gen: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(false)` when `--check` found a difference.
fn run(args: &Args) -> Result<bool> {
    let root = workspace_root();
    let programs = programs(&root)?;
    let options = BuildOptions {
        target_dir: args
            .target_dir
            .clone()
            .unwrap_or_else(|| default_target_dir(&root)),
        offline: args.offline,
    };

    let mut built = Vec::with_capacity(programs.len());
    for program in &programs {
        if !args.quiet {
            eprintln!(
                "idl-gen: building the IDL of {} in {}",
                display(&root, &program.dir),
                options.target_dir.display()
            );
        }
        let idl = build(program, &options)?;
        built.push((program, to_json(&idl)?));
    }
    let stale: Vec<_> = committed_files(&root)?
        .into_iter()
        .filter(|(name, _)| !programs.iter().any(|program| &program.name == name))
        .map(|(_, path)| path)
        .collect();

    match args.mode {
        Mode::Write => {
            let dir = idl_dir(&root);
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for (program, json) in &built {
                let path = program.idl_path(&root);
                let unchanged = fs::read_to_string(&path)
                    .is_ok_and(|committed| difference(&committed, json).is_none());
                if unchanged {
                    println!("{}: unchanged", display(&root, &path));
                } else {
                    fs::write(&path, json)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("{}: written", display(&root, &path));
                }
            }
            for path in stale {
                fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                println!("{}: removed (no such program)", display(&root, &path));
            }
            Ok(true)
        }
        Mode::Check => {
            let mut problems = Vec::new();
            for (program, json) in &built {
                let path = program.idl_path(&root);
                match fs::read_to_string(&path) {
                    Ok(committed) => {
                        if let Some(difference) = difference(&committed, json) {
                            problems.push(format!(
                                "{} no longer matches {}: {difference}",
                                display(&root, &path),
                                display(&root, &program.dir)
                            ));
                        }
                    }
                    Err(err) if err.kind() == ErrorKind::NotFound => {
                        problems.push(format!("{} is missing", display(&root, &path)));
                    }
                    Err(err) => {
                        return Err(err).with_context(|| format!("reading {}", path.display()))
                    }
                }
            }
            for path in stale {
                problems.push(format!(
                    "{} belongs to no program under programs/",
                    display(&root, &path)
                ));
            }
            if problems.is_empty() {
                println!(
                    "idl-gen: the {} IDLs in idl/ match the programs",
                    built.len()
                );
                return Ok(true);
            }
            eprintln!("idl-gen: the committed IDLs are out of date:");
            for problem in &problems {
                eprintln!("  - {problem}");
            }
            eprintln!(
                "Regenerate them with `{REGENERATE}` (or `{REGENERATE_WITH_TEST}`), review the \
                 diff and commit idl/."
            );
            Ok(false)
        }
    }
}
