//! `plan`, `apply`, `destroy`, `output` and `graph`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hubforge::engine::{Engine, EngineOptions, Plan};
use hubforge::provider::Provider;
use hubforge::{Cancellation, HubClusterSpec, ProviderKind};

use super::progress::{Progress, Style};

/// Where a command keeps state and how it talks.
pub struct Common {
    pub file: PathBuf,
    pub state: Option<PathBuf>,
    pub json: bool,
}

/// `.hubforge/` beside the spec: state, the sim's cloud, kubeconfigs.
pub fn workdir(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".hubforge")
}

fn provider_for(
    spec: &HubClusterSpec,
    file: &Path,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Arc<dyn Provider>> {
    let _ = runtime;
    match spec.provider {
        ProviderKind::Sim => {
            #[cfg(feature = "sim")]
            {
                let mut builder = hubforge::sim::SimBuilder::from_env()?;
                if std::env::var_os("HUBFORGE_SIM_DIR").is_none() {
                    builder = builder.directory(workdir(file).join("sim"));
                }
                Ok(Arc::new(
                    builder
                        .imitate(spec.sim.as_ref().and_then(|s| s.imitate))
                        .build(),
                ))
            }
            #[cfg(not(feature = "sim"))]
            {
                let _ = file;
                bail!("this hubforge was built without the `sim` feature")
            }
        }
        ProviderKind::Aws => {
            #[cfg(feature = "aws")]
            {
                let region = hubforge::catalog::resolve_region(hubforge::Cloud::Aws, &spec.region)
                    .map_err(anyhow::Error::msg)?;
                let subnets = spec
                    .aws
                    .as_ref()
                    .map(|a| a.subnets.clone())
                    .unwrap_or_default();
                let private_nodes = spec.aws.as_ref().is_some_and(|a| a.private_nodes);
                let builder = hubforge::aws::AwsBuilder::from_env()
                    .region(region.name())
                    .subnets(subnets)
                    .private_nodes(private_nodes);
                Ok(Arc::new(runtime.block_on(builder.build())?))
            }
            #[cfg(not(feature = "aws"))]
            bail!("this hubforge was built without the `aws` feature")
        }
        other => bail!(
            "provisioning on {other} is not built yet: `{other}` specs validate (`hubforge validate`) and resolve \
             (`hubforge catalog`) today, and plan/apply run on `provider: sim` and `provider: aws`; see the README's status table"
        ),
    }
}

struct Session {
    runtime: tokio::runtime::Runtime,
    spec: HubClusterSpec,
    engine: Engine,
    progress: Progress,
    cancel: Cancellation,
    json: bool,
}

fn open(common: &Common) -> anyhow::Result<Option<Session>> {
    let Some(spec) = super::load(&common.file, common.json) else {
        return Ok(None);
    };
    let problems = hubforge::validate(&spec);
    if !problems.is_empty() {
        super::print_problems(&common.file, &problems, common.json);
        return Ok(None);
    }
    let runtime = runtime()?;
    let provider = provider_for(&spec, &common.file, &runtime)?;
    let state = super::state_store(
        common.state.as_deref(),
        workdir(&common.file).join("state"),
        Some(&spec.region),
        &runtime,
    )?;
    let style = if common.json {
        Style::Json
    } else if std::io::stderr().is_terminal() {
        Style::Live
    } else {
        Style::Lines
    };
    let progress = Progress::new(style, std::io::stderr().is_terminal());
    let cancel = Cancellation::new();
    let options = EngineOptions {
        events: progress.sink(),
        cancel: cancel.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::new(provider, state).with_options(options);
    Ok(Some(Session {
        runtime,
        spec,
        engine,
        progress,
        cancel,
        json: common.json,
    }))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

fn print_plan(plan: &Plan, json: bool) {
    if json {
        say!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "plan": plan })).expect("plans serialize")
        );
    } else {
        let color = std::io::stdout().is_terminal();
        for line in plan.lines() {
            say!("{}", painted(&line, color));
        }
    }
}

