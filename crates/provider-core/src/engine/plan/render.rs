//! The plan as a person reads it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::*;

impl Plan {
    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty()
    }

    /// (create, update, replace, delete) counts as a person reads them: a
    /// blue/green replacement counts once, as a replacement.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let replaced: BTreeSet<&str> = self
            .actions
            .iter()
            .filter_map(|a| a.replaces.as_ref().map(|r| r.old.as_str()))
            .collect();
        let mut counts = (0, 0, 0, 0);
        for action in &self.actions {
            match action.change {
                Change::Create if action.replaces.is_some() => counts.2 += 1,
                Change::Create => counts.0 += 1,
                Change::Update => counts.1 += 1,
                Change::Delete
                    if matches!(action.step, Step::DeletePool { .. })
                        && replaced.contains(action.physical.as_str()) => {}
                Change::Delete => counts.3 += 1,
                Change::Wait => {}
            }
        }
        counts
    }

    /// The plan as a person reads it, like `terraform plan`: `+` create,
    /// `~` update, `-/+` replace, `-` delete, `…` wait, with ANSI colours
    /// when `color`.
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut out = String::new();
        let left_alone = |out: &mut String| {
            if self.left_alone.is_empty() {
                return;
            }
            let _ = writeln!(
                out,
                "\nLeft alone, because they are not hub `{}`'s:",
                self.hub
            );
            for foreign in &self.left_alone {
                let _ = writeln!(out, "  {} {foreign}", paint("36", "  ="));
            }
        };
        if !self.has_changes() && self.blocked.is_empty() {
            let _ = writeln!(
                out,
                "No changes. Hub `{}` ({}) matches its spec: {} resources up to date.",
                self.hub,
                self.provider,
                self.unchanged.len()
            );
            left_alone(&mut out);
            return out;
        }
        let verb = if self.destroy { "destroy" } else { "converge" };
        let _ = writeln!(
            out,
            "hubforge will {verb} hub `{}` on {} with these actions:\n",
            self.hub, self.provider
        );
        for action in &self.actions {
            let (symbol, code) = match (action.change, &action.replaces) {
                (Change::Create, Some(_)) => ("-/+", "33"),
                (Change::Create, None) => ("+", "32"),
                (Change::Update, _) => ("~", "33"),
                (Change::Delete, _) => ("-", "31"),
                (Change::Wait, _) => ("…", "36"),
            };
            let name = match &action.replaces {
                Some(r) => format!("{} → {}", r.old, action.physical),
                None => action.physical.clone(),
            };
            let _ = writeln!(
                out,
                "  {} {:<28} {}",
                paint(code, &format!("{symbol:>3}")),
                action.node.to_string(),
                name
            );
            if let Some(replacement) = &action.replaces {
                let _ = writeln!(out, "        {} forces replacement", replacement.forced_by);
            }
            for diff in &action.diffs {
                let _ = writeln!(
                    out,
                    "        {}: {} → {}",
                    diff.field, diff.before, diff.after
                );
            }
            if let Some(note) = &action.note {
                let _ = writeln!(out, "        ({note})");
            }
        }
        for blocker in &self.blocked {
            let _ = writeln!(
                out,
                "  {} {:<28} {}",
                paint("1;31", "  !"),
                blocker.node.to_string(),
                blocker.reason
            );
        }
        left_alone(&mut out);
        let (create, update, replace, delete) = self.counts();
        let _ = writeln!(
            out,
            "\nPlan: {create} to create, {update} to update, {replace} to replace, {delete} to destroy."
        );
        if !self.blocked.is_empty() {
            let _ = writeln!(
                out,
                "{} change(s) need a person (marked !); apply refuses until they are resolved.",
                self.blocked.len()
            );
        }
        out
    }
}
