//! Renders engine events: a live view on a terminal, Terraform-style lines
//! in logs, or JSON lines for machines.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hubforge::events::{Change, Event, EventSink};

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A redrawn block of running actions (stderr is a terminal).
    Live,
    /// One line per start, finish, and every `still_every` while running.
    Lines,
    /// One JSON object per event, on stdout.
    Json,
}

struct Running {
    node: String,
    physical: String,
    change: Change,
    started: Instant,
    status: Option<String>,
    last_line: Instant,
}

struct View {
    style: Style,
    color: bool,
    running: BTreeMap<usize, Running>,
    drawn: usize,
    still_every: Duration,
}

/// A progress view; `sink()` feeds it, `tick()` keeps "still running"
/// lines coming while nothing else happens.
#[derive(Clone)]
pub struct Progress(Arc<Mutex<View>>);

impl Progress {
    pub fn new(style: Style, color: bool) -> Progress {
        Progress(Arc::new(Mutex::new(View {
            style,
            color,
            running: BTreeMap::new(),
            drawn: 0,
            still_every: Duration::from_secs(10),
        })))
    }

    pub fn sink(&self) -> EventSink {
        let view = self.0.clone();
        Arc::new(move |event: &Event| view.lock().expect("progress view").on_event(event))
    }

    /// Redraws elapsed times; call about once a second.
    pub fn tick(&self) {
        self.0.lock().expect("progress view").on_tick();
    }

    /// Clears the live block before other output.
    pub fn finish(&self) {
        self.0.lock().expect("progress view").clear();
    }
}

fn elapsed(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        format!(
            "{}m{:02}s",
            duration.as_secs() / 60,
            duration.as_secs() % 60
        )
    }
}

fn noun(change: Change) -> (&'static str, &'static str) {
    match change {
        Change::Create => ("Creating", "Creation complete"),
        Change::Update => ("Modifying", "Modifications complete"),
        Change::Delete => ("Destroying", "Destruction complete"),
        Change::Wait => ("Waiting for a running operation", "Wait complete"),
    }
}

impl View {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn on_event(&mut self, event: &Event) {
        if self.style == Style::Json {
            let line = serde_json::to_string(event).expect("events serialize");
            let _ = writeln!(std::io::stdout().lock(), "{line}");
            return;
        }
        self.clear();
        match event {
            Event::Started {
                action,
                node,
                change,
                physical,
            } => {
                let now = Instant::now();
                self.running.insert(
                    *action,
                    Running {
                        node: node.clone(),
                        physical: physical.clone(),
                        change: *change,
                        started: now,
                        status: None,
                        last_line: now,
                    },
                );
                if self.style == Style::Lines {
                    eprintln!("{node} ({physical}): {}…", noun(*change).0);
                }
            }
            Event::Progress { action, status, .. } => {
                if let Some(running) = self.running.get_mut(action) {
                    running.status = Some(status.clone());
                }
            }
            Event::Retrying {
                action,
                error,
                attempt,
                delay,
            } => {
                let node = self
                    .running
                    .get(action)
                    .map_or("?", |r| r.node.as_str())
                    .to_string();
                eprintln!(
                    "{} {node}: attempt {attempt} failed ({error}); trying again in {}",
                    self.paint("33", "↻"),
                    elapsed(*delay)
                );
            }
            Event::Done {
                action,
                elapsed: took,
            } => {
                if let Some(running) = self.running.remove(action) {
                    eprintln!(
                        "{} {} ({}): {} after {}",
                        self.paint("32", "✓"),
                        running.node,
                        running.physical,
                        noun(running.change).1,
                        elapsed(*took)
                    );
                }
            }
            Event::Failed { action, error } => {
                let node = self
                    .running
                    .remove(action)
                    .map_or_else(|| format!("action {action}"), |r| r.node);
                eprintln!("{} {node}: {error}", self.paint("31", "✗"));
            }
            Event::Skipped { action, reason } => eprintln!(
                "{} action {action} skipped: {reason}",
                self.paint("33", "-")
            ),
            Event::Warning { message } => eprintln!("{} {message}", self.paint("33", "warning:")),
            Event::Planned { .. } => {}
        }
        self.draw();
    }

    fn on_tick(&mut self) {
        match self.style {
            Style::Live => {
                self.clear();
                self.draw();
            }
            Style::Lines => {
                let every = self.still_every;
                for running in self.running.values_mut() {
                    if running.last_line.elapsed() >= every {
                        running.last_line = Instant::now();
                        let status = running
                            .status
                            .as_deref()
                            .map(|s| format!(", cloud says {s}"))
                            .unwrap_or_default();
                        eprintln!(
                            "{} ({}): Still {}… [{} elapsed{status}]",
                            running.node,
                            running.physical,
                            running.change.progressive(),
                            elapsed(running.started.elapsed())
                        );
                    }
                }
            }
            Style::Json => {}
        }
    }

    fn draw(&mut self) {
        if self.style != Style::Live {
            return;
        }
        let mut out = std::io::stderr().lock();
        for running in self.running.values() {
            let status = running
                .status
                .as_deref()
                .map(|s| format!("  {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{} {:<24} {:<28} still {}… [{} elapsed]{status}",
                self.paint("36", "⠿"),
                running.node,
                running.physical,
                running.change.progressive(),
                elapsed(running.started.elapsed())
            );
        }
        self.drawn = self.running.len();
    }

    fn clear(&mut self) {
        if self.style == Style::Live && self.drawn > 0 {
            eprint!("\x1b[{}A\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }
}
