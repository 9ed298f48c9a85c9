//! What is wrong with a spec: a field path and a sentence that names the
//! fix. Parsing and validation both report them, so they live apart from
//! either (`spec` and `validate` depend on this module, not on each other).

use std::fmt;

/// One thing wrong with a spec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Field path, such as `node_pools[2].max`; empty for the whole file.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A problem with the file as a whole.
    pub fn root(message: impl Into<String>) -> Problem {
        Problem::new("", message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}
