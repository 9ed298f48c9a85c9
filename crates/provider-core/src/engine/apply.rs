//! The executor: runs a plan as a DAG.
//!
//! Independent actions run at once; an action starts when everything it
//! depends on has finished. Each action retries its requests on temporary
//! errors with jittered backoff (honouring retry-after), waits for its cloud
//! operation with progress events, and has a deadline. A finished action is
//! journalled to state at once. When one fails, only what depends on it is
//! skipped. Cancelling stops new actions and waits; operations already
//! started go on in the cloud, and the next run picks them up as "waiting".

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use super::journal::Journal;
use super::keys::{KeyedLocks, mutation};
use super::plan::{Action, Plan, Step, Target};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, EventSink};
use crate::operation::{Backoff, Cancellation, Operation, Waiter};
use crate::provider::*;
use crate::retry::{RetryLayer, RetryPolicy, Retrying};

/// What happened to each action of a plan.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Actions that finished.
    pub done: Vec<usize>,
    /// Actions that failed, with why.
    pub failed: Vec<(usize, Error)>,
    /// Actions that did not run.
    pub skipped: Vec<usize>,
    /// Wall time.
    pub elapsed: Duration,
    /// Why the run stopped starting actions, if its lock's lease could not
    /// be kept.
    pub lock_lost: Option<String>,
}

impl ApplyReport {
    /// Whether every action finished.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }

    /// `Ok` if every action finished, else the first failure, with a count.
    pub fn into_result(self) -> Result<ApplyReport> {
        if let Some(reason) = &self.lock_lost {
            return Err(Error::new(ErrorKind::Cancelled, "hubforge", reason.clone()));
        }
        match self.failed.first() {
            None if self.skipped.is_empty() => Ok(self),
            None => Err(Error::new(
                ErrorKind::Cancelled,
                "hubforge",
                format!("{} actions did not run", self.skipped.len()),
            )),
            Some((_, error)) => Err(Error::new(
                error.kind().clone(),
                error.provider().to_string(),
                format!(
                    "{} action(s) failed, {} skipped; first: {error}",
                    self.failed.len(),
                    self.skipped.len()
                ),
            )),
        }
    }
}

/// How the executor behaves.
#[derive(Clone)]
pub(crate) struct ExecOptions {
    /// The hub the plan is for: only what its tags say is this hub's is
    /// adopted.
    pub hub: String,
    pub deadline: Duration,
    pub poll: Duration,
    pub cancel: Cancellation,
    pub events: EventSink,
}

