//! What keeps pages live: a Server-Sent Events stream of the organization's events, as the
//! outbox recorded them, read through `GET /v1.1/events` once a second. Each message names the
//! types of the events since the last one (`change`); the page's script refreshes the regions
//! that follow those types.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::Value;

use crate::Dashboard;
use crate::pages::text;
use crate::sign_in::Operator;

const POLL: Duration = Duration::from_secs(1);

pub async fn stream(State(state): State<Dashboard>, operator: Operator) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let org = operator.org;
    let newest = |events: &[Value]| events.first().map(|e| text(e, "_id").to_string());
    let start = newest(&state.api.list(org, "/v1.1/events?limit=1").await.unwrap_or_default());
    let changes = futures_util::stream::unfold((state.api, start), move |(api, mut last)| async move {
        loop {
            tokio::time::sleep(POLL).await;
            // Ids are time-ordered: what is newer than the last one seen is new.
            let Ok(events) = api.list(org, "/v1.1/events?limit=100").await else { continue };
            let fresh: Vec<&str> = events.iter().take_while(|e| Some(text(e, "_id")) > last.as_deref()).map(|e| text(e, "type")).collect();
            if fresh.is_empty() {
                continue;
            }
            let message = Event::default().event("change").json_data(&fresh).unwrap_or_default();
            last = newest(&events);
            return Some((Ok(message), (api, last)));
        }
    });
    Sse::new(changes).keep_alive(KeepAlive::default())
}
