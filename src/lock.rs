//! One instance per mirror file: an exclusive lock on `<mirror>.lock`, holding the owner's pid.
//!
//! The operating system releases the lock when the process ends, however it ends, so a crash
//! never leaves a stale lock behind; the pid inside is only for the message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct InstanceLock {
    file: File,
    path: PathBuf,
}

/// Another process holds the lock.
#[derive(Debug, thiserror::Error)]
#[error(
    "another tasksync (pid {}) is using {}: wait for it to finish, stop it, or pass --wait",
    .holder.map_or("unknown".to_string(), |pid| pid.to_string()), .mirror.display()
)]
pub struct Busy {
    pub holder: Option<u32>,
    pub mirror: PathBuf,
}

fn lock_path(mirror: &Path) -> PathBuf {
    PathBuf::from(format!("{}.lock", mirror.display()))
}

fn open(mirror: &Path) -> anyhow::Result<(File, PathBuf)> {
    let path = lock_path(mirror);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|error| {
        anyhow::anyhow!("cannot open the lock file {}: {error}", path.display())
    })?;
    Ok((file, path))
}

impl InstanceLock {
    /// Takes the lock, or fails at once naming the process that holds it.
    pub fn acquire(mirror: &Path) -> anyhow::Result<Self> {
        let (mut file, path) = open(mirror)?;
        match file.try_lock() {
            Ok(()) => Self::claimed(file, path),
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Err(Busy {
                    holder: text.trim().parse().ok(),
                    mirror: mirror.to_path_buf(),
                }
                .into())
            }
            Err(TryLockError::Error(error)) => {
                Err(anyhow::anyhow!("cannot lock {}: {error}", path.display()))
            }
        }
    }

    /// Waits until the lock is free, then takes it.
    pub async fn acquire_waiting(mirror: &Path) -> anyhow::Result<Self> {
        let mirror = mirror.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let (file, path) = open(&mirror)?;
            file.lock()
                .map_err(|error| anyhow::anyhow!("cannot lock {}: {error}", path.display()))?;
            Self::claimed(file, path)
        })
        .await?
    }

    fn claimed(mut file: File, path: PathBuf) -> anyhow::Result<Self> {
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(Self { file, path })
    }

    /// The pid holding the lock on this mirror, if it is held (by any process, this one included).
    pub fn holder(mirror: &Path) -> Option<u32> {
        let (mut file, _) = open(mirror).ok()?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(_) => {
                let mut text = String::new();
                file.read_to_string(&mut text).ok()?;
                text.trim().parse().ok()
            }
        }
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
        tracing::debug!(path = %self.path.display(), "lock released");
    }
}
