//! Checks a payload against its action's official schema and answers with the error code a
//! CALLERROR for it would carry (OCPP-J 1.6 section 4.2.3, 2.0.1 part 4 section 4.3):
//! - an unknown action: [`Codes::NOT_IMPLEMENTED`] ("requested Action is not known by receiver");
//! - a payload that is not a JSON object: [`Codes::FORMAT`], checked before the schema so it
//!   never reads as a type error of a field;
//! - `type`: [`Codes::TYPE_CONSTRAINT`], a field with the wrong JSON type (the specification's
//!   example: `"somestring": 12`);
//! - `required`, `minItems`, `maxItems`: [`Codes::OCCURRENCE`], a field or list entry occurs too
//!   few or too many times;
//! - `enum`, `const`, `maxLength`, `minLength`, `minimum`, `maximum`, `exclusiveMinimum`,
//!   `exclusiveMaximum`, `multipleOf`, `format`, `pattern`: [`Codes::PROPERTY_CONSTRAINT`], the
//!   type is right but the value is not allowed. `maxLength` belongs here even though OCPP names
//!   its bounded strings as types (`CiString20Type`): the JSON type is correct and only the
//!   value is out of bounds, and a type constraint violation is what a client reads as "send a
//!   different JSON type", which would not fix it;
//! - `additionalProperties` and anything else: [`Codes::FORMAT`], the payload does not have
//!   the structure of the action's PDU.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::Codes;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    Request,
    Response,
}

/// Why a payload was refused, ready to become a CALLERROR.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct Violation<C: Codes> {
    pub code: C,
    /// The JSON pointer of the offending value and the problem.
    pub description: String,
}

/// One action's official schema texts, embedded by its version's crate.
pub struct Schemas {
    pub action: &'static str,
    pub request: &'static str,
    pub response: &'static str,
}

/// A version's schemas by action, each compiled the first time a payload of its kind arrives.
pub struct SchemaSet {
    actions: HashMap<&'static str, (Schema, Schema)>,
}

impl SchemaSet {
    pub fn new(schemas: &'static [Schemas]) -> SchemaSet {
        SchemaSet { actions: schemas.iter().map(|s| (s.action, (Schema::new(s.request), Schema::new(s.response)))).collect() }
    }

    /// Whether `action` has a schema.
    pub fn is_known(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    /// Checks `payload` against the schema of `action` in `direction`. The first violation
    /// found is reported.
    pub fn validate<C: Codes>(&self, action: &str, direction: Direction, payload: &Value) -> Result<(), Violation<C>> {
        let Some((request, response)) = self.actions.get(action) else {
            return Err(Violation { code: C::NOT_IMPLEMENTED, description: format!("unknown action {action:?}") });
        };
        if !payload.is_object() {
            return Err(Violation { code: C::FORMAT, description: format!("the payload must be a JSON object, got {}", json_type(payload)) });
        }
        let schema = match direction {
            Direction::Request => request,
            Direction::Response => response,
        };
        schema.validator().validate(payload).map_err(|error| violation(&error))
    }

    /// The official schema of `action`'s payload in `direction`, as JSON.
    pub fn schema(&self, action: &str, direction: Direction) -> Option<Value> {
        let (request, response) = self.actions.get(action)?;
        let text = match direction {
            Direction::Request => request.text,
            Direction::Response => response.text,
        };
        serde_json::from_str(text).ok()
    }
}

/// One schema, compiled the first time a payload of its kind arrives, then reused.
struct Schema {
    text: &'static str,
    compiled: OnceLock<Validator>,
}

impl Schema {
    fn new(text: &'static str) -> Schema {
        Schema { text, compiled: OnceLock::new() }
    }

