//! One actor per mirror file and per data source on a machine, whatever the path, the user or
//! the runtime directory.
//!
//! - **The mirror** is claimed by the file's identity (its device and inode), so every path to
//!   it (a symbolic link, a hard link, a bind mount, `..`) meets the same claim. A mirror with
//!   more than one hard link is refused outright by the store (SQLite keeps its write-ahead log
//!   beside the path it was opened by: two names are two logs for one database).
//! - **The data source** is claimed by its id, machine-wide, so a second mirror of it is refused
//!   too, whoever runs it.
//!
//! A claim is a name in Linux's abstract Unix socket namespace (`@tasksync/…`): one socket per
//! name on the machine (per network namespace), bound by one process at a time whatever its user,
//! its runtime directory or its mount namespace; released by the kernel when the process ends,
//! however it ends. There is no file to leave behind, to replace with a link or to make
//! unreadable, so another user cannot hold a claim by leaving something behind: only a live
//! process holds it, and a refusal names that process's pid and user as the kernel reports them
//! (`SO_PEERCRED`), not as a file claims. The holder answers whoever connects with its role and
//! its mirror, for the message.
//!
//! `TASKSYNC_LOCK_SCOPE` (tests, or independent set-ups on one machine against different Notion
//! workspaces) puts data-source claims in a scope of their own; mirror claims need none (a file's
//! identity is already unique on the machine).

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What a holder tells whoever connects to its claim.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Announcement {
    /// `daemon` or `sync` for a mirror; `source` for a data source.
    role: String,
    /// The mirror it uses, as it opened it (canonical).
    mirror: String,
}

/// Who holds a claim: the kernel's word for the pid and user, the holder's for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    pub role: Option<String>,
    pub mirror: Option<String>,
}

impl Holder {
    /// `, user NAME` when the holder runs as another user than this process.
    fn other_user(&self) -> String {
        match self.uid.filter(|uid| *uid != current_uid()) {
            Some(uid) => format!(", user {}", user_name(uid)),
            None => String::new(),
        }
    }
}

/// A claimed name, held until dropped: a listening socket that a thread of its own answers.
#[derive(Debug)]
struct Claim {
    name: String,
    stop: Arc<AtomicBool>,
    answering: Option<std::thread::JoinHandle<()>>,
}

/// The claim's name in the abstract namespace (a leading NUL on the wire; `@` in `ss -x`).
fn address(name: &str) -> std::io::Result<std::os::unix::net::SocketAddr> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // Elsewhere a socket file in the temporary directory stands in (a crash leaves it
        // behind, and it is replaced when nothing answers on it).
        let path = std::env::temp_dir().join(name.replace('/', "_"));
        if UnixStream::connect(&path).is_err() {
            let _ = std::fs::remove_file(&path);
        }
        std::os::unix::net::SocketAddr::from_pathname(path)
    }
}

impl Claim {
    /// Binds `name`, or `Ok(None)` when another process holds it.
    fn take(name: String, announcement: &Announcement) -> anyhow::Result<Option<Self>> {
        let listener = match UnixListener::bind_addr(&address(&name)?) {
            Ok(listener) => listener,
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => return Ok(None),
            Err(error) => anyhow::bail!("cannot claim {name}: {error}"),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let told = serde_json::to_vec(announcement)?;
        let answering = std::thread::Builder::new()
            .name("tasksync-claim".into())
            .stack_size(64 * 1024)
            .spawn({
                let stop = stop.clone();
                move || answer(&listener, &stop, &told)
            })?;
        Ok(Some(Self {
            name,
            stop,
            answering: Some(answering),
        }))
    }

    /// Who holds `name`, if anyone.
    fn holder(name: &str) -> Option<Holder> {
        let mut stream = UnixStream::connect_addr(&address(name).ok()?).ok()?;
        let credentials = peer_credentials(&stream);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut text = Vec::new();
        let _ = (&mut stream).take(4096).read_to_end(&mut text);
        let said: Announcement = serde_json::from_slice(&text).unwrap_or_default();
        Some(Holder {
            pid: credentials.map(|(pid, _)| pid),
            uid: credentials.map(|(_, uid)| uid),
            role: Some(said.role).filter(|role| !role.is_empty()),
            mirror: Some(said.mirror).filter(|mirror| !mirror.is_empty()),
        })
    }
}

/// Answers each connection with the announcement until told to stop; the listener (and so the
/// name) goes with the thread.
fn answer(listener: &UnixListener, stop: &AtomicBool, told: &[u8]) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(mut stream) = stream {
            let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = stream.write_all(told);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // A connection wakes the thread, which sees the flag and closes the socket; waiting for
        // it means the name is free once the claim is dropped.
        let woken = address(&self.name)
            .and_then(|address| UnixStream::connect_addr(&address))
            .is_ok();
        if let Some(thread) = self.answering.take().filter(|_| woken) {
            let _ = thread.join();
        }
        tracing::debug!(claim = %self.name, "claim released");
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_credentials(stream: &UnixStream) -> Option<(u32, u32)> {
    let credentials = rustix::net::sockopt::socket_peercred(stream).ok()?;
    Some((
        u32::try_from(credentials.pid.as_raw_nonzero().get()).ok()?,
        credentials.uid.as_raw(),
    ))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_credentials(_stream: &UnixStream) -> Option<(u32, u32)> {
    None
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |meta| meta.uid())
}

/// A user's name from `/etc/passwd`, else the number (users of `DynamicUser=` are not there).
fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2).and_then(|id| id.parse().ok()) == Some(uid))
        .and_then(|fields| fields.first().map(|name| format!("{name} (uid {uid})")))
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The mirror's path with every symbolic link resolved (the file itself need not exist yet).
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

