//! Webhooks: endpoints and their secrets, the fan-out of outbox events into deliveries, and the
//! claims the dispatcher takes on them.
//!
//! A delivery is one event for one endpoint. The dispatcher *claims* due deliveries (a lease
//! in the row, so a node killed mid-flight only delays them until the lease ends) and
//! *finishes* each attempt in one transaction that writes the attempt record, the delivery's
//! next state and, when the rules say so, disables the endpoint with its event.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use domain::event::{Event, NewEvent};
use domain::page::Page;
use domain::webhook::{Secret, WebhookEndpoint};
use domain::webhook_delivery::{Delivery, DeliveryAttempt, ROTATION_GRACE_MS, Slots, Verdict};
use domain::{Id, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::documents::{self, Column, Document, Filter, document};
use crate::events::event_from_row;
use crate::{Store, StoreError};

const OBJECT: &str = "webhook_endpoint";

document!(WebhookEndpoint, "webhook_endpoints", "webhook", ["enabled"], |w| vec![Column::Int(Some(i64::from(w.enabled)))]);

impl Document for DeliveryAttempt {
    const TABLE: &'static str = "webhook_attempts";
    const OBJECT: &'static str = "delivery attempt";
    const COLUMNS: &'static [&'static str] = &["endpoint_id", "event_id"];

    fn id(&self) -> Id {
        self.id
    }
    fn created_at(&self) -> Timestamp {
        self.created_at
    }
    fn updated_at(&self) -> Timestamp {
        self.created_at
    }
    fn column_values(&self) -> Vec<Column> {
        vec![Column::Text(Some(self.webhook.to_string())), Column::Text(Some(self.event.to_string()))]
    }
}

/// A delivery a dispatcher holds until its lease ends: everything needed to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: Id,
    pub organization: Id,
    pub endpoint: Id,
    pub url: String,
    pub secret: Secret,
    /// The secret before the last rotation, and until when it still signs.
    pub previous_secret: Option<(Secret, Timestamp)>,
    pub endpoint_last_success: Option<Timestamp>,
    pub event: Event,
    /// The number of this attempt, from 1.
    pub attempt: u32,
    pub first_attempt_at: Option<Timestamp>,
}

/// One attempt's outcome, as the dispatcher hands it back.
#[derive(Debug, Clone)]
pub struct FinishedAttempt {
    pub claimed: ClaimedDelivery,
    pub attempt: DeliveryAttempt,
    pub verdict: Verdict,
}

/// What a batch of attempts did to one endpoint.
struct EndpointOutcome {
    organization: Id,
    last_success: Option<Timestamp>,
    /// Why and when to disable it.
    disable: Option<(String, Timestamp)>,
}

fn opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
}

fn id_in(row: &AnyRow, column: &str) -> Result<Id, StoreError> {
    let raw: String = row.try_get(column)?;
    raw.parse().map_err(StoreError::corrupt)
}

fn secret_in(raw: &str) -> Result<Secret, StoreError> {
    Secret::parse(raw).ok_or_else(|| StoreError::corrupt("a webhook secret"))
}

/// `$first, $first+1, ...` for an `IN (...)` list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Runs `{statement} IN (ids...)`: `statement` is written in code, the ids are bound.
pub(crate) async fn execute_for_each(conn: &mut AnyConnection, statement: &'static str, ids: &[String]) -> Result<(), StoreError> {
    let mut q = sqlx::query(AssertSqlSafe(format!("{statement} IN ({})", placeholders(1, ids.len()))));
    for id in ids {
        q = q.bind(id.clone());
    }
    q.execute(conn).await?;
    Ok(())
}

fn not_found_as_webhook(e: StoreError) -> StoreError {
    match e {
        StoreError::NotFound(_) => StoreError::NotFound("webhook"),
        other => other,
    }
}

impl Store {
    // The endpoints API