    fn validator(&self) -> &Validator {
        // The schemas are embedded and each version's crate compiles them all in a test, so a
        // failure here is a broken build, not bad input.
        self.compiled.get_or_init(|| compile(self.text).unwrap_or_else(|error| panic!("embedded OCPP schema: {error}")))
    }
}

/// `schema` made to stand inside another document (an OpenAPI operation): every
/// `{"$ref": "#/definitions/Name"}` replaced by that definition, and the root's `$schema`,
/// `$id`, `definitions` and `comment` left out. OCPP's definitions do not refer to themselves.
pub fn standalone(mut schema: Value) -> Value {
    let definitions = schema.get("definitions").cloned().unwrap_or(Value::Null);
    if let Some(root) = schema.as_object_mut() {
        for key in ["$schema", "$id", "definitions", "comment"] {
            root.remove(key);
        }
    }
    inline(schema, &definitions)
}

fn inline(value: Value, definitions: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            let target = fields.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/definitions/")).and_then(|name| definitions.get(name));
            match target {
                Some(definition) => inline(definition.clone(), definitions),
                None => Value::Object(fields.into_iter().map(|(k, v)| (k, inline(v, definitions))).collect()),
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| inline(v, definitions)).collect()),
        other => other,
    }
}

/// Compiles a schema text as `SchemaSet` does.
pub fn compile(text: &str) -> Result<Validator, String> {
    let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    // The draft comes from each schema's `$schema` (04 for OCPP 1.6, 06 for its security
    // extension and for 2.0.1). Formats are asserted: `date-time` is how OCPP types its
    // timestamps.
    jsonschema::options().should_validate_formats(true).with_format("date-time", is_date_time).build(&schema).map_err(|e| e.to_string())
}

/// RFC 3339's `date-time`, with its four-digit year: the built-in check also takes years like
/// `-052`, which no charger means and which no longer read back once written out again.
fn is_date_time(text: &str) -> bool {
    text.get(..4).is_some_and(|year| year.bytes().all(|b| b.is_ascii_digit())) && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A CALLERROR echoes its description; a huge offending value should not come back whole.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

fn violation<C: Codes>(error: &ValidationError<'_>) -> Violation<C> {
    let path = error.instance_path().to_string();
    let at = if path.is_empty() { "(root)" } else { path.as_str() };
    let mut description = format!("{at}: {error}");
    if let Some((cut, _)) = description.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        description.truncate(cut);
        description.push('…');
    }
    Violation { code: code_for(error.kind()), description }
}

fn code_for<C: Codes>(kind: &ValidationErrorKind) -> C {
    use ValidationErrorKind as K;
    match kind {
        K::Type { .. } => C::TYPE_CONSTRAINT,
        K::Required { .. } | K::MinItems { .. } | K::MaxItems { .. } => C::OCCURRENCE,
        K::Enum { .. }
        | K::Constant { .. }
        | K::MaxLength { .. }
        | K::MinLength { .. }
        | K::Minimum { .. }
        | K::Maximum { .. }
        | K::ExclusiveMinimum { .. }
        | K::ExclusiveMaximum { .. }
        | K::MultipleOf { .. }
        | K::Format { .. }
        | K::Pattern { .. } => C::PROPERTY_CONSTRAINT,
        _ => C::FORMAT,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standalone_schema_has_its_definitions_inlined() {
        let schema = serde_json::json!({
            "$schema": "http://json-schema.org/draft-06/schema#",
            "definitions": {"A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/B"}}}, "B": {"type": "integer"}},
            "type": "object",
            "properties": {"a": {"$ref": "#/definitions/A"}, "list": {"type": "array", "items": {"$ref": "#/definitions/B"}}}
        });
        let expected = serde_json::json!({
            "type": "object",
            "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}}, "list": {"type": "array", "items": {"type": "integer"}}}
        });
        assert_eq!(standalone(schema), expected);
    }

    #[test]
    fn a_date_time_has_rfc_3339s_four_digit_year() {
        assert!(is_date_time("2026-12-06T09:00:00.123+01:00"));
        assert!(is_date_time("0052-11-25T10:30:00Z"));
        for wrong in ["-052-11-25T10:30:00Z", "-0052-11-25T10:30:00Z", "2026-13-06T09:00:00Z", "20261-12-06T09:00:00Z"] {
            assert!(!is_date_time(wrong), "{wrong}");
        }
    }
}
