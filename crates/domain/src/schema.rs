//! JSON Schema for request fields whose rules the derives cannot state, so the OpenAPI
//! document says exactly what the `parse` functions accept and a client built from it is never
//! refused.

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};

/// A string field read by [`crate::invalid::text`]: trimmed, then 1 to `max` characters, so it
/// must hold something besides white space.
pub fn text(max: usize) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(max)).pattern(Some(r"\S"))
}

/// A string that is one of `values`.
pub fn one_of_strings<S: Into<String>>(values: impl IntoIterator<Item = S>) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.into_iter().map(Into::into)))
}

/// `schema`, or `null` (an absent or cleared field).
pub fn or_null(schema: impl Into<RefOr<Schema>>) -> RefOr<Schema> {
    match schema.into() {
        RefOr::T(Schema::Object(mut object)) if object.enum_values.is_none() => {
            if let SchemaType::Type(t) = object.schema_type {
                object.schema_type = SchemaType::Array(vec![t, Type::Null]);
            }
            RefOr::T(Schema::Object(object))
        }
        other => OneOfBuilder::new().item(other).item(ObjectBuilder::new().schema_type(Type::Null)).into(),
    }
}

/// Adds JSON Schema keywords utoipa has no builder for (`not`, `if`, `anyOf` beside
/// `properties`, `maxContains`).
pub fn with_keywords(object: ObjectBuilder, keywords: impl IntoIterator<Item = (&'static str, Value)>) -> ObjectBuilder {
    object.extensions(Some(Extensions::from_iter(keywords)))
}

/// A schema made stricter for one use: `base` (a reference to a component), and the
/// `required` fields present and not null (a create needs what a patch may leave out), and
/// `keywords`.
pub fn refine(base: RefOr<Schema>, required: &[&str], keywords: impl IntoIterator<Item = (&'static str, Value)>) -> RefOr<Schema> {
    let mut stricter = ObjectBuilder::new();
    for &name in required {
        stricter =
            stricter.required(name).property(name, with_keywords(ObjectBuilder::new().schema_type(SchemaType::AnyValue), [("not", json!({ "type": "null" }))]));
    }
    AllOfBuilder::new().item(base).item(with_keywords(stricter, keywords)).into()
}

/// Declares a schema-only type: the component `$base` refined by [`refine`] for one request.
/// `$base` and the components it refers to are registered with it, and so are `$others` that
/// `$base` refers to by a hand-written schema.
macro_rules! refined {
    ($(#[doc = $doc:literal])+ $name:ident = $base:ty, required $required:expr, keywords $keywords:expr $(, also $($other:ty),+)?) => {
        $(#[doc = $doc])+
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                let base = utoipa::openapi::Ref::from_schema_name(<$base as utoipa::ToSchema>::name());
                $crate::schema::refine(base.into(), $required, $keywords)
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
                schemas.push((<$base as utoipa::ToSchema>::name().into(), <$base as utoipa::PartialSchema>::schema()));
                <$base as utoipa::ToSchema>::schemas(schemas);
                $($(
                    schemas.push((<$other as utoipa::ToSchema>::name().into(), <$other as utoipa::PartialSchema>::schema()));
                    <$other as utoipa::ToSchema>::schemas(schemas);
                )+)?
            }
        }
    };
}

pub(crate) use refined;
