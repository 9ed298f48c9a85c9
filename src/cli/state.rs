//! `hubforge state list|show|unlock`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::Arc;

use hubforge::state::{StateStore, format_utc};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `--state DIR` or `--state s3://bucket/prefix`; else the state beside
/// `spec`, as `plan` and `apply` find it; else `.hubforge/state` here.
fn store(
    spec: Option<&Path>,
    dir: Option<PathBuf>,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<(Arc<dyn StateStore>, Option<String>)> {
    let loaded = match spec {
        Some(file) => Some(hubforge::HubClusterSpec::load(file).map_err(|problems| {
            anyhow::anyhow!(
                "{}: {}",
                file.display(),
                problems
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )
        })?),
        None => None,
    };
    let default = match spec {
        Some(file) => super::engine::workdir(file).join("state"),
        None => PathBuf::from(".hubforge/state"),
    };
    let region = loaded.as_ref().map(|s| s.region.as_str());
    let store = super::state_store(dir.as_deref(), default, region, runtime)?;
    Ok((store, loaded.map(|s| s.name)))
}

/// A spec file named on the command line, rather than a hub name.
fn spec_file(argument: &str) -> Option<&Path> {
    let path = Path::new(argument);
    let spec_like = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "toml" | "json")
    );
    (spec_like && path.is_file()).then_some(path)
}

pub fn list(file: Option<PathBuf>, dir: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let (store, _) = store(file.as_deref(), dir, &runtime)?;
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

pub fn show(dir: Option<PathBuf>, target: String) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let (store, spec_hub) = store(spec_file(&target), dir, &runtime)?;
    let hub = spec_hub.unwrap_or(target);
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

/// Clears the lock with `id`, on `hub` (or the spec's hub) or on
/// whichever hub holds it.
pub fn unlock(
    file: Option<PathBuf>,
    dir: Option<PathBuf>,
    id: String,
    hub: Option<String>,
) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let (store, spec_hub) = store(file.as_deref(), dir, &runtime)?;
    let hub = hub.or(spec_hub);
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
