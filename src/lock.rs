//! One actor per database on a machine: an exclusive lock on `<mirror>.lock` (on the mirror's
//! canonical path, so a symbolic link is the same mirror), and a second one keyed by the data
//! source id in the runtime directory, so a second mirror file of the same data source is refused
//! too. Each holds the owner's pid (and the source lock its mirror) for the message.
//!
//! The operating system releases the locks when the process ends, however it ends, so a crash
//! never leaves a stale lock behind.

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
#[error("{}", busy_message(.holder, .role.as_deref(), .wanted, .mirror))]
pub struct Busy {
    pub holder: Option<u32>,
    /// `daemon` or `sync`, as the holder wrote it.
    pub role: Option<String>,
    /// What the refused process is (`daemon` or `sync`).
    pub wanted: String,
    pub mirror: PathBuf,
}

fn busy_message(holder: &Option<u32>, role: Option<&str>, wanted: &str, mirror: &Path) -> String {
    let pid = holder.map_or("unknown".to_string(), |pid| pid.to_string());
    match (role, wanted) {
        (Some("daemon"), "sync") => format!(
            "the tasksync daemon (pid {pid}) is using {}: it syncs on its own schedule, so a separate `tasksync sync` (or the sync timer) is not needed; stop the daemon first, or pass --wait",
            mirror.display()
        ),
        _ => format!(
            "another tasksync (pid {pid}) is using {}: wait for it to finish, stop it, or pass --wait",
            mirror.display()
        ),
    }
}

/// Who holds a mirror's lock: what the lock file says (`pid`, then the role).
fn read_holder(file: &mut File) -> (Option<u32>, Option<String>) {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let mut lines = text.lines();
    let pid = lines.next().and_then(|pid| pid.trim().parse().ok());
    let role = lines.next().map(|role| role.trim().to_string());
    (pid, role)
}