    pub async fn create_webhook(&self, org: Id, endpoint: &WebhookEndpoint, secret: &Secret) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO webhook_endpoints (id, organization_id, data, enabled, secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(endpoint.id.to_string())
            .bind(org.to_string())
            .bind(serde_json::to_string(endpoint).map_err(StoreError::corrupt)?)
            .bind(i64::from(endpoint.enabled))
            .bind(secret.expose().to_string())
            .bind(endpoint.created_at.millis())
            .bind(endpoint.updated_at.millis())
            .execute(&mut *tx)
            .await?;
        self.record(&mut tx, org, vec![NewEvent::of(OBJECT, "created", endpoint)]).await?;
        self.answer_with_secret(&mut tx, endpoint, Some("secret")).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn webhook(&self, org: Id, id: Id) -> Result<WebhookEndpoint, StoreError> {
        documents::fetch(&mut *self.pool.acquire().await?, org, id).await.map_err(not_found_as_webhook)
    }

    pub async fn webhooks(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<WebhookEndpoint>, StoreError> {
        documents::list(&mut *self.pool.acquire().await?, org, page, filters).await
    }

    /// Changes an endpoint with `change`, applied to the stored endpoint while it is locked (so
    /// that a change made meanwhile, the dispatcher disabling it say, is never overwritten), with
    /// `webhook_endpoint.updated`, or `.disabled` when this change disabled it. A refusal from
    /// `change` changes nothing.
    pub async fn update_webhook<E: From<StoreError>>(
        &self,
        org: Id,
        id: Id,
        change: impl FnOnce(WebhookEndpoint) -> Result<WebhookEndpoint, E>,
    ) -> Result<WebhookEndpoint, E> {
        let mut tx = self.write().await?;
        let before: WebhookEndpoint = documents::fetch_to_change(&mut tx, self.backend, org, id).await.map_err(not_found_as_webhook)?;
        let was_enabled = before.enabled;
        let endpoint = change(before)?;
        documents::replace(&mut tx, org, &endpoint).await?;
        let mut events = vec![NewEvent::of(OBJECT, "updated", &endpoint)];
        if was_enabled && !endpoint.enabled {
            events.push(NewEvent::of(OBJECT, "disabled", &endpoint));
        }
        self.record(&mut tx, org, events).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Deletes an endpoint with its deliveries and their attempts.
    pub async fn delete_webhook(&self, org: Id, id: Id) -> Result<WebhookEndpoint, StoreError> {
        let mut tx = self.write().await?;
        // Locked first: a delivery the dispatcher adds meanwhile waits for the endpoint's fate,
        // rather than landing between the deliveries' delete and the endpoint's, which its
        // reference would then refuse.
        let endpoint: WebhookEndpoint = documents::fetch_to_change(&mut tx, self.backend, org, id).await.map_err(not_found_as_webhook)?;
        for sql in [
            "DELETE FROM webhook_attempts WHERE endpoint_id = $1 AND organization_id = $2",
            "DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND organization_id = $2",
            "DELETE FROM webhook_endpoints WHERE id = $1 AND organization_id = $2",
        ] {
            sqlx::query(sql).bind(id.to_string()).bind(org.to_string()).execute(&mut *tx).await?;
        }
        self.record(&mut tx, org, vec![NewEvent::of(OBJECT, "deleted", &endpoint)]).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Makes `secret` the endpoint's secret; the one it replaces still signs for
    /// [`ROTATION_GRACE_MS`].
    pub async fn rotate_webhook_secret(&self, org: Id, id: Id, secret: &Secret) -> Result<WebhookEndpoint, StoreError> {
        let mut tx = self.write().await?;
        let mut endpoint: WebhookEndpoint = documents::fetch(&mut tx, org, id).await.map_err(not_found_as_webhook)?;
        let now = self.now();
        endpoint.updated_at = now;
        documents::replace(&mut tx, org, &endpoint).await?;
        sqlx::query("UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, secret = $4 WHERE id = $1 AND organization_id = $2")
            .bind(id.to_string())
            .bind(org.to_string())
            .bind(now.millis() + ROTATION_GRACE_MS)
            .bind(secret.expose().to_string())
            .execute(&mut *tx)
            .await?;
        self.record(&mut tx, org, vec![NewEvent::of(OBJECT, "updated", &endpoint)]).await?;
        self.answer_with_secret(&mut tx, &endpoint, Some("secret")).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// The attempts to deliver to an endpoint, newest first.
    pub async fn webhook_attempts(&self, org: Id, endpoint: Id, page: Page, filters: &[Filter]) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if !documents::exists(&mut conn, "webhook_endpoints", org, endpoint).await? {
            return Err(StoreError::NotFound("webhook"));
        }
        let mut filters = filters.to_vec();
        filters.push(Filter::Eq("endpoint_id", endpoint.to_string()));
        documents::list(&mut conn, org, page, &filters).await
    }

    /// Delivers an event again: to `endpoint`, or to every enabled endpoint whose patterns
    /// match it. Each gets a new delivery, sent with the same `webhook-id`.
    pub async fn redeliver_event(&self, org: Id, event: Id, endpoint: Option<Id>) -> Result<Vec<Delivery>, StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT id, object, kind, data, chargestation_id, created_at FROM events WHERE id = $1 AND organization_id = $2")
            .bind(event.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("event"))?;
        let e = event_from_row(&row)?;
        let chargestation: Option<String> = row.try_get("chargestation_id")?;
        let endpoints = match endpoint {
            Some(id) => vec![documents::fetch::<WebhookEndpoint>(&mut tx, org, id).await.map_err(not_found_as_webhook)?],
            None => {
                enabled_endpoints(&mut tx, org).await?.into_iter().filter(|w| w.events.iter().any(|p| domain::webhook::pattern_matches(p, &e.kind))).collect()
            }
        };
        let mut out = Vec::with_capacity(endpoints.len());
        for w in endpoints {
            out.push(self.insert_delivery(&mut tx, org, w.id, &e, chargestation.as_deref()).await?);
        }
        self.answer(&mut tx, &out).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A delivery of `event` to `endpoint`, in the stream of its chargestation or, for an event
    /// about none, of the object it is about.
    async fn insert_delivery(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        endpoint: Id,
        event: &Event,
        chargestation: Option<&str>,
    ) -> Result<Delivery, StoreError> {
        let stream = chargestation.or_else(|| event.data["_id"].as_str());
        let now = self.now();
        let delivery = Delivery {
            id: self.new_id(),
            webhook: endpoint,
            event: event.id,
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: Some(now),
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, event_id, event_at, chargestation_id, stream, status, attempts, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8)",
        )
        .bind(delivery.id.to_string())
        .bind(org.to_string())
        .bind(endpoint.to_string())
        .bind(event.id.to_string())
        .bind(event.created_at.millis())
        .bind(chargestation.map(str::to_string))
        .bind(stream.map(str::to_string))
        .bind(now.millis())
        .execute(conn)
        .await?;
        Ok(delivery)
    }

    // The dispatcher

    /// Turns up to `limit` events not yet fanned out, oldest first, into a delivery for every
    /// enabled endpoint that wants each. Answers how many events it took.
    pub async fn fan_out_events(&self, limit: u32) -> Result<usize, StoreError> {
        // Most calls find nothing: finding that out takes no write lock.
        if sqlx::query("SELECT id FROM events WHERE fanned_out = 0 LIMIT 1").fetch_optional(&self.pool).await?.is_none() {
            return Ok(0);
        }
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT id, organization_id, object, kind, data, chargestation_id, created_at FROM events WHERE fanned_out = 0 ORDER BY created_at, id LIMIT $1{}",
            self.backend.lock_in_turn()
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut endpoints: HashMap<Id, Vec<WebhookEndpoint>> = HashMap::new();
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = event_from_row(row)?;
            let org = id_in(row, "organization_id")?;
            let chargestation: Option<String> = row.try_get("chargestation_id")?;
            if let Entry::Vacant(slot) = endpoints.entry(org) {
                slot.insert(enabled_endpoints(&mut tx, org).await?);
            }
            for w in endpoints[&org].iter().filter(|w| w.wants(&event.kind, event.created_at)) {
                self.insert_delivery(&mut tx, org, w.id, &event, chargestation.as_deref()).await?;
            }
            ids.push(event.id.to_string());
        }
        execute_for_each(&mut tx, "UPDATE events SET fanned_out = 1 WHERE id", &ids).await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Claims due deliveries as far as `slots` has room for them (`Slots` shares a node's
    /// slots among endpoints and organizations), each held for `lease_ms`. Of one stream's events (a chargestation's, or an
    /// object's) for one endpoint only the earliest pending one (the head of its queue) is ever
    /// due, so deliveries keep their order. The head is a correlated `ORDER BY ... LIMIT 1` subquery, which both databases
    /// answer from `webhook_deliveries_in_order` whatever their statistics say (an anti-join
    /// planned on a freshly filled table scans the whole queue for every row).
    pub async fn claim_webhook_deliveries(&self, lease_ms: i64, slots: &mut Slots) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = self.now();
        let due = sqlx::query(
            "SELECT w.id AS endpoint_id, w.organization_id FROM webhook_endpoints w WHERE w.enabled = 1 AND EXISTS (SELECT 1 FROM webhook_deliveries d \
             WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1))",
        )
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await?;
        let due = due.iter().map(|row| Ok((id_in(row, "endpoint_id")?, id_in(row, "organization_id")?))).collect::<Result<Vec<_>, StoreError>>()?;
        slots.organizations_due(due.iter().map(|(_, org)| org).collect::<HashSet<_>>().len());
        let mut claimed = Vec::new();
        for (endpoint, org) in due {
            let room = slots.room(endpoint, org);
            if room > 0 {
                let got = self.claim_for_endpoint(endpoint, now, lease_ms, room).await?;
                slots.take(endpoint, org, got.len());
                claimed.extend(got);
            }
        }
        Ok(claimed)
    }

    async fn claim_for_endpoint(&self, endpoint: Id, now: Timestamp, lease_ms: i64, limit: usize) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut tx = self.write().await?;
        let Some(w) = sqlx::query("SELECT organization_id, data, secret, previous_secret, previous_secret_until, last_success_at FROM webhook_endpoints WHERE id = $1 AND enabled = 1")
            .bind(endpoint.to_string())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT d.id, d.attempts, d.first_attempt_at, d.event_id FROM webhook_deliveries d \
             WHERE d.endpoint_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2 AND (d.lease_until IS NULL OR d.lease_until <= $2) \
             AND (d.stream IS NULL OR d.id = (SELECT e.id FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id \
                 AND e.stream = d.stream AND e.status = 'pending' ORDER BY e.event_at, e.event_id LIMIT 1)) \
             ORDER BY d.event_at, d.event_id LIMIT $3{}",
            self.backend.skip_locked()
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(endpoint.to_string()).bind(now.millis()).bind(limit as i64).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("UPDATE webhook_deliveries SET lease_until = $1 WHERE id IN ({})", placeholders(2, rows.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now.millis() + lease_ms);
        for row in &rows {
            q = q.bind(row.try_get::<String, _>("id")?);
        }
        q.execute(&mut *tx).await?;

        let data: String = w.try_get("data")?;
        let view: WebhookEndpoint = serde_json::from_str(&data).map_err(StoreError::corrupt)?;
        let secret = secret_in(&w.try_get::<String, _>("secret")?)?;
        let previous = match (w.try_get::<Option<String>, _>("previous_secret")?, opt_time(&w, "previous_secret_until")?) {
            (Some(s), Some(until)) => Some((secret_in(&s)?, until)),
            _ => None,
        };
        let organization = id_in(&w, "organization_id")?;
        let endpoint_last_success = opt_time(&w, "last_success_at")?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let event_row = sqlx::query("SELECT id, object, kind, data, created_at FROM events WHERE id = $1")
                .bind(row.try_get::<String, _>("event_id")?)
                .fetch_one(&mut *tx)
                .await?;
            let attempts: i64 = row.try_get("attempts")?;
            out.push(ClaimedDelivery {
                delivery: id_in(row, "id")?,
                organization,
                endpoint,
                url: view.url.clone(),
                secret: secret.clone(),
                previous_secret: previous.clone(),
                endpoint_last_success,
                event: event_from_row(&event_row)?,
                attempt: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
                first_attempt_at: opt_time(row, "first_attempt_at")?,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records finished attempts, in one transaction, and what the rules made of each: the
    /// delivery succeeded, is due again later, or failed, and the endpoint disabled
    /// (`webhook_endpoint.disabled`) when the verdict says so. An attempt whose delivery is gone
    /// (its endpoint was deleted) or already finished changes nothing.
    pub async fn finish_webhook_attempts(&self, finished: &[FinishedAttempt]) -> Result<(), StoreError> {
        // Rows are locked in one order (deliveries, then endpoints, each by id), so that two
        // nodes recording at once wait for each other instead of deadlocking.
        let mut finished: Vec<&FinishedAttempt> = finished.iter().collect();
        finished.sort_by_key(|f| f.claimed.delivery);
        let mut endpoints: BTreeMap<Id, EndpointOutcome> = BTreeMap::new();
        let mut tx = self.write().await?;
        for f in finished {
            if self.finish_attempt(&mut tx, f).await? {
                let outcome =
                    endpoints.entry(f.claimed.endpoint).or_insert(EndpointOutcome { organization: f.claimed.organization, last_success: None, disable: None });
                match &f.verdict {
                    Verdict::Delivered => outcome.last_success = outcome.last_success.max(Some(f.attempt.created_at)),
                    Verdict::GiveUp { disable: Some(reason) } => outcome.disable = Some((reason.clone(), f.attempt.created_at)),
                    _ => {}
                }
            }
        }
        for (endpoint, outcome) in endpoints {
            if let Some(at) = outcome.last_success {
                sqlx::query("UPDATE webhook_endpoints SET last_success_at = $2 WHERE id = $1")
                    .bind(endpoint.to_string())
                    .bind(at.millis())
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some((reason, at)) = outcome.disable {
                let mut w: WebhookEndpoint = documents::fetch(&mut tx, outcome.organization, endpoint).await?;
                if w.enabled {
                    w.disable(&reason, at);
                    documents::replace(&mut tx, outcome.organization, &w).await?;
                    self.record(&mut tx, outcome.organization, vec![NewEvent::of(OBJECT, "disabled", &w)]).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes one attempt and its delivery's next state; false if the delivery was gone or
    /// already finished.
    async fn finish_attempt(&self, conn: &mut AnyConnection, f: &FinishedAttempt) -> Result<bool, StoreError> {
        let (claimed, attempt) = (&f.claimed, &f.attempt);
        let now = attempt.created_at;
        let (status, next) = match &f.verdict {
            Verdict::Delivered => ("succeeded", None),
            Verdict::RetryAt(at) => ("pending", Some(*at)),
            Verdict::GiveUp { .. } => ("failed", None),
        };
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = COALESCE($4, next_attempt_at), lease_until = NULL, \
             first_attempt_at = $5, updated_at = $6 WHERE id = $1 AND status = 'pending'",
        )
        .bind(claimed.delivery.to_string())
        .bind(status)
        .bind(i64::from(claimed.attempt))
        .bind(next.map(Timestamp::millis))
        .bind(claimed.first_attempt_at.unwrap_or(now).millis())
        .bind(now.millis())
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        documents::insert(&mut *conn, claimed.organization, attempt).await?;
        Ok(true)
    }

    /// The deliveries of an event, oldest first (for tests and operators).
    pub async fn deliveries_of_event(&self, org: Id, event: Id) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query("SELECT id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at FROM webhook_deliveries WHERE event_id = $1 AND organization_id = $2 ORDER BY created_at, id")
            .bind(event.to_string())
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(Delivery {
                    id: id_in(row, "id")?,
                    webhook: id_in(row, "endpoint_id")?,
                    event: id_in(row, "event_id")?,
                    next_attempt_at: if status == "pending" { Some(Timestamp::from_millis(row.try_get("next_attempt_at")?)) } else { None },
                    status,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    created_at: Timestamp::from_millis(row.try_get("created_at")?),
                })
            })
            .collect()
    }
}

async fn enabled_endpoints(conn: &mut AnyConnection, org: Id) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let rows = sqlx::query("SELECT data FROM webhook_endpoints WHERE organization_id = $1 AND enabled = 1").bind(org.to_string()).fetch_all(conn).await?;
    rows.iter().map(documents::from_row).collect()
}