/// Runs `plan` against `provider`, journalling into `journal`.
pub(crate) async fn execute(
    provider: Arc<dyn Provider>,
    plan: &Plan,
    journal: Arc<Journal>,
    options: ExecOptions,
) -> ApplyReport {
    let started = Instant::now();
    let actions = &plan.actions;
    let mut waiting_on: Vec<usize> = actions.iter().map(|a| a.depends_on.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for action in actions {
        for &dep in &action.depends_on {
            dependents[dep].push(action.id);
        }
    }
    // The cloud's one-at-a-time rules (one operation per GKE or AKS
    // cluster, one lifecycle policy per Azure storage account): queue such
    // work here instead of collecting conflicts from the cloud.
    let locks = KeyedLocks::default();

    let mut report = ApplyReport::default();
    let mut ready: VecDeque<usize> = actions
        .iter()
        .filter(|a| a.depends_on.is_empty())
        .map(|a| a.id)
        .collect();
    let mut skipped: BTreeSet<usize> = BTreeSet::new();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while let Some(id) = ready.pop_front() {
            if options.cancel.is_cancelled() {
                skip(
                    id,
                    "the run was cancelled",
                    &dependents,
                    &mut skipped,
                    &options.events,
                );
                continue;
            }
            let (provider, action, options, locks) = (
                provider.clone(),
                actions[id].clone(),
                options.clone(),
                locks.clone(),
            );
            running.spawn(async move {
                let begun = Instant::now();
                let outcome = run_action(&provider, &action, &options, &locks, begun).await;
                (action.id, outcome, begun.elapsed())
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (id, outcome, elapsed) = joined.expect("an action task panicked");
        let outcome = match outcome {
            Ok(()) => journal.record(&actions[id]).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                (options.events)(&Event::Done {
                    action: id,
                    elapsed,
                });
                report.done.push(id);
                for &next in &dependents[id] {
                    waiting_on[next] -= 1;
                    if waiting_on[next] == 0 && !skipped.contains(&next) {
                        ready.push_back(next);
                    }
                }
            }
            Err(error) => {
                (options.events)(&Event::Failed {
                    action: id,
                    error: error.to_string(),
                });
                report.failed.push((id, error));
                for &next in &dependents[id] {
                    skip(
                        next,
                        &format!("action {id} ({}) failed", actions[id].node),
                        &dependents,
                        &mut skipped,
                        &options.events,
                    );
                }
            }
        }
    }
    // Anything neither run nor skipped waited on an action that never ran.
    for action in actions {
        let id = action.id;
        if !report.done.contains(&id)
            && !report.failed.iter().any(|(f, _)| *f == id)
            && !skipped.contains(&id)
        {
            skip(
                id,
                "a dependency did not finish",
                &dependents,
                &mut skipped,
                &options.events,
            );
        }
    }
    report.skipped = skipped.into_iter().collect();
    report.elapsed = started.elapsed();
    report
}

fn skip(
    id: usize,
    reason: &str,
    dependents: &[Vec<usize>],
    skipped: &mut BTreeSet<usize>,
    events: &EventSink,
) {
    if !skipped.insert(id) {
        return;
    }
    events(&Event::Skipped {
        action: id,
        reason: reason.to_string(),
    });
    for &next in &dependents[id] {
        skip(next, reason, dependents, skipped, events);
    }
}

struct Ctx<'a> {
    /// The provider behind this action's own retry layer: every request
    /// is retried on temporary errors, each retry an event of the action.
    provider: &'a Arc<dyn Provider>,
    action: &'a Action,
    options: &'a ExecOptions,
    begun: Instant,
    backoff: Backoff,
}

async fn run_action(
    provider: &Arc<dyn Provider>,
    action: &Action,
    options: &ExecOptions,
    locks: &KeyedLocks,
    begun: Instant,
) -> Result<()> {
    let retried: Arc<dyn Provider> = {
        let (events, id) = (options.events.clone(), action.id);
        Arc::new(RetryLayer::on_retry(
            provider.clone(),
            RetryPolicy {
                // The action's deadline bounds the retries.
                max_attempts: None,
                backoff: Backoff::new(options.poll, options.poll * 16, 2.0),
            },
            Arc::new(move |retry: &Retrying<'_>| {
                events(&Event::Retrying {
                    action: id,
                    error: retry.error.to_string(),
                    attempt: retry.attempt,
                    delay: retry.delay,
                })
            }),
        ))
    };
    let ctx = Ctx {
        provider: &retried,
        action,
        options,
        begun,
        backoff: Backoff::new(options.poll, options.poll * 16, 2.0),
    };
    let keys = mutation(&action.step)
        .map(|m| provider.serialization_keys(&m))
        .unwrap_or_default();
    let cancelled = || {
        Error::new(
            ErrorKind::Cancelled,
            "hubforge",
            "cancelled; the cloud operation goes on and the next run waits for it",
        )
        .with_resource(action.physical.clone())
    };
    // Waiting for a key is part of the run, so Ctrl-C ends it too; it does
    // not count against the action's deadline.
    let _held = tokio::select! {
        biased;
        _ = options.cancel.cancelled() => return Err(cancelled()),
        held = locks.acquire(&keys) => held,
    };
    (options.events)(&Event::Started {
        action: action.id,
        node: action.node.to_string(),
        change: action.change,
        physical: action.physical.clone(),
    });
    let work = run_step(&ctx);
    tokio::select! {
        biased;
        _ = options.cancel.cancelled() => Err(cancelled()),
        outcome = tokio::time::timeout(options.deadline, work) => outcome.unwrap_or_else(|_| Err(
            Error::new(ErrorKind::Timeout, provider.name(), format!("{} did not finish within {:?}", action.node, options.deadline)).with_resource(action.physical.clone())
        )),
    }
}

