//! Problems found in a catalog file: what is wrong, where (file, line, column) and which field.

use std::fmt;
use std::path::PathBuf;

/// One step of a field path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A key of a mapping.
    Key(String),
    /// A position in a sequence (0-based).
    Index(usize),
}

/// The path of a field inside the catalog, e.g. `databases.population.tables.citizens.columns[3].tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The path of the whole document.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// Builds a path from keys (indices are not needed by callers of this helper).
    pub fn of(keys: &[&str]) -> Self {
        Self(keys.iter().map(|k| Segment::Key((*k).to_owned())).collect())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let plain =
                        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if plain {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The class of a problem, so that tools and tests can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The file is not well-formed YAML or JSON.
    Syntax,
    /// A key that the format does not have (often a misspelling).
    UnknownField,
    /// A required field is absent.
    MissingField,
    /// A value of the wrong type (text where a list is expected…).
    WrongType,
    /// A value of the right type that is not allowed (bad code, bad name, bad date range…).
    InvalidValue,
    /// A name that refers to something the catalog does not declare.
    UnknownReference,
    /// The same name declared twice.
    Duplicate,
    /// A row filter that is not a boolean SQL expression over the table's columns and the
    /// caller's attributes.
    InvalidRowFilter,
    /// A mask that cannot apply to the column's type.
    MaskMismatch,
    /// A password, token or key written in clear.
    ClearSecret,
}

impl ProblemKind {
    /// A short, stable label (used in messages and by tests).
    pub fn label(self) -> &'static str {
        match self {
            Self::Syntax => "syntax error",
            Self::UnknownField => "unknown field",
            Self::MissingField => "missing field",
            Self::WrongType => "wrong type",
            Self::InvalidValue => "invalid value",
            Self::UnknownReference => "unknown reference",
            Self::Duplicate => "duplicate",
            Self::InvalidRowFilter => "invalid row filter",
            Self::MaskMismatch => "mask does not fit",
            Self::ClearSecret => "secret in clear",
        }
    }
}

/// A problem before it is placed in the file: the loader turns the path into a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub path: FieldPath,
    /// Point at the key of the last path segment rather than its value.
    pub at_key: bool,
    pub kind: ProblemKind,
    pub message: String,
    /// A known line and column (from the parser), used instead of the path's position.
    pub line_column: Option<(usize, usize)>,
}

impl Problem {
    pub fn new(kind: ProblemKind, path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            path,
            at_key: false,
            kind,
            message: message.into(),
            line_column: None,
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line_column = Some((line, column));
        self
    }

    pub fn at_key(mut self) -> Self {
        self.at_key = true;
        self
    }
}

/// A problem placed in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The catalog file.
    pub file: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The field the problem is about.
    pub path: FieldPath,
    /// The class of problem.
    pub kind: ProblemKind,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.kind.label(),
            self.path,
            self.message
        )
    }
}

/// Every problem found in one catalog file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(
            f,
            "{count} problem{} in the catalog:",
            if count == 1 { "" } else { "s" }
        )?;
        for diagnostic in &self.0 {
            writeln!(f, "  {diagnostic}")?;
        }
        Ok(())
    }
}
