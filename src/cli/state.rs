//! `hubforge state list|show|unlock`

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use hubforge::state::{StateStore, format_utc};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `--state DIR` or `--state s3://bucket/prefix`.
fn store(
    dir: Option<PathBuf>,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Arc<dyn StateStore>> {
    super::state_store(
        dir.as_deref(),
        PathBuf::from(".hubforge/state"),
        None,
        runtime,
    )
}

pub fn list(dir: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let store = store(dir, &runtime)?;
    runtime.block_on(async {
        let mut rows = Vec::new();
        for hub in store.hubs().await? {
            let state = store.read(&hub).await?;
            let lock = store.current_lock(&hub).await?;
            rows.push((hub, state, lock));
        }
        if json {
            let list: Vec<_> = rows
                .iter()
                .map(|(hub, state, lock)| serde_json::json!({ "hub": hub, "resources": state.as_ref().map(|s| s.resources.len()), "lock": lock }))
                .collect();
            say!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(ExitCode::SUCCESS);
        }
        if rows.is_empty() {
            say!("no hub state here");
        }
        for (hub, state, lock) in rows {
            let resources = state.as_ref().map_or(0, |s| s.resources.len());
            let updated = state.as_ref().map_or("never".to_string(), |s| format_utc(s.updated_at));
            let locked = lock.map(|l| format!(", locked by {l}")).unwrap_or_default();
            say!("{hub}: {resources} resources, updated {updated}{locked}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn show(dir: Option<PathBuf>, hub: String) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let store = store(dir, &runtime)?;
    runtime.block_on(async {
        match store.read(&hub).await? {
            Some(state) => {
                say!("{}", serde_json::to_string_pretty(&state)?);
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("no state for hub {hub}");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

/// Clears the lock with `id`, on `hub` or on whichever hub holds it.
pub fn unlock(dir: Option<PathBuf>, id: String, hub: Option<String>) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let store = store(dir, &runtime)?;
    runtime.block_on(async {
        let hubs = match hub {
            Some(hub) => vec![hub],
            None => store.hubs().await?,
        };
        for hub in hubs {
            if let Some(lock) = store.current_lock(&hub).await?
                && lock.id == id
            {
                store.unlock(&hub, &id).await?;
                say!("unlocked hub {hub} (was held by {lock})");
                return Ok(ExitCode::SUCCESS);
            }
        }
        eprintln!("no hub here is locked with id {id}; `hubforge state list` shows the locks");
        Ok(ExitCode::FAILURE)
    })
}
