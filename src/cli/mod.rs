//! Commands and their output. Each command returns the exit code: 0 ok,
//! 1 error.

/// `println!` that ends the process quietly when stdout is closed early
/// (`hubforge schema | head`), instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::write_line(format_args!($($arg)*)) };
}

mod catalog;
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