/// Creates the mirror's file, empty and readable by its owner only, when there is none yet (SQLite
/// takes an empty file for an empty database): a claim is on a file. An existing file is not
/// opened (closing a descriptor of a file drops the process's SQLite locks on it).
fn create_if_missing(mirror: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = mirror.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|error| anyhow::anyhow!("cannot create {}: {error}", parent.display()))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(mirror)
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(anyhow::anyhow!(
            "cannot create the mirror {}: {error}",
            mirror.display()
        )),
    }
}

/// The claim name of a mirror file: its device and inode.
fn mirror_claim(mirror: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(mirror)?;
    Ok(format!("tasksync/mirror/{}:{}", meta.dev(), meta.ino()))
}

/// The claim name of a data source, in the scope `TASKSYNC_LOCK_SCOPE` names (if any).
fn source_claim(data_source: &str) -> String {
    match std::env::var("TASKSYNC_LOCK_SCOPE") {
        Ok(scope) if !scope.is_empty() => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(scope.as_bytes());
            format!(
                "tasksync/{}/source/{data_source}",
                &hex::encode(digest)[..16]
            )
        }
        _ => format!("tasksync/source/{data_source}"),
    }
}

/// Holds the mirror's claim until dropped.
#[derive(Debug)]
pub struct InstanceLock {
    _claim: Claim,
}

/// Another process holds the mirror.
#[derive(Debug, thiserror::Error)]
#[error("{}", busy_message(.holder, .wanted, .mirror))]
pub struct Busy {
    pub holder: Holder,
    /// What the refused process is (`daemon` or `sync`).
    pub wanted: String,
    pub mirror: PathBuf,
}

fn pid_text(pid: Option<u32>) -> String {
    pid.map_or("unknown".to_string(), |pid| pid.to_string())
}

fn busy_message(holder: &Holder, wanted: &str, mirror: &Path) -> String {
    let pid = pid_text(holder.pid);
    let user = holder.other_user();
    // Through another path (a hard link, a bind mount): say which, it is the same file.
    let same = holder
        .mirror
        .as_deref()
        .filter(|theirs| Path::new(theirs) != canonical_mirror(mirror))
        .map(|theirs| format!(" (the same file as {theirs})"))
        .unwrap_or_default();
    match (holder.role.as_deref(), wanted) {
        (Some("daemon"), "sync") => format!(
            "the tasksync daemon (pid {pid}{user}) is using {}{same}: it syncs on its own schedule, so a separate `tasksync sync` (or the sync timer) is not needed; stop the daemon first, or pass --wait",
            mirror.display()
        ),
        _ => format!(
            "another tasksync (pid {pid}{user}) is using {}{same}: wait for it to finish, stop it, or pass --wait",
            mirror.display()
        ),
    }
}

impl InstanceLock {
    /// Takes the mirror for a `sync`, or fails at once naming the process that holds it.
    pub fn acquire(mirror: &Path) -> anyhow::Result<Self> {
        Self::acquire_as(mirror, "sync")
    }

    /// Takes the mirror for `role` (`sync` or `daemon`), or fails at once naming the holder.
    /// The file is created (empty, owner only) when it does not exist yet: a claim is on a file.
    pub fn acquire_as(mirror: &Path, role: &str) -> anyhow::Result<Self> {
        create_if_missing(mirror)?;
        let name = mirror_claim(mirror).map_err(|error| {
            anyhow::anyhow!("cannot read the mirror {}: {error}", mirror.display())
        })?;
        let announcement = Announcement {
            role: role.to_string(),
            mirror: canonical_mirror(mirror).display().to_string(),
        };
        match Claim::take(name.clone(), &announcement)? {
            Some(claim) => Ok(Self { _claim: claim }),
            None => Err(Busy {
                holder: Claim::holder(&name).unwrap_or_default(),
                wanted: role.to_string(),
                mirror: mirror.to_path_buf(),
            }
            .into()),
        }
    }

    /// Waits until the mirror is free (telling `waiting`, once, what it waits for), then takes
    /// it for a `sync`; gives up after `timeout` when one is given.
    pub async fn acquire_waiting(
        mirror: &Path,
        timeout: Option<Duration>,
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
                            tell(waiting_message(&busy, timeout));
                        }
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    Err(other) => return Err(other),
                },
            }
        }
    }

    /// The pid holding this mirror, if it is held (by any process, this one included).
    pub fn holder(mirror: &Path) -> Option<u32> {
        Claim::holder(&mirror_claim(mirror).ok()?).and_then(|holder| holder.pid)
    }
}