async fn run_step(ctx: &Ctx<'_>) -> Result<()> {
    let p = ctx.provider;
    match &ctx.action.step {
        Step::CreateSupport(c) => {
            let c = &with_issuer(ctx, c).await?;
            create(ctx, || p.create_support(c), target_of(ctx)).await
        }
        Step::UpdateSupport(c) => {
            let c = &with_issuer(ctx, c).await?;
            change(ctx, || p.update_support(c)).await
        }
        Step::DeleteSupport { kind, name } => delete(ctx, || p.delete_support(*kind, name)).await,
        Step::CreateCluster {
            config,
            initial_pools,
        } => {
            create(
                ctx,
                || p.create_cluster(config, initial_pools),
                target_of(ctx),
            )
            .await
        }
        Step::UpdateCluster { config, versions } => {
            if versions.is_empty() {
                return change(ctx, || p.update_cluster(config)).await;
            }
            for version in versions {
                let step = ClusterConfig {
                    kubernetes_version: version.clone(),
                    ..config.clone()
                };
                // A lost answer may have started this upgrade already.
                let current = p
                    .get_cluster(&config.name)
                    .await?
                    .map(|c| c.config.kubernetes_version);
                if current.as_deref() == Some(version.as_str()) {
                    poll_until(ctx, target_of(ctx), false).await?;
                    continue;
                }
                change(ctx, || p.update_cluster(&step)).await?;
            }
            Ok(())
        }
        Step::DeleteCluster { name } => delete(ctx, || p.delete_cluster(name)).await,
        Step::CreatePool { cluster, config } => {
            create(ctx, || p.create_node_pool(cluster, config), target_of(ctx)).await
        }
        Step::UpdatePool { cluster, config } => {
            change(ctx, || p.update_node_pool(cluster, config)).await
        }
        Step::DeletePool { cluster, name } => {
            delete(ctx, || p.delete_node_pool(cluster, name)).await
        }
        Step::CreateBucket(c) => create(ctx, || p.create_bucket(c), target_of(ctx)).await,
        Step::UpdateBucket(c) => change(ctx, || p.update_bucket(c)).await,
        Step::DeleteBucket { name, delete_data } => {
            let deletion = if *delete_data {
                BucketDeletion::DeleteObjects
            } else {
                BucketDeletion::RefuseIfNotEmpty
            };
            delete(ctx, || p.delete_bucket(name, deletion)).await
        }
        Step::CreateIdentity(c) => create(ctx, || p.create_identity(c), target_of(ctx)).await,
        Step::UpdateIdentity(c) => change(ctx, || p.update_identity(c)).await,
        Step::DeleteIdentity { name } => delete(ctx, || p.delete_identity(name)).await,
        Step::Bind { identity, binding } => {
            let binding = &if binding.issuer.is_empty() {
                IdentityBinding {
                    issuer: issuer_of(ctx, &binding.cluster).await?,
                    ..binding.clone()
                }
            } else {
                binding.clone()
            };
            change(ctx, || p.bind_identity(identity, binding)).await
        }
        Step::Await { target, gone } => poll_until(ctx, target.clone(), *gone).await,
    }
}

/// The OIDC issuer of `cluster` as it is now: a plan made before the
/// cluster existed could not know it.
async fn issuer_of(ctx: &Ctx<'_>, cluster: &str) -> Result<String> {
    let p = ctx.provider;
    let found = p.get_cluster(cluster).await?;
    found.and_then(|c| c.oidc_issuer).ok_or_else(|| {
        Error::new(
            ErrorKind::Conflict,
            p.name(),
            format!("cluster {cluster} has no OIDC issuer yet"),
        )
        .with_resource(ctx.action.physical.clone())
    })
}

/// An OIDC provider's config with the cluster's current issuer filled in.
async fn with_issuer(ctx: &Ctx<'_>, config: &SupportConfig) -> Result<SupportConfig> {
    let mut config = config.clone();
    if config.kind == SupportKind::OidcProvider
        && !config.properties.contains_key(ISSUER_PROPERTY)
        && let Some(cluster) = config.properties.get("cluster").cloned()
    {
        config
            .properties
            .insert(ISSUER_PROPERTY.into(), issuer_of(ctx, &cluster).await?);
    }
    Ok(config)
}

/// What a create or update step acts on, for polling it directly.
fn target_of(ctx: &Ctx<'_>) -> Target {
    let name = ctx.action.physical.clone();
    match &ctx.action.step {
        Step::CreateSupport(c) | Step::UpdateSupport(c) => Target::Support {
            support: c.kind,
            name,
        },
        Step::CreatePool { cluster, .. } | Step::UpdatePool { cluster, .. } => Target::NodePool {
            cluster: cluster.clone(),
            name,
        },
        Step::CreateBucket(_) | Step::UpdateBucket(_) => Target::Bucket { name },
        Step::CreateIdentity(_) | Step::UpdateIdentity(_) | Step::Bind { .. } => {
            Target::Identity { name }
        }
        _ => Target::Cluster { name },
    }
}

async fn wait(ctx: &Ctx<'_>, operation: Operation) -> Result<()> {
    let waiter = Waiter::new(
        Backoff::new(ctx.options.poll, ctx.options.poll * 8, 1.5),
        ctx.options.deadline,
    )
    .with_cancellation(ctx.options.cancel.clone());
    let (events, id, begun) = (ctx.options.events.clone(), ctx.action.id, ctx.begun);
    waiter
        .wait(&operation, move |progress| {
            events(&Event::Progress {
                action: id,
                status: progress.status.clone(),
                percent: progress.percent,
                elapsed: begun.elapsed(),
            })
        })
        .await
}

