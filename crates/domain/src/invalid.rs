//! The one error raw input can produce: which field, and what is wrong with it.

use std::fmt;

/// Input that cannot become a domain value. `field` is the JSON path of the offending value
/// (`price_components[1].tax`), so an API client can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid { field: field.into(), message: message.into() }
    }

    /// The same problem seen from an enclosing object: `tax` inside `price_components[1]`.
    pub fn within(self, parent: &str) -> Self {
        let field = if self.field.starts_with('[') { format!("{parent}{}", self.field) } else { format!("{parent}.{}", self.field) };
        Invalid { field, message: self.message }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for Invalid {}

/// A string field that must hold something and stay reasonably small.
pub fn text(field: &str, value: &str, max_len: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_len {
        return Err(Invalid::new(field, format!("must be at most {max_len} characters")));
    }
    Ok(trimmed.to_string())
}

/// An optional string field: absent or null stays absent, present must pass [`text`].
pub fn optional_text(field: &str, value: Option<&str>, max_len: usize) -> Result<Option<String>, Invalid> {
    value.map(|v| text(field, v, max_len)).transpose()
}
