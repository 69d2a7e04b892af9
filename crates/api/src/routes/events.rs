//! Events: everything the outbox holds, also events no webhook wanted.

use axum::extract::State;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::extract::{IdPath, ListQuery};

pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.text_filter("type", "kind").text_filter("object", "object").id_filter("chargestation", "chargestation_id")?;
    ok(s.store.events(org, q.page, &q.filters).await?)
}

pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.event(org, id).await?)
}
