//! The OpenAPI 3.1 document, generated from the code. `routes::v1` registers each handler, with
//! its `#[utoipa::path]`, in the router and in this document at once, so the two cannot drift
//! apart; the schemas are derived from the domain types the handlers read and answer.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema};

use crate::envelope::{Envelope, Null};

#[derive(OpenApi)]
#[openapi(
    info(title = "Joule", description = "EV charging backend. Every `/v1.1` answer is the envelope `{ok, message, result}`. \
        Every request body is a JSON object. Decimal numbers (prices, energy, power) are exact: at most 28 digits after the point."),
    security(("api_key" = [])),
    components(schemas(Null))
)]
pub struct ApiDoc;

/// The document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        // Shared parts go in once every route is in: `modifiers(...)` would run before.
        let mut openapi = crate::routes::v1().into_openapi();
        SharedComponents.modify(&mut openapi);
        let mut document = serde_json::to_value(openapi).expect("the OpenAPI document serializes");
        crate::routes::document_each_command(&mut document);
        document.to_string()
    });
    &DOCUMENT
}

/// The schema of every error answer.
const FAILURE: &str = "Failure";

/// What handlers refer to but do not declare: the bearer schemes and the error envelope.
struct SharedComponents;

impl Modify for SharedComponents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bearer = |description: &str| SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description)).build());
        let components = openapi.components.get_or_insert_default();
        components.add_security_scheme("api_key", bearer("An organization's API key: `Authorization: Bearer <key>`."));
        components.add_security_scheme(
            "admin_token",
            bearer("The platform admin token (`JOULE_ADMIN_TOKEN`), needed by `/v1.1/organizations*` instead of an API key."),
        );
        components.schemas.insert(FAILURE.into(), Envelope::<Null>::schema());
        // Errors described in place (`(status = 405, description = ...)`) carry the same envelope.
        let operations = openapi.paths.paths.values_mut().flat_map(|item| {
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.options, &mut item.head, &mut item.patch, &mut item.trace]
        });
        for operation in operations.flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && status.as_str() >= "400"
                    && response.content.is_empty()
                {
                    response.content.insert("application/json".into(), ContentBuilder::new().schema(Some(Ref::from_schema_name(FAILURE))).build().into());
                }
            }
        }
        for operation in openapi.paths.paths.values_mut().filter_map(|item| item.post.as_mut()) {
            operation.parameters.get_or_insert_default().push(idempotency_key().into());
            for (status, response) in Conflict::responses() {
                operation.responses.responses.entry(status).or_insert(response);
            }
        }
    }
}

/// The `Idempotency-Key` header every POST takes (see `crate::idempotency`).
fn idempotency_key() -> Parameter {
    let key = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255)).pattern(Some("^[!-~]+$"));
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the same key with the same request within 24 hours answers the first response again \
             (with the header `Idempotent-Replayed: true`, and any secret the first answer showed as null) and changes nothing; \
             with another request it is a 409, as is a retry while the first request still runs.",
        ))
        .schema(Some(key))
        .build()
}

/// Declares one documentation type per error status a handler can answer, each a response
/// whose body is the error envelope; handlers list the ones they can produce.
macro_rules! failures {
    ($($(#[doc = $doc:literal])+ $name:ident = $status:literal;)+) => {$(
        $(#[doc = $doc])+
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let body = ContentBuilder::new().schema(Some(Ref::from_schema_name(FAILURE))).build();
                let response = ResponseBuilder::new().description(concat!($($doc),+).trim()).content("application/json", body).build();
                BTreeMap::from([($status.to_string(), response.into())])
            }
        }
    )+};
}

failures! {
    /// The request is malformed: a body, parameter or field is invalid, and `message` names it.
    BadRequest = 400;
    /// The API key (or, on `/v1.1/organizations*`, the admin token) is missing or wrong.
    Unauthorized = 401;
    /// The resource, or one the request refers to, does not exist in this organization.
    NotFound = 404;
    /// A business rule refused the request (as eDRV, with 405): no wallets outside the US, too low a balance.
    Refused = 405;
    /// The request conflicts with what exists, or its `Idempotency-Key` was used for another request.
    Conflict = 409;
    /// The request body is larger than 1 MiB.
    TooLarge = 413;
    /// The database is unavailable; try again.
    Unavailable = 503;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::Value;
    use store::testing::TestDatabase;
    use store::{Backend, Store, SystemClock};
    use tower::ServiceExt;

    use crate::{ApiConfig, router};

    /// `routes::v1` adds each route to the router and to the document in the same `routes!`
    /// call, so every route is documented. This checks the documentation of each one, and that
    /// each documented operation reaches its handler (which refuses a request without a key,
    /// or, for the few that take none, without what they take instead) rather than the 404 and
    /// 405 fallbacks.
    #[tokio::test]
    async fn every_route_is_documented_and_routed() {
        let db = TestDatabase::fresh(Backend::Sqlite).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
        let app = router(
            store.clone(),
            ocpp_server::OcppServer::new(store, ocpp_server::OcppConfig::default()),
            ApiConfig {
                admin_token: Some("admin-token".into()),
                public_ws_url: "ws://127.0.0.1".into(),
                listen_addresses: vec![],
                stripe: Default::default(),
                body_timeout: std::time::Duration::from_secs(30),
                webhook_allow_private: false,
            },
        );
        let doc: Value = serde_json::from_str(super::document()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let name = format!("{method} {path}");
                assert!(operation["summary"].is_string(), "{name} has a summary");
                // `security: [{}]`: no key (Stripe's webhook, checked by its signature instead).
                let keyless = operation["security"] == serde_json::json!([{}]);
                for status in ["200", if keyless { "400" } else { "401" }, "503"] {
                    assert!(operation["responses"][status].is_object(), "{name} documents {status}");
                }
                if !operation["requestBody"].is_null() {
                    assert_eq!(operation["requestBody"]["required"], true, "{name}: a request without its body is refused");
                }
                if path.contains("{id}") {
                    assert!(operation["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "id" && p["in"] == "path"), "{name} documents {{id}}");
                }
                if method == "post" {
                    let header = operation["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key");
                    assert_eq!(header.map(|h| &h["in"]), Some(&serde_json::json!("header")), "{name} documents its Idempotency-Key");
                    assert!(operation["responses"]["409"].is_object(), "{name}: a key used for another request is a 409");
                }
                let uri = path.replace("{id}", "63dcf32e7d291b1b005284ac");
                let request = Request::builder().method(method.to_uppercase().as_str()).uri(uri).body(Body::empty()).unwrap();
                let response = app.clone().oneshot(request).await.unwrap();
                if keyless {
                    let (status, body) = (response.status(), axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap());
                    assert!(!String::from_utf8_lossy(&body).contains("Route not found") && status != StatusCode::METHOD_NOT_ALLOWED, "{name} is routed");
                } else {
                    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name} is routed");
                }
                operations += 1;
            }
        }
        assert!(operations > 0);
        db.remove().await;
    }
}