/// A plan line with the terminal colour of what it says.
fn painted(line: &hubforge::engine::PlanLine, color: bool) -> String {
    use hubforge::engine::Mark;
    let code = match line.mark {
        Mark::Create => "32",
        Mark::Update | Mark::Replace => "33",
        Mark::Delete => "31",
        Mark::Wait | Mark::LeftAlone => "36",
        Mark::Blocked => "1;31",
        Mark::Detail | Mark::Text => return line.to_string(),
    };
    if !color {
        return line.to_string();
    }
    format!(
        "  \x1b[{code}m{:>3}\x1b[0m {}",
        line.mark.symbol(),
        line.text
    )
}

pub fn plan(common: Common, detailed_exitcode: bool) -> anyhow::Result<ExitCode> {
    let Some(session) = open(&common)? else {
        return Ok(ExitCode::FAILURE);
    };
    let plan = session
        .runtime
        .block_on(session.engine.plan(&session.spec))?;
    print_plan(&plan, session.json);
    Ok(if !plan.blocked.is_empty() {
        ExitCode::FAILURE
    } else if detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn apply(common: Common, auto_approve: bool) -> anyhow::Result<ExitCode> {
    run_changes(common, auto_approve, None)
}

pub fn destroy(common: Common, auto_approve: bool, delete_data: bool) -> anyhow::Result<ExitCode> {
    run_changes(common, auto_approve, Some(delete_data))
}

/// Apply (`destroy: None`) or destroy: lock, plan, show, confirm, execute.
fn run_changes(
    common: Common,
    auto_approve: bool,
    destroy: Option<bool>,
) -> anyhow::Result<ExitCode> {
    let Some(session) = open(&common)? else {
        return Ok(ExitCode::FAILURE);
    };
    session.runtime.block_on(async {
        let operation = if destroy.is_some() {
            "destroy"
        } else {
            "apply"
        };
        let lock = match session.engine.lock(&session.spec.name, operation).await {
            Ok(lock) => lock,
            Err(error) => return Err(unlock_hint(error, &session.spec.name, &common)),
        };
        let outcome = changes_under_lock(&session, &lock, auto_approve, destroy).await;
        session.progress.finish();
        // A failure to release is a warning; the run's own result stands.
        session.engine.release(lock, outcome).await
    })
}

/// A "locked" error whose unlock command works from where the user is:
/// it names the spec file (and `--state`), so `state unlock` finds the
/// same state as the command that was refused.
fn unlock_hint(error: hubforge::Error, hub: &str, common: &Common) -> anyhow::Error {
    let hubforge::ErrorKind::Locked { holder, lock_id } = error.kind() else {
        return error.into();
    };
    let state = common
        .state
        .as_ref()
        .map(|dir| format!(" --state {}", dir.display()))
        .unwrap_or_default();
    anyhow::anyhow!(
        "hub {hub} is locked by {holder}; if that run is gone, clear the lock with `hubforge state unlock {lock_id} {}{state}`",
        common.file.display()
    )
}

async fn changes_under_lock(
    session: &Session,
    lock: &hubforge::engine::HubLock,
    auto_approve: bool,
    destroy: Option<bool>,
) -> anyhow::Result<ExitCode> {
    let (engine, spec) = (&session.engine, &session.spec);
    let plan = match destroy {
        Some(delete_data) => engine.plan_destroy(spec, delete_data).await?,
        None => engine.plan(spec).await?,
    };
    print_plan(&plan, session.json);
    if !plan.blocked.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    if !plan.has_changes() && destroy.is_none() {
        // Nothing to change, but state learns of resources a crashed run made.
        engine.execute(lock, &plan).await?;
    }
    if plan.has_changes() {
        if !auto_approve {
            // Without a terminal nobody can answer: changing the cloud
            // unasked is never the default.
            if !std::io::stdin().is_terminal() {
                eprintln!(
                    "Nothing changed: {} changes the cloud only when someone says yes, and there is no terminal to ask on. Run it with --auto-approve to go ahead without asking.",
                    if destroy.is_some() {
                        "destroy"
                    } else {
                        "apply"
                    }
                );
                return Ok(ExitCode::FAILURE);
            }
            if !confirm(destroy.is_some())? {
                eprintln!("Nothing changed.");
                return Ok(ExitCode::FAILURE);
            }
        }
        let cancel = session.cancel.clone();
        let interrupt = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\nInterrupted: no new actions start; running cloud operations go on and the next run picks them up."
                );
                cancel.cancel();
            }
        });
        let ticker = {
            let progress = session.progress.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(1000));
                loop {
                    every.tick().await;
                    progress.tick();
                }
            })
        };
        let report = engine.execute(lock, &plan).await;
        ticker.abort();
        interrupt.abort();
        session.progress.finish();
        let report = report?;
        let (failed, skipped) = (report.failed.len(), report.skipped.len());
        if session.json {
            say!(
                "{}",
                serde_json::json!({ "done": report.done.len(), "failed": failed, "skipped": skipped, "elapsed_seconds": report.elapsed.as_secs_f64(), "lock_lost": report.lock_lost })
            );
        } else {
            eprintln!(
                "\n{} actions done, {failed} failed, {skipped} skipped in {:.1}s.",
                report.done.len(),
                report.elapsed.as_secs_f64()
            );
            for (id, error) in &report.failed {
                eprintln!(
                    "  failed: {} ({}): {error}",
                    plan.actions[*id].node, plan.actions[*id].physical
                );
            }
        }
        if !report.succeeded() {
            if session.cancel.is_cancelled() || report.lock_lost.is_some() {
                eprintln!("State is consistent: run the same command again to continue.");
            }
            return Ok(ExitCode::FAILURE);
        }
    }
    if destroy.is_some() {
        let check = engine.leak_check(spec).await?;
        if session.json {
            say!(
                "{}",
                serde_json::json!({ "leaks": check.leaks, "left_alone": check.left_alone })
            );
        }
        if !check.left_alone.is_empty() && !session.json {
            eprintln!("Left alone, because they are not hub {}'s:", spec.name);
            for foreign in &check.left_alone {
                eprintln!("  {foreign}");
            }
        }
        if !check.leaks.is_empty() {
            eprintln!(
                "Leak check: {} resource(s) still tagged for hub {}:",
                check.leaks.len(),
                spec.name
            );
            for leak in &check.leaks {
                eprintln!("  {leak}");
            }
            return Ok(ExitCode::FAILURE);
        }
        engine.state().remove(&spec.name).await?;
        if !session.json {
            eprintln!("Leak check: nothing tagged for hub {} remains.", spec.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(destroy: bool) -> anyhow::Result<bool> {
    let question = if destroy {
        "Destroy this hub cluster? Only 'yes' will be accepted: "
    } else {
        "Apply these actions? Only 'yes' will be accepted: "
    };
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

pub fn output(common: Common) -> anyhow::Result<ExitCode> {
    let Some(session) = open(&common)? else {
        return Ok(ExitCode::FAILURE);
    };
    let outputs = session
        .runtime
        .block_on(session.engine.outputs(&session.spec))?;
    if session.json {
        say!("{}", serde_json::to_string_pretty(&outputs)?);
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "hub {} on {} (cluster {})",
        outputs.hub,
        outputs.provider,
        outputs.cluster
    );
    match (&outputs.endpoint, &outputs.kubeconfig) {
        (Some(endpoint), Some(kubeconfig)) => {
            let path = workdir(&common.file).join(format!("kubeconfig-{}", outputs.hub));
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            std::fs::write(&path, kubeconfig)
                .with_context(|| format!("write {}", path.display()))?;
            say!("endpoint     {endpoint}");
            say!("kubeconfig   {}", path.display());
        }
        _ => say!("cluster      not created yet: run `hubforge apply`"),
    }
    for (bucket, url) in &outputs.buckets {
        say!("bucket       {bucket:<16} {url}");
    }
    for (identity, out) in &outputs.identities {
        for (key, value) in &out.annotations {
            say!(
                "identity     {identity:<16} {} → {key}: {value}",
                out.service_account
            );
        }
        for (key, value) in &out.pod_labels {
            say!("identity     {identity:<16} pods → {key}: \"{value}\"");
        }
    }
    for (pool, selector) in &outputs.node_selectors {
        let cloud_label = outputs
            .cloud_node_labels
            .get(pool)
            .and_then(|labels| labels.iter().next())
            .map(|(key, value)| format!("  (today also {key}: {value})"))
            .unwrap_or_default();
        for (key, value) in selector {
            say!("node pool    {pool:<16} {key}: {value}{cloud_label}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Graph formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// How one graph format writes nodes and edges.
struct GraphSyntax {
    header: &'static str,
    node: fn(usize, &str, &str) -> String,
    edge: fn(usize, usize) -> String,
    footer: &'static str,
}

const MERMAID: GraphSyntax = GraphSyntax {
    header: "flowchart TD",
    node: |i, title, physical| format!("  n{i}[\"{title}<br/>{physical}\"]"),
    edge: |from, to| format!("  n{from} --> n{to}"),
    footer: "",
};

const DOT: GraphSyntax = GraphSyntax {
    header: "digraph hub {\n  rankdir=LR;",
    node: |i, title, physical| format!("  n{i} [label=\"{title}\\n{physical}\"];"),
    edge: |from, to| format!("  n{from} -> n{to};"),
    footer: "}",
};

pub fn graph(common: Common, format: GraphFormat) -> anyhow::Result<ExitCode> {
    let Some(session) = open(&common)? else {
        return Ok(ExitCode::FAILURE);
    };
    let (graph, plan) = session.runtime.block_on(async {
        let graph = session.engine.graph(&session.spec).await?;
        let plan = session.engine.plan(&session.spec).await?;
        Ok::<_, hubforge::Error>((graph, plan))
    })?;
    // Nodes are the spec's resources, marked with what the plan does to them;
    // edges are their dependencies, which the apply DAG follows.
    let marker = |node: &hubforge::engine::NodeId| {
        let actions: Vec<&str> = plan
            .actions
            .iter()
            .filter(|a| &a.node == node)
            .map(|a| match (a.change, a.replaces.is_some()) {
                (_, true) => "-/+",
                (hubforge::events::Change::Create, _) => "+",
                (hubforge::events::Change::Update, _) => "~",
                (hubforge::events::Change::Delete, _) => "-",
                (hubforge::events::Change::Wait, _) => "…",
            })
            .collect();
        if actions.is_empty() {
            "=".to_string()
        } else {
            actions.join(" ")
        }
    };
    let position = |id: &hubforge::engine::NodeId| {
        graph
            .nodes
            .iter()
            .position(|n| &n.id == id)
            .expect("dependency in graph")
    };
    let nodes: Vec<(String, String)> = graph
        .nodes
        .iter()
        .map(|n| {
            (
                format!("{} {}", marker(&n.id), n.id),
                n.desired.physical().to_string(),
            )
        })
        .collect();
    let edges: Vec<(usize, usize)> = graph
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.depends_on.iter().map(move |d| (d, i)))
        .map(|(d, i)| (position(d), i))
        .collect();
    let syntax = match format {
        GraphFormat::Mermaid => &MERMAID,
        GraphFormat::Dot => &DOT,
    };
    let (header, node_line, edge_line, footer) =
        (syntax.header, syntax.node, syntax.edge, syntax.footer);
    say!("{header}");
    for (i, (title, physical)) in nodes.iter().enumerate() {
        say!("{}", node_line(i, title, physical));
    }
    for (from, to) in edges {
        say!("{}", edge_line(from, to));
    }
    if !footer.is_empty() {
        say!("{footer}");
    }
    Ok(ExitCode::SUCCESS)
}
