//! Files no asset (live, or in a change waiting for approval) uses any more (the asset was deleted, or its file replaced) leave the
//! content library after a grace period, so that a player still fetching one, or staff who
//! undo a delete by uploading the same file again, are not surprised. Players drop such
//! files from their caches on their own once no manifest lists them.
//!
//! A sweep notes when it first finds a file unused, forgets that when an asset uses it again,
//! and removes the file and its record once it has been unused for the grace period. It holds
//! the content-write lock while it decides and removes, so an upload of the same bytes cannot
//! interleave.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tracing::{info, warn};

use crate::library::ContentLibrary;
use crate::store::Store;

/// How long a file stays after its last asset let go of it.
pub const GRACE: TimeDelta = TimeDelta::hours(24);
/// How often the controller sweeps.
const EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Files found unused for the first time.
    pub marked: usize,
    /// Files an asset uses again.
    pub reused: usize,
    /// Files removed, by SHA-256.
    pub removed: Vec<String>,
}

pub async fn sweep(
    store: &Store,
    library: &ContentLibrary,
    writes: &tokio::sync::Mutex<()>,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Result<Swept, crate::store::StoreError> {
    let _writing = writes.lock().await;
    let (parts, _) = store.schedule_parts().await?;
    // A file waiting in a change for approval is used too.
    let mut used: HashSet<String> = parts
        .assets
        .iter()
        .filter_map(|a| a.file().map(|f| f.sha256.to_string()))
        .collect();
    used.extend(store.files_of_open_changes().await?);
    let mut swept = Swept::default();
    for (sha256, unused_since) in store.blob_uses().await? {
        match (used.contains(&sha256), unused_since) {
            (true, None) => {}
            (true, Some(_)) => {
                store.set_blob_unused_since(&sha256, None).await?;
                swept.reused += 1;
            }
            (false, None) => {
                store.set_blob_unused_since(&sha256, Some(now)).await?;
                swept.marked += 1;
            }
            (false, Some(since)) if now - since >= grace => {
                if let Ok(digest) = sha256.parse::<content::asset::Sha256>() {
                    match std::fs::remove_file(library.blob_path(&digest)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            warn!(%sha256, %e, "an unused file could not be removed; next sweep retries");
                            continue;
                        }
                    }
                }
                store.delete_blob(&sha256).await?;
                swept.removed.push(sha256);
            }
            (false, Some(_)) => {}
        }
    }
    Ok(swept)
}

/// Sweeps every hour for as long as the controller runs.
pub fn spawn(store: Store, library: ContentLibrary, writes: Arc<tokio::sync::Mutex<()>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match sweep(&store, &library, &writes, Utc::now(), GRACE).await {
                Ok(s) if s.marked + s.reused + s.removed.len() > 0 => info!(
                    marked = s.marked,
                    reused = s.reused,
                    removed = s.removed.len(),
                    "unused content files swept"
                ),
                Ok(_) => {}
                Err(e) => warn!(%e, "the unused-file sweep failed; it runs again in an hour"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Blob, ObjectKind};
    use content::asset::{Asset, AssetKind, MediaFile};

    fn t(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::hours(hours)
    }

    #[tokio::test]
    async fn a_file_unused_for_the_grace_period_is_removed_and_a_reused_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let library = ContentLibrary::open(dir.path()).unwrap();
        let writes = tokio::sync::Mutex::new(());
        let digest = |n: u8| format!("{:064x}", n);
        for n in [1u8, 2] {
            let sha = digest(n);
            std::fs::write(library.blob_path(&sha.parse().unwrap()), b"file").unwrap();
            store
                .insert_blob(&Blob {
                    sha256: sha.clone(),
                    size_bytes: 4,
                    media_type: "image/png".into(),
                })
                .await
                .unwrap();
        }
        let asset = |n: u8| Asset {
            id: format!("a{n}").as_str().into(),
            meta: Default::default(),
            kind: AssetKind::Image {
                file: MediaFile {
                    sha256: digest(n).parse().unwrap(),
                    size_bytes: 4,
                },
            },
        };
        // File 1 is used, file 2 is not.
        store
            .put_object(ObjectKind::Asset, "a1", &asset(1), false)
            .await
            .unwrap();
        let grace = TimeDelta::hours(24);
        let first = sweep(&store, &library, &writes, t(0), grace).await.unwrap();
        assert_eq!((first.marked, first.removed.len()), (1, 0));
        // Within the grace period nothing goes.
        let early = sweep(&store, &library, &writes, t(23), grace)
            .await
            .unwrap();
        assert_eq!(early, Swept::default());
        // An asset takes file 2 again before the end: the clock starts over when it lets go.
        store
            .put_object(ObjectKind::Asset, "a2", &asset(2), false)
            .await
            .unwrap();
        let reused = sweep(&store, &library, &writes, t(23), grace)
            .await
            .unwrap();
        assert_eq!(reused.reused, 1);
        store.delete_object(ObjectKind::Asset, "a2").await.unwrap();
        let marked = sweep(&store, &library, &writes, t(30), grace)
            .await
            .unwrap();
        assert_eq!(marked.marked, 1);
        let kept = sweep(&store, &library, &writes, t(53), grace)
            .await
            .unwrap();
        assert!(kept.removed.is_empty(), "23 h after it was let go");
        let gone = sweep(&store, &library, &writes, t(54), grace)
            .await
            .unwrap();
        assert_eq!(gone.removed, [digest(2)]);
        assert!(!library.blob_path(&digest(2).parse().unwrap()).exists());
        assert!(store.blob(&digest(2)).await.unwrap().is_none());
        // The used file stays throughout.
        assert!(library.blob_path(&digest(1).parse().unwrap()).exists());
        assert!(store.blob(&digest(1)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_file_waiting_in_a_change_for_approval_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let library = ContentLibrary::open(dir.path()).unwrap();
        let writes = tokio::sync::Mutex::new(());
        let sha = format!("{:064x}", 7);
        std::fs::write(library.blob_path(&sha.parse().unwrap()), b"file").unwrap();
        store
            .insert_blob(&Blob {
                sha256: sha.clone(),
                size_bytes: 4,
                media_type: "image/png".into(),
            })
            .await
            .unwrap();
        let poster = Asset {
            id: "poster".into(),
            meta: Default::default(),
            kind: AssetKind::Image {
                file: MediaFile {
                    sha256: sha.parse().unwrap(),
                    size_bytes: 4,
                },
            },
        };
        let mut change = crate::store::drafts::ChangeRecord::new("change-1".into(), "hirota", t(0));
        let (live, _) = store.schedule_parts().await.unwrap();
        change.draft.record(
            content::changes::Change::Put {
                object: content::changes::Object::Asset(poster),
            },
            &live,
        );
        store.save_change(&change).await.unwrap();
        let grace = TimeDelta::hours(24);
        let swept = sweep(&store, &library, &writes, t(0), grace).await.unwrap();
        assert_eq!(swept, Swept::default(), "the drafted file is in use");
        // Once the change is withdrawn, the file is unused like any other.
        change.state = crate::store::drafts::ChangeState::Withdrawn;
        store.save_change(&change).await.unwrap();
        let swept = sweep(&store, &library, &writes, t(1), grace).await.unwrap();
        assert_eq!(swept.marked, 1);
    }
}