/// Creates. Providers' creates are ensures, so a resource already there
/// that is this hub's (a previous run, or this one before an answer was
/// lost) is finished and waited for by the create itself; a provider that
/// still answers `AlreadyExists` for it gets it adopted and waited for
/// here. Anything by that name that is not this very hub resource is
/// refused, named with its tags, and left alone.
async fn create<F, Fut>(ctx: &Ctx<'_>, request: F, target: Target) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Operation>>,
{
    match request().await {
        Ok(operation) => wait(ctx, operation).await,
        Err(error) if error.kind() == &ErrorKind::AlreadyExists => {
            let tags = match owner_tags(ctx, &target).await {
                Ok(Some(tags)) => tags,
                Ok(None) => return Err(error),
                // Someone else's resource, most likely in another account.
                Err(read) => {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        ctx.provider.name(),
                        format!(
                            "`{}` exists and hubforge may not read it ({read}); it is not this hub's — rename it in the spec",
                            ctx.action.physical
                        ),
                    )
                    .with_resource(ctx.action.physical.clone()));
                }
            };
            let expected = ctx.action.node.tag();
            if owned_by(&tags, &ctx.options.hub) && tags.get(TAG_RESOURCE) == expected.as_ref() {
                (ctx.options.events)(&Event::Warning {
                    message: format!(
                        "{} `{}` already exists and is this hub's; adopting it",
                        ctx.action.node, ctx.action.physical
                    ),
                });
                return poll_until(ctx, target, false).await;
            }
            Err(Error::new(
                ErrorKind::AlreadyExists,
                ctx.provider.name(),
                format!(
                    "`{}` exists and is not this hub's ({}); hubforge will not take it over — rename it in the spec or delete it",
                    ctx.action.physical,
                    describe_tags(&tags)
                ),
            )
            .with_resource(ctx.action.physical.clone()))
        }
        Err(error) => Err(error),
    }
}

async fn change<F, Fut>(ctx: &Ctx<'_>, request: F) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Operation>>,
{
    let operation = request().await?;
    wait(ctx, operation).await
}

/// Deletes; what is already gone counts as deleted.
async fn delete<F, Fut>(ctx: &Ctx<'_>, request: F) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Operation>>,
{
    match request().await {
        Ok(operation) => match wait(ctx, operation).await {
            Err(error) if error.kind() == &ErrorKind::NotFound => Ok(()),
            outcome => outcome,
        },
        Err(error) if error.kind() == &ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

async fn owner_tags(
    ctx: &Ctx<'_>,
    target: &Target,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    Ok(read_target(ctx, target).await?.map(|(tags, _)| tags))
}

/// Tags and status of a target, or `None` if it does not exist.
async fn read_target(
    ctx: &Ctx<'_>,
    target: &Target,
) -> Result<Option<(std::collections::BTreeMap<String, String>, ResourceStatus)>> {
    let p = ctx.provider;
    Ok(match target {
        Target::Support { support, name } => p
            .get_support(*support, name)
            .await?
            .map(|s| (s.config.tags, s.status)),
        Target::Cluster { name } => p
            .get_cluster(name)
            .await?
            .map(|s| (s.config.tags, s.status)),
        Target::NodePool { cluster, name } => p
            .get_node_pool(cluster, name)
            .await?
            .map(|s| (s.config.tags, s.status)),
        Target::Bucket { name } => p.get_bucket(name).await?.map(|s| (s.config.tags, s.status)),
        Target::Identity { name } => p
            .get_identity(name)
            .await?
            .map(|s| (s.config.tags, s.status)),
    })
}

/// Polls a resource until it is ready (or gone), for work another run started.
async fn poll_until(ctx: &Ctx<'_>, target: Target, gone: bool) -> Result<()> {
    let mut round = 0u32;
    loop {
        let status = read_target(ctx, &target).await?.map(|(_, status)| status);
        match (&status, gone) {
            (None, true) => return Ok(()),
            (None, false) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    ctx.provider.name(),
                    "the resource disappeared while hubforge waited for it",
                )
                .with_resource(ctx.action.physical.clone()));
            }
            (Some(ResourceStatus::Ready), false) => return Ok(()),
            (Some(ResourceStatus::Failed(reason)), _) => {
                return Err(Error::new(
                    ErrorKind::Permanent,
                    ctx.provider.name(),
                    format!("the cloud reports it failed: {reason}"),
                )
                .with_resource(ctx.action.physical.clone()));
            }
            (Some(status), _) => {
                let word = format!("{status:?}").to_uppercase();
                (ctx.options.events)(&Event::Progress {
                    action: ctx.action.id,
                    status: word,
                    percent: None,
                    elapsed: ctx.begun.elapsed(),
                });
            }
        }
        tokio::time::sleep(ctx.backoff.delay(round.min(4))).await;
        round += 1;
    }
}
