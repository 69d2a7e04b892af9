//! The REST API, called in this process: a request goes through the API's router (its layers,
//! extractors, handlers and refusals) as if it came over HTTP, acting for the signed-in
//! organization. The envelope is opened here: a result, or the API's status and message.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use domain::Id;
use serde_json::Value;
use tower::ServiceExt;

/// Answers are envelopes of at most a page of 100 objects; more is a fault.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// The API said no: its status and its message, shown as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn unavailable() -> Refusal {
        Refusal { status: StatusCode::SERVICE_UNAVAILABLE, message: "The API could not be reached; try again".into() }
    }
}

/// Who a request is for: a signed-in organization, or the holder of an API key (signing in).
pub enum Caller<'a> {
    Org(Id),
    Key(&'a str),
}

impl Api {
    pub fn new(router: Router) -> Api {
        Api { router }
    }

    pub async fn get(&self, org: Id, path: &str) -> Result<Value, Refusal> {
        self.call(Caller::Org(org), Method::GET, path, None).await
    }

    pub async fn post(&self, org: Id, path: &str, body: Value) -> Result<Value, Refusal> {
        self.call(Caller::Org(org), Method::POST, path, Some(body)).await
    }

    /// A list: the array in the result (empty if the API answered something else).
    pub async fn list(&self, org: Id, path: &str) -> Result<Vec<Value>, Refusal> {
        Ok(self.get(org, path).await?.as_array().cloned().unwrap_or_default())
    }

    pub async fn call(&self, caller: Caller<'_>, method: Method, path: &str, body: Option<Value>) -> Result<Value, Refusal> {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Caller::Key(key) = caller {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let mut request = request.body(body).map_err(|_| Refusal { status: StatusCode::BAD_REQUEST, message: "Invalid request".into() })?;
        if let Caller::Org(org) = caller {
            request.extensions_mut().insert(api::ActingFor(org));
        }
        let response = self.router.clone().oneshot(request).await.map_err(|_| Refusal::unavailable())?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES).await.map_err(|_| Refusal::unavailable())?;
        let envelope: Value = serde_json::from_slice(&bytes).map_err(|_| Refusal::unavailable())?;
        if envelope["ok"] == true {
            Ok(envelope["result"].clone())
        } else {
            let message = envelope["message"].as_str().unwrap_or("The API refused the request").to_string();
            Err(Refusal { status, message })
        }
    }
}