fn waiting_message(busy: &Busy, timeout: Option<Duration>) -> String {
    let holder = match busy.holder.role.as_deref() {
        Some("daemon") => "the tasksync daemon",
        _ => "another tasksync",
    };
    format!(
        "waiting for {holder} (pid {}) to finish with {}{}",
        pid_text(busy.holder.pid),
        busy.mirror.display(),
        timeout.map_or(" (--wait-timeout SECONDS gives up)".to_string(), |limit| {
            format!(" (at most {}s)", limit.as_secs())
        })
    )
}

/// The claim on one data source: no two mirrors of it act at once on this machine.
#[derive(Debug)]
pub struct SourceLock {
    _claim: Claim,
}

/// Another mirror of the same data source is in use.
#[derive(Debug, thiserror::Error)]
#[error(
    "data source {data_source} is already mirrored by {} (tasksync pid {}{}): one mirror per data source on a machine, or rules would act twice; point `store.path` at that mirror, or stop the other process",
    .holder.mirror.as_deref().unwrap_or("another mirror"), pid_text(.holder.pid), .holder.other_user()
)]
pub struct SourceBusy {
    pub data_source: String,
    pub holder: Holder,
}

impl SourceLock {
    /// Claims `data_source` for `mirror`, or fails at once naming the mirror, the process and
    /// (when it is another) the user that hold it.
    pub fn acquire(data_source: &str, mirror: &Path) -> anyhow::Result<Self> {
        let name = source_claim(data_source);
        let announcement = Announcement {
            role: "source".into(),
            mirror: canonical_mirror(mirror).display().to_string(),
        };
        match Claim::take(name.clone(), &announcement)? {
            Some(claim) => Ok(Self { _claim: claim }),
            None => Err(SourceBusy {
                data_source: data_source.to_string(),
                holder: Claim::holder(&name).unwrap_or_default(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_exclusive_names_its_holder_and_is_free_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror.db");
        let held = InstanceLock::acquire_as(&mirror, "daemon").unwrap();
        assert!(mirror.exists(), "the claim is on a file: it is created");
        assert_eq!(InstanceLock::holder(&mirror), Some(std::process::id()));
        let refused = InstanceLock::acquire(&mirror).unwrap_err();
        let busy = refused.downcast_ref::<Busy>().unwrap();
        assert_eq!(busy.holder.role.as_deref(), Some("daemon"));
        assert!(
            refused
                .to_string()
                .starts_with(&format!("the tasksync daemon (pid {})", std::process::id())),
            "{refused}"
        );
        drop(held);
        assert_eq!(InstanceLock::holder(&mirror), None);
        InstanceLock::acquire(&mirror).unwrap();
    }

    #[test]
    fn every_path_to_the_file_meets_the_same_claim() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror.db");
        let _held = InstanceLock::acquire(&mirror).unwrap();
        let canonical = canonical_mirror(&mirror).display().to_string();
        // A symbolic link, a path through `..`, and a hard link (which the store then refuses
        // to open; here only the claim is asked).
        let symlink = dir.path().join("symlink.db");
        std::os::unix::fs::symlink(&mirror, &symlink).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let dotted = dir.path().join("sub/../mirror.db");
        let hard = dir.path().join("hard.db");
        std::fs::hard_link(&mirror, &hard).unwrap();
        for path in [&symlink, &dotted, &hard] {
            let refused = InstanceLock::acquire(path).unwrap_err();
            let busy = refused.downcast_ref::<Busy>().expect("busy");
            assert_eq!(busy.holder.pid, Some(std::process::id()), "{path:?}");
            assert_eq!(busy.holder.mirror.as_deref(), Some(canonical.as_str()));
        }
        // Through the hard link, the message says which file it is.
        let refused = InstanceLock::acquire(&hard).unwrap_err().to_string();
        assert!(
            refused.contains(&format!("(the same file as {canonical})")),
            "{refused}"
        );
    }

    #[test]
    fn a_data_source_is_claimed_once_whatever_the_runtime_directory() {
        let dir = tempfile::tempdir().unwrap();
        // A name of this test alone: the namespace is the machine's.
        let source = format!("test-{}-{}", std::process::id(), line!());
        let held = SourceLock::acquire(&source, &dir.path().join("a.db")).unwrap();
        let refused = SourceLock::acquire(&source, &dir.path().join("b.db")).unwrap_err();
        let text = refused.to_string();
        let first = canonical_mirror(&dir.path().join("a.db"));
        assert!(
            text.contains(&format!(
                "is already mirrored by {} (tasksync pid {})",
                first.display(),
                std::process::id()
            )),
            "{text}"
        );
        drop(held);
        SourceLock::acquire(&source, &dir.path().join("b.db")).unwrap();
    }
}
