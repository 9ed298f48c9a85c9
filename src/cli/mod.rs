//! Commands and their output. Each command returns the exit code: 0 ok,
//! 1 error.

/// `println!` that ends the process quietly when stdout is closed early
/// (`hubforge schema | head`), instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::write_line(format_args!($($arg)*)) };
}

mod catalog;
mod engine;
mod progress;
mod state;
mod validate;

pub fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(error) = writeln!(std::io::stdout().lock(), "{line}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        panic!("cannot write to stdout: {error}");
    }
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Provision JupyterHub clusters on AWS, Google Cloud or Azure from one
/// portable spec.
#[derive(Debug, Parser)]
#[command(name = "hubforge", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a hub spec and print every problem with its field path.
    Validate {
        /// Spec file (.yaml, .yml, .toml or .json).
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of hub spec files (for editors and linters).
    Schema,
    /// Show the instance type each node pool resolves to on every cloud.
    Catalog {
        /// Spec file (.yaml, .yml, .toml or .json).
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what apply would change, without changing anything.
    Plan {
        #[command(flatten)]
        common: CommonArgs,
        /// Exit 0 with no changes, 2 with changes, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Bring the cloud in line with the spec.
    Apply {
        #[command(flatten)]
        common: CommonArgs,
        /// Do not ask before changing anything.
        #[arg(long)]
        auto_approve: bool,
    },
    /// Delete everything the hub owns, then check nothing tagged as its remains.
    Destroy {
        #[command(flatten)]
        common: CommonArgs,
        /// Do not ask before deleting.
        #[arg(long)]
        auto_approve: bool,
        /// Also delete buckets that still hold data.
        #[arg(long)]
        delete_data: bool,
    },
    /// Print what the hub gives the layers above: kubeconfig, bucket URLs,
    /// service-account annotations, node selectors.
    Output {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Print the hub's resource graph, marked with planned changes.
    Graph {
        #[command(flatten)]
        common: CommonArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: engine::GraphFormat,
    },
    /// Inspect hub state and clear stale locks.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// Spec file (.yaml, .yml, .toml or .json).
    file: PathBuf,
    /// State directory (default: .hubforge/state beside the spec).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Machine-readable output: JSON, and JSON lines for events.
    #[arg(long)]
    json: bool,
}

impl From<CommonArgs> for engine::Common {
    fn from(args: CommonArgs) -> engine::Common {
        engine::Common {
            file: args.file,
            state: args.state,
            json: args.json,
        }
    }
}

/// Where the state commands look: the spec file's state (as `plan` and
/// `apply` use it), or `--state`, or `.hubforge/state` here.
#[derive(Debug, clap::Args)]
struct StateArgs {
    /// State directory or `s3://bucket/prefix` (default: beside FILE, or
    /// .hubforge/state here).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Every hub with state, its size and its lock.
    List {
        /// A spec file: list the state beside it, where `apply` keeps it.
        file: Option<PathBuf>,
        #[command(flatten)]
        at: StateArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A hub's state as JSON.
    Show {
        /// A spec file, or a hub name.
        hub: String,
        #[command(flatten)]
        at: StateArgs,
    },
    /// Clear a lock by its id (the "locked by" message gives the command).
    Unlock {
        /// Lock id.
        id: String,
        /// The spec file of the locked hub: its state is found as `apply`
        /// finds it.
        file: Option<PathBuf>,
        /// Only look at this hub.
        #[arg(long)]
        hub: Option<String>,
        #[command(flatten)]
        at: StateArgs,
    },
}

/// Runs one command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { file, json } => validate::run(&file, json),
        Command::Schema => {
            say!(
                "{}",
                serde_json::to_string_pretty(&hubforge::HubClusterSpec::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog { file, json } => catalog::run(&file, json),
        Command::Plan {
            common,
            detailed_exitcode,
        } => engine::plan(common.into(), detailed_exitcode),
        Command::Apply {
            common,
            auto_approve,
        } => engine::apply(common.into(), auto_approve),
        Command::Destroy {
            common,
            auto_approve,
            delete_data,
        } => engine::destroy(common.into(), auto_approve, delete_data),
        Command::Output { common } => engine::output(common.into()),
        Command::Graph { common, format } => engine::graph(common.into(), format),
        Command::State { command } => match command {
            StateCommand::List { file, at, json } => state::list(file, at.state, json),
            StateCommand::Show { hub, at } => state::show(at.state, hub),
            StateCommand::Unlock { id, file, hub, at } => state::unlock(file, at.state, id, hub),
        },
    }
}

/// The state store a `--state` argument names: `s3://bucket/prefix` for a
/// shared S3 store (needs the `aws` feature), a directory otherwise.
fn state_store(
    arg: Option<&std::path::Path>,
    default_dir: PathBuf,
    region: Option<&str>,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<std::sync::Arc<dyn hubforge::state::StateStore>> {
    let text = arg.map(|a| a.to_string_lossy().into_owned());
    match text.as_deref().and_then(|t| t.strip_prefix("s3://")) {
        Some(location) => {
            #[cfg(feature = "aws")]
            {
                let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
                let mut builder = hubforge::aws::AwsBuilder::from_env();
                if std::env::var_os("AWS_REGION").is_none()
                    && std::env::var_os("AWS_DEFAULT_REGION").is_none()
                    && let Some(region) = region.and_then(|r| {
                        hubforge::catalog::resolve_region(hubforge::Cloud::Aws, r).ok()
                    })
                {
                    builder = builder.region(region.name());
                }
                let provider = runtime.block_on(builder.build())?;
                Ok(std::sync::Arc::new(hubforge::aws::S3StateStore::new(
                    &provider, bucket, prefix,
                )))
            }
            #[cfg(not(feature = "aws"))]
            {
                let _ = (location, region, runtime);
                anyhow::bail!("S3 state needs a hubforge built with the `aws` feature")
            }
        }
        None => Ok(std::sync::Arc::new(hubforge::state::LocalStateStore::new(
            arg.map(PathBuf::from).unwrap_or(default_dir),
        ))),
    }
}

/// Loads and parses a spec, printing the problems if it cannot.
fn load(file: &std::path::Path, json: bool) -> Option<hubforge::HubClusterSpec> {
    match hubforge::HubClusterSpec::load(file) {
        Ok(spec) => Some(spec),
        Err(problems) => {
            print_problems(file, &problems, json);
            None
        }
    }
}

fn print_problems(file: &std::path::Path, problems: &[hubforge::Problem], json: bool) {
    if json {
        let report = serde_json::json!({ "file": file, "valid": false, "problems": problems });
        say!("{report:#}");
        return;
    }
    let count = problems.len();
    eprintln!(
        "✗ {}: {count} problem{}",
        file.display(),
        if count == 1 { "" } else { "s" }
    );
    for problem in problems {
        eprintln!("  {problem}");
    }
}