/// The mirror's path with every symbolic link resolved (the file itself need not exist yet), so
/// that two paths to one file take one lock.
pub fn canonical_mirror(mirror: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(mirror) {
        return resolved;
    }
    let absolute = std::path::absolute(mirror).unwrap_or_else(|_| mirror.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|parent| parent.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
}

fn lock_path(mirror: &Path) -> PathBuf {
    PathBuf::from(format!("{}.lock", canonical_mirror(mirror).display()))
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
    /// Takes the lock for a `sync`, or fails at once naming the process that holds it.
    pub fn acquire(mirror: &Path) -> anyhow::Result<Self> {
        Self::acquire_as(mirror, "sync")
    }

    /// Takes the lock for `role` (`sync` or `daemon`), or fails at once naming the holder.
    pub fn acquire_as(mirror: &Path, role: &str) -> anyhow::Result<Self> {
        let (mut file, path) = open(mirror)?;
        match file.try_lock() {
            Ok(()) => Self::claimed(file, path, role),
            Err(TryLockError::WouldBlock) => {
                let (holder, held_as) = read_holder(&mut file);
                Err(Busy {
                    holder,
                    role: held_as,
                    wanted: role.to_string(),
                    mirror: mirror.to_path_buf(),
                }
                .into())
            }
            Err(TryLockError::Error(error)) => {
                Err(anyhow::anyhow!("cannot lock {}: {error}", path.display()))
            }
        }
    }

    /// Waits until the lock is free (telling `waiting`, once, what it waits for), then takes it
    /// for a `sync`; gives up after `timeout` when one is given.
    pub async fn acquire_waiting(
        mirror: &Path,
        timeout: Option<std::time::Duration>,
        waiting: impl FnOnce(String),
    ) -> anyhow::Result<Self> {
        let started = tokio::time::Instant::now();
        let mut waiting = Some(waiting);
        loop {
            match Self::acquire(mirror) {
                Ok(lock) => return Ok(lock),
                Err(error) => match error.downcast::<Busy>() {
                    Ok(busy) => {
                        if let Some(limit) = timeout.filter(|limit| started.elapsed() >= *limit) {
                            anyhow::bail!("gave up after waiting {}s: {busy}", limit.as_secs());
                        }
                        if let Some(tell) = waiting.take() {
                            let holder = match busy.role.as_deref() {
                                Some("daemon") => "the tasksync daemon",
                                _ => "another tasksync",
                            };
                            tell(format!(
                                "waiting for {holder} (pid {}) to finish with {}{}",
                                busy.holder.map_or("unknown".into(), |pid| pid.to_string()),
                                busy.mirror.display(),
                                timeout.map_or(
                                    " (--wait-timeout SECONDS gives up)".to_string(),
                                    |limit| format!(" (at most {}s)", limit.as_secs())
                                )
                            ));
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    }
                    Err(other) => return Err(other),
                },
            }
        }
    }

    fn claimed(file: File, path: PathBuf, role: &str) -> anyhow::Result<Self> {
        let mut lock = Self { file, path };
        lock.write(&format!("{}\n{role}", std::process::id()))?;
        Ok(lock)
    }

    fn write(&mut self, text: &str) -> anyhow::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        write!(self.file, "{text}")?;
        self.file.flush()?;
        Ok(())
    }

    /// The pid holding the lock on this mirror, if it is held (by any process, this one included).
    pub fn holder(mirror: &Path) -> Option<u32> {
        let (mut file, _) = open(mirror).ok()?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(_) => read_holder(&mut file).0,
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

/// The lock on one data source: no two mirrors of it act at once on this machine.
#[derive(Debug)]
pub struct SourceLock {
    _lock: InstanceLock,
}

/// Another mirror of the same data source is in use.
#[derive(Debug, thiserror::Error)]
#[error(
    "data source {data_source} is already mirrored by {} (tasksync pid {}): one mirror per data source, or rules would act twice; point `store.path` at that mirror, or stop the other process",
    .other_mirror, .holder.map_or("unknown".to_string(), |pid| pid.to_string())
)]
pub struct SourceBusy {
    pub data_source: String,
    pub other_mirror: String,
    pub holder: Option<u32>,
}

/// Where per-machine locks live: `$RUNTIME_DIRECTORY` (systemd's `RuntimeDirectory=`), else
/// `$XDG_RUNTIME_DIR/tasksync`, else a directory of this user's in the temporary directory.
pub fn runtime_directory() -> PathBuf {
    crate::config::service_directory("RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR").unwrap_or_else(|| {
        #[cfg(unix)]
        let user = std::fs::metadata("/proc/self")
            .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta).to_string())
            .unwrap_or_else(|_| "user".into());
        #[cfg(not(unix))]
        let user = "user".to_string();
        std::env::temp_dir().join(format!("tasksync-{user}"))
    })
}

impl SourceLock {
    /// Takes the lock of `data_source` for `mirror`, or fails at once naming the mirror and
    /// process that hold it.
    pub fn acquire(data_source: &str, mirror: &Path) -> anyhow::Result<Self> {
        let directory = runtime_directory();
        crate::config::create_private_directory(&directory).map_err(|error| {
            anyhow::anyhow!(
                "cannot create the runtime directory {}: {error}",
                directory.display()
            )
        })?;
        let key = directory.join(format!("source-{data_source}"));
        let (mut file, path) = open(&key)?;
        match file.try_lock() {
            Ok(()) => {
                let mut lock = InstanceLock { file, path };
                let mirror = canonical_mirror(mirror);
                lock.write(&format!("{}\n{}", std::process::id(), mirror.display()))?;
                Ok(Self { _lock: lock })
            }
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let mut lines = text.lines();
                let holder = lines.next().and_then(|pid| pid.trim().parse().ok());
                let other_mirror = lines.next().unwrap_or("another mirror").to_string();
                Err(SourceBusy {
                    data_source: data_source.to_string(),
                    other_mirror,
                    holder,
                }
                .into())
            }
            Err(TryLockError::Error(error)) => {
                Err(anyhow::anyhow!("cannot lock {}: {error}", path.display()))
            }
        }
    }
}
