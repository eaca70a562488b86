//! Writing a file whole: a reader, or the file after a crash, has the old contents or the
//! new ones, never a file half written (a keypair, a proof store the claims are served from).
//! [`replace`] puts the new file in place of any old one; [`create`] only where none is.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes the contents of `path` through `write`, into a new file beside it that replaces
/// `path` only once complete and on disk: written, flushed and synced, renamed over `path`,
/// then the directory synced so the rename survives a crash. When `write` (or any step)
/// fails, `path` is left as it was and the new file removed. With `private` the new file is
/// readable by its owner only (mode 0600 on Unix) from its creation, never through a wider
/// mode, whatever the mode of the file it replaces.
pub fn replace<E>(
    path: &Path,
    private: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<std::io::Error>,
{
    put_in_place(path, private, write, |temporary| {
        std::fs::rename(temporary, path)
    })
}

/// Writes a new file at `path` as [`replace`] does, but only where no file is: the complete
/// file is linked in place in one step that fails with [`std::io::ErrorKind::AlreadyExists`]
/// when `path` exists, even when it appeared while the new file was being written (a second
/// `depin key new` racing this one), so an existing file is never overwritten.
pub fn create<E>(
    path: &Path,
    private: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<std::io::Error>,
{
    put_in_place(path, private, write, |temporary| {
        std::fs::hard_link(temporary, path)?;
        // the new file is `path` now: its temporary name goes
        std::fs::remove_file(temporary)
    })
}

/// Writes the new file beside `path` through `write`, has `put` move it to `path` (given
/// the new file's name), then syncs the directory; removes the new file when a step fails.
fn put_in_place<E>(
    path: &Path,
    private: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
    put: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), E>
where
    E: From<std::io::Error>,
{
    let temporary = temporary_beside(path)?;
    let written = write_new(&temporary, private, write).and_then(|()| {
        put(&temporary)?;
        sync_directory(path)?;
        Ok(())
    });
    if written.is_err() {
        // best effort: the error that matters is the one returned
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// A name for the new file in `path`'s directory (a rename within one file system is
/// atomic), unique to this process and moment.
fn temporary_beside(path: &Path) -> std::io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".{}.{nanos}.tmp", std::process::id()));
    Ok(path.with_file_name(temporary))
}

fn write_new<E>(
    temporary: &Path,
    private: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<std::io::Error>,
{
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut out = BufWriter::new(options.open(temporary)?);
    write(&mut out)?;
    out.flush()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

/// Syncs the directory holding `path`, so a rename into it is on disk.
fn sync_directory(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(directory)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.bin");
        replace(&path, false, |w| w.write_all(b"first")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        replace(&path, false, |w| w.write_all(b"second, longer")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(entries(dir.path()), ["store.bin"], "nothing left beside it");
    }

    #[test]
    fn a_write_that_fails_leaves_the_old_file_and_no_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::fs::write(&path, b"the old key").unwrap();
        let failed = replace(&path, true, |w| {
            w.write_all(b"half of the new")?;
            Err(std::io::Error::other("the disk filled"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "the disk filled");
        assert_eq!(std::fs::read(&path).unwrap(), b"the old key");
        assert_eq!(entries(dir.path()), ["key.json"]);
    }

    #[test]
    fn a_path_without_a_file_name_is_an_error() {
        let err = replace(Path::new("/"), false, |w| w.write_all(b"x")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let missing = tempfile::tempdir().unwrap().path().join("no/such/dir/file");
        assert!(replace(&missing, false, |w| w.write_all(b"x")).is_err());
    }

    #[test]
    fn a_file_is_created_only_where_none_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        create(&path, true, |w| w.write_all(b"the first key")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"the first key");
        let refused = create(&path, true, |w| w.write_all(b"a second key")).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"the first key");
        assert_eq!(entries(dir.path()), ["key.json"], "nothing left beside it");
        // a write that fails creates nothing
        let other = dir.path().join("other.json");
        let failed = create(&other, true, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("the disk filled"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "the disk filled");
        assert_eq!(entries(dir.path()), ["key.json"]);
    }

    #[test]
    fn of_two_racing_creations_one_wins_and_the_other_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let barrier = std::sync::Barrier::new(2);
        let outcomes: Vec<std::io::Result<()>> = std::thread::scope(|s| {
            let racers: Vec<_> = [b"key one", b"key two"]
                .into_iter()
                .map(|contents| {
                    let (path, barrier) = (&path, &barrier);
                    s.spawn(move || {
                        create(path, true, |w| {
                            // both have written, neither has linked: the window a
                            // check-then-rename leaves open
                            w.write_all(contents)?;
                            barrier.wait();
                            Ok(())
                        })
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let won: Vec<_> = outcomes.iter().filter(|o| o.is_ok()).collect();
        assert_eq!(won.len(), 1, "{outcomes:?}");
        let lost = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
        assert_eq!(lost.kind(), std::io::ErrorKind::AlreadyExists);
        let winner = if outcomes[0].is_ok() {
            "key one"
        } else {
            "key two"
        };
        assert_eq!(std::fs::read(&path).unwrap(), winner.as_bytes());
        assert_eq!(entries(dir.path()), ["key.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_its_owners_alone_even_over_a_wider_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.json");
        std::fs::write(&path, b"[]").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace(&path, true, |w| w.write_all(b"[1]")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"[1]");
    }
}
