//! The plan as a person reads it.

use std::collections::BTreeSet;

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
    /// `~` update, `-/+` replace, `-` delete, `…` wait, `!` blocked, `=`
    /// left alone; each line marked so a terminal can colour it (plain
    /// text is the plan's `Display`).
    pub fn lines(&self) -> Vec<PlanLine> {
        let mut out = Vec::new();
        let mut line = |mark: Mark, text: String| out.push(PlanLine { mark, text });
        if !self.has_changes() && self.blocked.is_empty() {
            line(
                Mark::Text,
                format!(
                    "No changes. Hub `{}` ({}) matches its spec: {} resources up to date.",
                    self.hub,
                    self.provider,
                    self.unchanged.len()
                ),
            );
            self.left_alone_lines(&mut line);
            return out;
        }
        let verb = if self.destroy { "destroy" } else { "converge" };
        line(
            Mark::Text,
            format!(
                "hubforge will {verb} hub `{}` on {} with these actions:\n",
                self.hub, self.provider
            ),
        );
        for action in &self.actions {
            let mark = match (action.change, &action.replaces) {
                (Change::Create, Some(_)) => Mark::Replace,
                (Change::Create, None) => Mark::Create,
                (Change::Update, _) => Mark::Update,
                (Change::Delete, _) => Mark::Delete,
                (Change::Wait, _) => Mark::Wait,
            };
            let name = match &action.replaces {
                Some(r) => format!("{} → {}", r.old, action.physical),
                None => action.physical.clone(),
            };
            line(mark, format!("{:<28} {}", action.node.to_string(), name));
            if let Some(replacement) = &action.replaces {
                line(
                    Mark::Detail,
                    format!("{} forces replacement", replacement.forced_by),
                );
            }
            for diff in &action.diffs {
                line(
                    Mark::Detail,
                    format!("{}: {} → {}", diff.field, diff.before, diff.after),
                );
            }
            if let Some(note) = &action.note {
                line(Mark::Detail, format!("({note})"));
            }
        }
        for blocker in &self.blocked {
            line(
                Mark::Blocked,
                format!("{:<28} {}", blocker.node.to_string(), blocker.reason),
            );
        }
        self.left_alone_lines(&mut line);
        let (create, update, replace, delete) = self.counts();
        line(
            Mark::Text,
            format!(
                "\nPlan: {create} to create, {update} to update, {replace} to replace, {delete} to destroy."
            ),
        );
        if !self.blocked.is_empty() {
            line(
                Mark::Text,
                format!(
                    "{} change(s) need a person (marked !); apply refuses until they are resolved.",
                    self.blocked.len()
                ),
            );
        }
        out
    }

    fn left_alone_lines(&self, line: &mut impl FnMut(Mark, String)) {
        if self.left_alone.is_empty() {
            return;
        }
        line(
            Mark::Text,
            format!("\nLeft alone, because they are not hub `{}`'s:", self.hub),
        );
        for foreign in &self.left_alone {
            line(Mark::LeftAlone, foreign.to_string());
        }
    }
}

/// What a line of a rendered plan says, for a terminal to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `+` a resource to create.
    Create,
    /// `~` a change in place.
    Update,
    /// `-/+` a replacement.
    Replace,
    /// `-` a resource to delete.
    Delete,
    /// `…` an operation already running.
    Wait,
    /// `!` a change that needs a person.
    Blocked,
    /// `=` a resource that is not the hub's, left alone.
    LeftAlone,
    /// A detail under the line above (a diff, a note).
    Detail,
    /// A heading or a summary.
    Text,
}

impl Mark {
    /// The symbol a line starts with.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Create => "+",
            Mark::Update => "~",
            Mark::Replace => "-/+",
            Mark::Delete => "-",
            Mark::Wait => "…",
            Mark::Blocked => "!",
            Mark::LeftAlone => "=",
            Mark::Detail | Mark::Text => "",
        }
    }
}

/// One line of a rendered plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLine {
    /// What it says.
    pub mark: Mark,
    /// The text after the symbol.
    pub text: String,
}

impl std::fmt::Display for PlanLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.mark {
            Mark::Text => f.write_str(&self.text),
            Mark::Detail => write!(f, "        {}", self.text),
            mark => write!(f, "  {:>3} {}", mark.symbol(), self.text),
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
