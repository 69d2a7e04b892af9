//! What chargers do, as the OCPP server reports it: connecting, booting, status, authorizing,
//! transactions and meter values. Each method is one transaction with its events.

use domain::chargestation::{Registration, SecurityType};
use domain::connector::{Connector, ConnectorStatus};
use domain::event::NewEvent;
use domain::ledger::Movement;
use domain::page::Page;
use domain::payment::PaymentStatus;
use domain::rate::Rate;
use domain::session::{EndedBy, Session, SessionStatus};
use domain::token::{Authorization, Token};
use domain::transaction::Transaction;
use domain::{Id, Timestamp};
use serde_json::Value;
use session::facts::{self, SessionFacts};
use session::lifecycle::{self, Happening};
use session::pricing;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::documents::{self, Column, Filter, document};
use crate::error::on_unique;
use crate::presence::{Applied, Presence, PresenceChange};
use crate::progress;
use crate::readings::{self, Place};
use crate::{Store, StoreError};

/// What the OCPP server needs to accept a charger's connection.
#[derive(Clone, Debug)]
pub struct ChargerLogin {
    pub organization: Id,
    pub chargestation: Id,
    pub security: SecurityType,
    pub password_hash: Option<String>,
    /// What BootNotification answers; until Accepted, the charger may send nothing else.
    pub registration: Registration,
    /// The OCPP version the chargestation is registered with (`ocpp1.6`, `ocpp2.0.1`).
    pub protocol: String,
    /// Sessions were running on it when it logged in. Most chargers that connect have none,
    /// and a connection then has no sessions to read back: a session that starts later starts
    /// through it (a fleet reconnecting at once read twice per charger for nothing).
    pub running_sessions: bool,
    /// Joule has sent it a local authorization list, which may have to catch up now.
    pub keeps_local_list: bool,
}

/// A StartTransaction as the charger reported it.
#[derive(Clone, Debug)]
pub struct TransactionStart {
    /// A 2.0.1 charger's id for the transaction; `None` for 1.6, where Joule gives the id.
    pub ocpp_id: Option<String>,
    pub connector_id: u32,
    pub id_tag: String,
    pub meter_start_wh: i64,
    pub started_at: Timestamp,
    pub reservation_id: Option<i64>,
}

/// A recorded StartTransaction, and whether the charger is told its idTag is `Blocked`.
#[derive(Clone, Debug)]
pub struct StartedTransaction {
    pub transaction: Transaction,
    pub blocked: bool,
}

/// A StopTransaction as the charger reported it.
#[derive(Clone, Debug)]
pub struct TransactionStop {
    pub transaction_id: i64,
    pub meter_stop_wh: i64,
    pub stopped_at: Timestamp,
    pub reason: Option<String>,
}

/// Samples stored, and the running session they belong to.
pub struct Recorded {
    pub stored: usize,
    pub session: Option<SessionFacts>,
    /// `session.updated` was recorded for this report.
    pub announced: bool,
}

/// A stopped transaction, and its session if this stop ended it.
pub struct Stopped {
    pub transaction: Transaction,
    pub ended: Option<Session>,
}

/// One sampled value, its unit already normalized (Wh, W...).
#[derive(Clone, Debug)]
pub struct Sample {
    pub sampled_at: Timestamp,
    pub measurand: String,
    pub phase: Option<String>,
    pub context: Option<String>,
    pub unit: String,
    pub value: String,
}

/// The measurand whose value is the energy register; a reading below the last one is a dip.
pub const ENERGY_REGISTER: &str = "Energy.Active.Import.Register";

document!(
    Transaction,
    "transactions",
    "transaction",
    [
        "chargestation_id",
        "transaction_id",
        "connector_id",
        "id_tag",
        "token_id",
        "session_id",
        "reservation_id",
        "meter_start",
        "meter_stop",
        "started_at",
        "stopped_at",
        "stop_reason",
        "ocpp_id"
    ],
    |t| vec![
        Column::Text(Some(t.chargestation.to_string())),
        Column::Int(Some(t.transaction_id)),
        Column::Int(Some(i64::from(t.connector_id))),
        Column::Text(Some(t.id_tag.clone())),
        Column::Text(t.token.map(|x| x.to_string())),
        Column::Text(t.session.map(|x| x.to_string())),
        Column::Int(t.reservation_id),
        Column::Int(Some(t.meter_start)),
        Column::Int(t.meter_stop),
        Column::Int(Some(t.started_at.millis())),
        Column::Int(t.stopped_at.map(Timestamp::millis)),
        Column::Text(t.stop_reason.clone()),
        Column::Text(t.ocpp_id.clone()),
    ]
);
document!(
    Session,
    "sessions",
    "session",
    ["chargestation_id", "status", "user_id", "token_id", "transaction_id", "id_tag", "connector_ref", "wallet_id", "held_cents"],
    |s| vec![
        Column::Text(Some(s.chargestation.to_string())),
        Column::Text(Some(s.status.as_str().to_string())),
        Column::Text(s.user.map(|u| u.to_string())),
        Column::Text(s.token.map(|t| t.to_string())),
        Column::Int(s.transaction_id),
        Column::Text(Some(s.id_tag.clone())),
        Column::Text(s.connector.map(|c| c.to_string())),
        Column::Text(s.payment.as_ref().map(|p| p.wallet.to_string())),
        Column::Int(Some(s.payment.as_ref().map_or(0, |p| p.held().0))),
    ],
    shown: progress::SHOWN,
    progress::read
);

/// The transaction a StartTransaction already recorded: $1 the chargestation, $2 the
/// connector, $3 the idTag, $4 the start's time.
const SAME_START: &str = "SELECT data FROM transactions WHERE chargestation_id = $1 AND connector_id = $2 AND id_tag = $3 AND started_at = $4";
/// The chargestation's ($1) last transaction id: they count up per chargestation, and the
/// unique index catches a race.
const LAST_TRANSACTION: &str = "SELECT CAST(MAX(transaction_id) AS BIGINT) FROM transactions WHERE chargestation_id = $1";

/// What a StartTransaction reads before it writes.
struct StartRead {
    /// The transaction of the same start reported before (a retry).
    same: Option<Transaction>,
    last: Option<i64>,
    /// The running session with the start's idTag, locked on PostgreSQL.
    waiting: Option<Session>,
}

impl Store {
    /// The chargestation with this OCPP identity, in whichever organization.
    pub async fn charger_login(&self, endpoint: &str) -> Result<Option<ChargerLogin>, StoreError> {
        let row = sqlx::query(
            "SELECT id, organization_id, protocol, security_type, password_hash, registration, local_list_version, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.chargestation_id = chargestations.id AND s.status IN ('started', 'paused')) \
             THEN 1 ELSE 0 END AS BIGINT) AS running \
             FROM chargestations WHERE endpoint = $1",
        )
        .bind(endpoint.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let parse = |column: &str| -> Result<Id, StoreError> { row.try_get::<String, _>(column)?.parse().map_err(StoreError::corrupt) };
        let security: String = row.try_get("security_type")?;
        let registration: String = row.try_get("registration")?;
        Ok(Some(ChargerLogin {
            organization: parse("organization_id")?,
            chargestation: parse("id")?,
            security: if security == "basic" { SecurityType::Basic } else { SecurityType::None },
            password_hash: row.try_get("password_hash")?,
            registration: Registration::parse(&registration).ok_or_else(|| StoreError::corrupt(format!("registration {registration}")))?,
            protocol: row.try_get("protocol")?,
            running_sessions: row.try_get::<i64, _>("running")? != 0,
            keeps_local_list: row.try_get::<Option<i64>, _>("local_list_version")?.is_some(),
        }))
    }

    /// The transaction a 2.0.1 charger calls `ocpp_id`, if Joule knows it.
    pub async fn transaction_by_ocpp_id(&self, org: Id, cs: Id, ocpp_id: &str) -> Result<Option<Transaction>, StoreError> {
        let row = sqlx::query("SELECT data FROM transactions WHERE chargestation_id = $1 AND organization_id = $2 AND ocpp_id = $3")
            .bind(cs.to_string())
            .bind(org.to_string())
            .bind(ocpp_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(documents::from_row).transpose()
    }

    /// The OCPP version the chargestation speaks (`ocpp1.6`, `ocpp2.0.1`).
    pub async fn protocol_of(&self, cs: Id) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT protocol FROM chargestations WHERE id = $1").bind(cs.to_string()).fetch_optional(&self.pool).await?;
        Ok(row.ok_or(StoreError::NotFound("chargestation"))?.try_get("protocol")?)
    }

    /// A 2.0.1 charger's id for the transaction Joule numbers `transaction_id`; `None` for a 1.6
    /// charger's (or an unknown) transaction.
    pub async fn ocpp_transaction_id(&self, cs: Id, transaction_id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT ocpp_id FROM transactions WHERE chargestation_id = $1 AND transaction_id = $2")
            .bind(cs.to_string())
            .bind(transaction_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>("ocpp_id")).transpose()?.flatten())
    }

    /// Records the OCPP version a charger connected with, when it is not the one its
    /// chargestation showed.
    pub async fn chargestation_speaks(&self, cs: Id, protocol: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE chargestations SET protocol = $2, updated_at = $3 WHERE id = $1")
            .bind(cs.to_string())
            .bind(protocol.to_string())
            .bind(self.now().millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the chargestation online (`online`) or offline as of `at`, with its event.
    pub async fn charger_connection(&self, org: Id, cs: Id, online: bool, at: Timestamp) -> Result<(), StoreError> {
        let node = self.node;
        let change = if online { Presence::Connected { at, node } } else { Presence::Disconnected { at, node } };
        self.record_change(org, cs, change).await.map(drop)
    }

    /// Marks offline, with `chargestation.offline`, those of the chargestations (organization,
    /// id, when its connection to this node ended) still marked online by a connection to this
    /// node from before that time; answers how many were. Many at once (a fleet that
    /// disconnects, a stopping node's): `ENDED_AT_ONCE` of them in a transaction, set-wise.
    pub async fn connections_ended(&self, chargestations: &[(Id, Id, Timestamp)]) -> Result<usize, StoreError> {
        const ENDED_AT_ONCE: usize = 1000;
        let mut ended = 0;
        for some in chargestations.chunks(ENDED_AT_ONCE) {
            let changes: Vec<_> = some
                .iter()
                .map(|&(organization, chargestation, at)| PresenceChange {
                    organization,
                    chargestation,
                    change: Presence::Disconnected { at, node: self.node },
                })
                .collect();
            ended += self.record_presence(&changes).await?.iter().filter(|a| matches!(a, Ok(Applied::Changed))).count();
        }
        Ok(ended)
    }

    /// What a charger reported that Joule keeps as it is, as the event `chargestation.{what}`
    /// whose data is the report with its chargestation (2.0.1's NotifyEvent,
    /// SecurityEventNotification and NotifyReport).
    pub async fn record_report(&self, org: Id, cs: Id, what: &str, report: &Value) -> Result<(), StoreError> {
        let mut data = serde_json::Map::new();
        data.insert("chargestation".into(), Value::String(cs.to_string()));
        if let Value::Object(fields) = report {
            data.extend(fields.clone());
        }
        let mut tx = self.write().await?;
        self.record(&mut tx, org, vec![NewEvent::of("chargestation", what, &Value::Object(data)).for_chargestation(cs)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A StatusNotification (`Presence::Status`).
    pub async fn record_status(&self, org: Id, cs: Id, connector_id: u32, status: ConnectorStatus, at: Timestamp) -> Result<(), StoreError> {
        self.record_change(org, cs, Presence::Status { connector_id, status, at }).await.map(drop)
    }

    /// One change, in a batch of its own.
    pub async fn record_change(&self, organization: Id, chargestation: Id, change: Presence) -> Result<Applied, StoreError> {
        let mut answers = self.record_presence(&[PresenceChange { organization, chargestation, change }]).await?;
        answers.pop().unwrap_or(Err(StoreError::NotFound("chargestation")))
    }

    /// The token behind an idTag, and what the charger is to be told about it by the token alone
    /// (`Store::authorize` adds the wallet's checks). The idTag Joule gave a charger for a
    /// session it started is Accepted while that session runs.
    pub async fn identify(&self, org: Id, cs: Id, id_tag: &str) -> Result<(Authorization, Option<Token>), StoreError> {
        let row = sqlx::query("SELECT data FROM tokens WHERE organization_id = $1 AND physical_id = $2")
            .bind(org.to_string())
            .bind(id_tag.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let token: Option<Token> = row.as_ref().map(documents::from_row).transpose()?;
        if let Some(t) = token {
            return Ok((t.authorization(self.now()), Some(t)));
        }
        let session = self.session_for_id_tag(&mut *self.pool.acquire().await?, cs, id_tag).await?;
        Ok((if session.is_some() { Authorization::Accepted } else { Authorization::Invalid }, None))
    }

    /// The session Joule started with this idTag on this chargestation, while it may run.
    async fn session_for_id_tag(&self, conn: &mut AnyConnection, cs: Id, id_tag: &str) -> Result<Option<Session>, StoreError> {
        let sql =
            format!("SELECT {} FROM sessions WHERE chargestation_id = $1 AND id_tag = $2 AND status IN ('created', 'started', 'paused')", progress::SHOWN);
        let row = sqlx::query(AssertSqlSafe(sql)).bind(cs.to_string()).bind(id_tag.to_string()).fetch_optional(conn).await?;
        row.as_ref().map(progress::read).transpose()
    }

    /// Records a StartTransaction. The same start reported again (a retry) is the same
    /// transaction, with the same transactionId and the same answer. A start with an accepted
    /// `card` is a session (`Store::start_card`): paid from its user's wallet if the user has
    /// one and the wallet passes SPEC 5's checks, refused (`blocked`, no session) if it does
    /// not, without payment for a token without a wallet.
    pub async fn start_transaction(&self, org: Id, cs: Id, start: &TransactionStart, card: Option<&Token>) -> Result<StartedTransaction, StoreError> {
        let mut tx = self.write().await?;
        let StartRead { same, last: next, waiting } = self.start_read(&mut tx, cs, start).await?;
        if let Some(existing) = same {
            tx.commit().await?;
            // An accepted card's start without a session was refused.
            let blocked = card.is_some() && existing.session.is_none();
            return Ok(StartedTransaction { transaction: existing, blocked });
        }
        let now = self.now();
        let mut transaction = Transaction {
            id: self.new_id(),
            chargestation: cs,
            transaction_id: next.unwrap_or(0) + 1,
            ocpp_id: start.ocpp_id.clone(),
            connector_id: start.connector_id,
            id_tag: start.id_tag.clone(),
            token: card.map(|t| t.id),
            session: None,
            reservation_id: start.reservation_id,
            meter_start: start.meter_start_wh,
            meter_stop: None,
            started_at: start.started_at,
            stopped_at: None,
            stop_reason: None,
            created_at: now,
            updated_at: now,
        };
        let mut events = Vec::new();
        let mut blocked = false;
        // The start of a session Joule asked for: it is now running.
        if let Some(mut session) = waiting.filter(|s| s.status == SessionStatus::Created) {
            session.status = SessionStatus::Started;
            session.transaction_id = Some(transaction.transaction_id);
            session.started_at = Some(start.started_at);
            session.updated_at = now;
            documents::replace(&mut tx, org, &session).await?;
            transaction.session = Some(session.id);
            events.push(NewEvent::of("session", "started", &session).for_chargestation(cs));
        } else if let Some(token) = card {
            let connector = connector_row(&mut tx, org, cs, start.connector_id, "").await?.map(|(c, _)| c);
            let started = self.start_card(&mut tx, org, token, &transaction, connector.as_ref()).await?;
            transaction.session = started.session.map(|s| s.id);
            events = started.events;
            blocked = started.blocked;
        }
        documents::insert(&mut tx, org, &transaction).await.map_err(|e| on_unique(e, || StoreError::Conflict("transaction id taken; retry".into())))?;
        self.record(&mut tx, org, events).await?;
        tx.commit().await?;
        Ok(StartedTransaction { transaction, blocked })
    }

    /// What a StartTransaction reads: in one statement when a session waits for it (Joule
    /// asked for the start), else one read at a time.
    async fn start_read(&self, conn: &mut AnyConnection, cs: Id, start: &TransactionStart) -> Result<StartRead, StoreError> {
        let bind = |sql| sqlx::query(sql).bind(cs.to_string()).bind(i64::from(start.connector_id)).bind(start.id_tag.clone()).bind(start.started_at.millis());
        let sql = format!(
            "SELECT {}, ({SAME_START} LIMIT 1) AS same, ({LAST_TRANSACTION}) AS last FROM sessions \
             WHERE chargestation_id = $1 AND id_tag = $3 AND status IN ('created', 'started', 'paused'){}",
            progress::SHOWN,
            self.backend.lock_in_turn()
        );
        if let Some(row) = bind(AssertSqlSafe(sql)).fetch_optional(&mut *conn).await? {
            return Ok(StartRead { same: documents::from_column(&row, "same")?, last: row.try_get("last")?, waiting: Some(progress::read(&row)?) });
        }
        let same = bind(AssertSqlSafe(SAME_START.to_string())).fetch_optional(&mut *conn).await?;
        let last = sqlx::query_scalar(LAST_TRANSACTION).bind(cs.to_string()).fetch_one(conn).await?;
        Ok(StartRead { same: same.as_ref().map(documents::from_row).transpose()?, last, waiting: None })
    }

    /// Records a StopTransaction once, with the meter values it carries: `None` for a
    /// transaction Joule does not know; a stop of an already stopped transaction returns it
    /// unchanged. The transaction's session ends, priced by `session::pricing::bill`; a wallet session's hold is
    /// settled in the same database transaction: the captured cents leave the wallet (a
    /// `session_capture` ledger entry), the rest is released.
    pub async fn stop_transaction(&self, org: Id, cs: Id, stop: &TransactionStop, samples: &[Sample]) -> Result<Option<Stopped>, StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT data FROM transactions WHERE chargestation_id = $1 AND transaction_id = $2")
            .bind(cs.to_string())
            .bind(stop.transaction_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(mut transaction) = row.as_ref().map(documents::from_row::<Transaction>).transpose()? else {
            tx.commit().await?;
            return Ok(None);
        };
        if transaction.stopped_at.is_some() {
            tx.commit().await?;
            return Ok(Some(Stopped { transaction, ended: None }));
        }
        self.insert_samples(&mut tx, org, cs, transaction.connector_id, Some(transaction.transaction_id), samples).await?;
        transaction.meter_stop = Some(stop.meter_stop_wh);
        transaction.stopped_at = Some(stop.stopped_at);
        transaction.stop_reason = Some(stop.reason.clone().unwrap_or_else(|| "Local".into()));
        transaction.updated_at = self.now();
        documents::replace(&mut tx, org, &transaction).await?;
        let mut events = Vec::new();
        let mut ended = None;
        if let Some(id) = transaction.session {
            let session = documents::fetch_to_change::<Session>(&mut tx, self.backend, org, id).await?;
            // A session ended without the charger (soft end) is not charged again.
            if session.status.is_running() {
                let (session, more) = self.end_session(&mut tx, org, session, stop.stopped_at, EndedBy::Chargestation).await?;
                events.extend(more);
                ended = Some(session);
            }
        }
        self.record(&mut tx, org, events).await?;
        tx.commit().await?;
        Ok(Some(Stopped { transaction, ended }))
    }

    /// What pricing a session and deciding on it need, once its charger started its
    /// transaction: `None` before.
    async fn session_facts(&self, conn: &mut AnyConnection, org: Id, session: Session) -> Result<Option<SessionFacts>, StoreError> {
        let cs = session.chargestation;
        let Some(transaction_id) = session.transaction_id else { return Ok(None) };
        let row = sqlx::query(
            "SELECT t.data, (SELECT data FROM rates WHERE id = $3 AND organization_id = $4) AS rate, c.stop_latency_s, l.data AS location \
             FROM transactions t JOIN chargestations c ON c.id = t.chargestation_id LEFT JOIN locations l ON l.id = c.location_id \
             WHERE t.chargestation_id = $1 AND t.transaction_id = $2",
        )
        .bind(cs.to_string())
        .bind(transaction_id)
        .bind(session.rate.map(|r| r.to_string()))
        .bind(org.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let transaction: Transaction = documents::from_row(&row)?;
        // A rate that no longer reads prices nothing, as a session without one.
        let rate = documents::from_column::<Rate>(&row, "rate").ok().flatten();
        let stop_latency_s = row.try_get::<Option<i64>, _>("stop_latency_s")?.and_then(|s| u32::try_from(s).ok());
        let timezone = row
            .try_get::<Option<String>, _>("location")?
            .and_then(|data| serde_json::from_str::<Value>(&data).ok())
            .and_then(|v| v["timezone"].as_str().map(str::to_string));
        let stored = readings::of_transaction(&mut *conn, cs, transaction_id).await?;
        let mut readings = Vec::with_capacity(stored.len());
        let mut last_heard = transaction.created_at;
        for (at, received, value) in stored {
            last_heard = last_heard.max(received);
            // Values a charger sends after the stop are kept, but are not the session's.
            if let (Some(Ok(v)), true) = (value.map(|v| v.parse()), transaction.stopped_at.is_none_or(|stop| at <= stop)) {
                readings.push((facts::counts_at(at, received), v));
            }
        }
        facts::in_order(&mut readings);
        let until = transaction.stopped_at.map_or(i64::MAX, Timestamp::millis);
        let rows = sqlx::query(
            "SELECT status, reported_at FROM connector_statuses WHERE chargestation_id = $1 AND connector_id = $2 AND reported_at <= $4 \
             AND reported_at >= COALESCE((SELECT MAX(reported_at) FROM connector_statuses WHERE chargestation_id = $1 AND connector_id = $2 AND reported_at <= $3), $3) \
             ORDER BY reported_at",
        )
        .bind(cs.to_string())
        .bind(i64::from(transaction.connector_id))
        .bind(transaction.started_at.millis())
        .bind(until)
        .fetch_all(&mut *conn)
        .await?;
        let mut statuses = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(status) = ConnectorStatus::parse(&row.try_get::<String, _>("status")?) {
                statuses.push((Timestamp::from_millis(row.try_get("reported_at")?), status));
            }
        }
        Ok(Some(SessionFacts { organization: org, session, transaction, rate, timezone, readings, statuses, stop_latency_s, last_heard, read_at: self.now() }))
    }

    /// Ends a running session at `at` (by its charger, the operator or Joule), priced from its
    /// stored facts (`session::pricing::bill`); a wallet payment is settled: captured, the rest of the hold
    /// released. Answers the ended session and its events.
    pub(crate) async fn end_session(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        session: Session,
        at: Timestamp,
        by: EndedBy,
    ) -> Result<(Session, Vec<NewEvent>), StoreError> {
        let cs = session.chargestation;
        let happening = if by == EndedBy::Chargestation { Happening::ChargerStopped } else { Happening::EndedWithoutCharger };
        let status = lifecycle::next(session.status, happening).map_err(|refused| StoreError::Conflict(refused.to_string()))?;
        let facts = self.session_facts(conn, org, session).await?.ok_or_else(|| StoreError::corrupt("a running session has no transactionId"))?;
        let priced = pricing::bill(&facts);
        if let Some(e) = &priced.unpriced {
            tracing::error!(error = %e, session = %facts.session.id, "a session's activity cannot be priced; it is billed nothing");
        }
        let mut session = facts.session;
        let now = self.now();
        if let Some(learned) = priced.stop_latency_s {
            sqlx::query("UPDATE chargestations SET stop_latency_s = $1 WHERE id = $2")
                .bind(i64::from(learned))
                .bind(cs.to_string())
                .execute(&mut *conn)
                .await?;
        }
        session.status = status;
        session.ended_at = Some(at);
        session.ended_by = Some(by);
        session.updated_at = now;
        session.cost = Some(priced.cost);
        session.metrics = Some(priced.metrics);
        let mut events = Vec::new();
        let mut settled = None;
        if let Some(payment) = session.payment.as_mut().filter(|p| p.status == PaymentStatus::Authorized) {
            let held = payment.held();
            let captured = domain::Cents(priced.captured.0.clamp(0, held.0));
            payment.status = PaymentStatus::Succeeded;
            payment.captured_amount = priced.captured_amount;
            payment.uncollected_amount = priced.uncollected_amount;
            payment.updated_at = now;
            settled = Some((payment.wallet, held, captured));
        }
        documents::replace(&mut *conn, org, &session).await?;
        progress::forget(&mut *conn, session.id).await?;
        events.push(NewEvent::of("session", "ended", &session).for_chargestation(cs));
        if let (Some(payment), Some((wallet, held, captured))) = (&session.payment, settled) {
            let (after, _) = self.move_wallet(&mut *conn, org, wallet, Movement::Capture { held, captured }, Some(session.id.to_string())).await?;
            events.push(NewEvent::of("payment", "captured", payment).for_chargestation(cs));
            events.push(NewEvent::of("session", "payment.captured", &session).for_chargestation(cs));
            events.push(NewEvent::of("wallet", "updated", &after).for_chargestation(cs));
        }
        Ok((session, events))
    }

    /// Stores sampled values. When they belong to a running session, its cost and metrics so
    /// far are priced on all its readings (`session::pricing::progress`) and stored, with
    /// `session.updated` when `announce` says so for the session. An energy register reading below the last one stored for the same transaction and connector is a
    /// dip (a meter reset or a glitch) and is left out.
    pub async fn record_meter_values(
        &self,
        org: Id,
        cs: Id,
        connector_id: u32,
        transaction_id: Option<i64>,
        samples: &[Sample],
        announce: &(dyn Fn(Id) -> bool + Sync),
    ) -> Result<Recorded, StoreError> {
        let mut tx = self.write().await?;
        let stored = self.insert_samples(&mut tx, org, cs, connector_id, transaction_id, samples).await?;
        let mut running = None;
        let mut announced = false;
        if let (Some(transaction_id), true) = (transaction_id, stored > 0) {
            let sql = format!(
                "SELECT {} FROM sessions WHERE chargestation_id = $1 AND transaction_id = $2 AND status IN ('started', 'paused'){}",
                progress::SHOWN,
                self.backend.lock_in_turn()
            );
            let row = sqlx::query(AssertSqlSafe(sql)).bind(cs.to_string()).bind(transaction_id).fetch_optional(&mut *tx).await?;
            if let Some(session) = row.as_ref().map(progress::read).transpose()?
                && let Some(mut facts) = self.session_facts(&mut tx, org, session).await?
            {
                let progress = pricing::progress(&facts);
                if let Some(e) = &progress.unpriced {
                    tracing::error!(error = %e, session = %facts.session.id, "a session's activity cannot be priced; it is shown without a cost");
                }
                facts.session.cost = progress.cost.and_then(|c| serde_json::to_value(c).ok());
                facts.session.metrics = Some(progress.metrics);
                facts.session.updated_at = self.now();
                documents::replace(&mut tx, org, &facts.session).await?;
                if announce(facts.session.id) {
                    self.record(&mut tx, org, vec![NewEvent::of("session", "updated", &facts.session).for_chargestation(cs)]).await?;
                    announced = true;
                }
                running = Some(facts);
            }
        }
        tx.commit().await?;
        Ok(Recorded { stored, session: running, announced })
    }

    async fn insert_samples(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        cs: Id,
        connector_id: u32,
        transaction_id: Option<i64>,
        samples: &[Sample],
    ) -> Result<usize, StoreError> {
        let last = readings::last_register(&mut *conn, cs, connector_id, transaction_id).await?;
        let mut register: Option<rust_decimal::Decimal> = last.and_then(|v| v.parse().ok());
        let mut kept = Vec::with_capacity(samples.len());
        for sample in samples {
            if let Some(value) = readings::register(sample) {
                let Ok(value) = value.parse::<rust_decimal::Decimal>() else { continue };
                if register.is_some_and(|r| value < r) {
                    continue;
                }
                register = Some(value);
            }
            kept.push(sample.clone());
        }
        let place = Place { organization: org, chargestation: cs, connector_id, transaction_id };
        self.insert_readings(conn, &place, &kept).await?;
        Ok(kept.len())
    }

    /// The facts of the running session of a chargestation's transaction, if there is one: what
    /// a node holding the charger's connection keeps live.
    pub async fn running_session_facts(&self, org: Id, cs: Id, transaction_id: i64) -> Result<Option<SessionFacts>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!(
            "SELECT {} FROM sessions WHERE organization_id = $1 AND chargestation_id = $2 AND transaction_id = $3 AND status IN ('started', 'paused')",
            progress::SHOWN
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string()).bind(cs.to_string()).bind(transaction_id).fetch_optional(&mut *conn).await?;
        match row.as_ref().map(progress::read).transpose()? {
            Some(session) => self.session_facts(&mut conn, org, session).await,
            None => Ok(None),
        }
    }

    /// Claims, for this node until `until`, the running sessions that no live node's
    /// connection looks after (their charger is offline) and no node claimed for longer, as
    /// (organization, session, chargestation) ids: the session runner reads each on its own, so
    /// that one it cannot read does not hide the others. Another node's claim round skips what
    /// this one holds locked.
    pub async fn claim_unheld_sessions(&self, until: Timestamp) -> Result<Vec<(Id, Id, Id)>, StoreError> {
        self.claim_sessions(
            "s.status IN ('started', 'paused') AND NOT EXISTS (SELECT 1 FROM chargestations c JOIN nodes n ON n.id = c.node_id \
             WHERE c.id = s.chargestation_id AND c.online = 1 AND n.lease_until >= $1)",
            None,
            until,
        )
        .await
    }

    /// Claims, as `claim_unheld_sessions` does, the sessions still waiting for the charger to
    /// start them that were created before `before`.
    pub async fn claim_unstarted_sessions(&self, before: Timestamp, until: Timestamp) -> Result<Vec<(Id, Id)>, StoreError> {
        let claimed = self.claim_sessions("s.status = 'created' AND s.created_at < $2", Some(before), until).await?;
        Ok(claimed.into_iter().map(|(org, id, _)| (org, id)).collect())
    }

    /// Marks the sessions `condition` picks (over `s`, with `$1` now and `$2` `before`) watched
    /// by this node until `until`, skipping those another node is claiming.
    async fn claim_sessions(&self, condition: &str, before: Option<Timestamp>, until: Timestamp) -> Result<Vec<(Id, Id, Id)>, StoreError> {
        let now = self.now();
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT s.organization_id, s.id, s.chargestation_id FROM sessions s WHERE {condition} AND (s.watched_until IS NULL OR s.watched_until <= $1) ORDER BY s.id{}",
            self.backend.skip_locked()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now.millis());
        if let Some(before) = before {
            query = query.bind(before.millis());
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let (org, id) = ids(row)?;
            claimed.push((org, id, row.try_get::<String, _>("chargestation_id")?.parse().map_err(StoreError::corrupt)?));
        }
        if !claimed.is_empty() {
            let keys: Vec<[String; 1]> = claimed.iter().map(|(_, id, _)| [id.to_string()]).collect();
            let sql = format!("UPDATE sessions SET watched_until = $1 WHERE id {}", self.backend.in_json_keys(2));
            let keys = serde_json::to_string(&keys).map_err(StoreError::corrupt)?;
            sqlx::query(AssertSqlSafe(sql)).bind(until.millis()).bind(keys).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// The facts of every running session on a chargestation: what the node its charger
    /// connects to keeps live.
    pub async fn running_facts_on(&self, org: Id, cs: Id) -> Result<Vec<SessionFacts>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM sessions WHERE organization_id = $1 AND chargestation_id = $2 AND status IN ('started', 'paused')",
            progress::SHOWN
        )))
        .bind(org.to_string())
        .bind(cs.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut running = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(facts) = self.session_facts(&mut conn, org, progress::read(row)?).await? {
                running.push(facts);
            }
        }
        Ok(running)
    }

    /// Whether something changed the session since the reader knew it as of `known` (its
    /// `updatedAt` then), or it is gone.
    pub async fn session_changed_since(&self, id: Id, known: Timestamp) -> Result<bool, StoreError> {
        let changed_at = progress::changed_at(&mut *self.pool.acquire().await?, id).await?;
        Ok(progress::changed_since(changed_at, known))
    }

    /// The running sessions on a chargestation whose stop Joule asked for: (session id,
    /// transactionId).
    pub async fn stops_pending(&self, org: Id, cs: Id) -> Result<Vec<(Id, i64)>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM sessions WHERE organization_id = $1 AND chargestation_id = $2 AND status IN ('started', 'paused')",
            progress::SHOWN
        )))
        .bind(org.to_string())
        .bind(cs.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut pending = Vec::new();
        for row in &rows {
            let session = progress::read(row)?;
            if let (Some(_), Some(transaction_id)) = (&session.stop_requested, session.transaction_id) {
                pending.push((session.id, transaction_id));
            }
        }
        Ok(pending)
    }

    /// A session, with what pricing it so far needs once the charger started its transaction.
    pub async fn session_with_facts(&self, org: Id, id: Id) -> Result<(Session, Option<SessionFacts>), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let session: Session = documents::fetch(&mut conn, org, id).await?;
        let facts = self.session_facts(&mut conn, org, session.clone()).await?;
        Ok((session, facts))
    }

    /// Notes that Joule asked the charger to stop a session, with `session.stop_requested`;
    /// `false` if it already had, so the request goes out once.
    pub async fn request_stop(&self, org: Id, id: Id, reason: &str) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let mut session: Session = documents::fetch_to_change(&mut tx, self.backend, org, id).await?;
        if session.stop_requested.is_some() || !session.status.is_running() {
            tx.commit().await?;
            return Ok(false);
        }
        let now = self.now();
        session.stop_requested = Some(domain::session::StopRequest { at: now, reason: reason.to_string() });
        session.updated_at = now;
        documents::replace(&mut tx, org, &session).await?;
        self.record(&mut tx, org, vec![NewEvent::of("session", "stop_requested", &session).for_chargestation(session.chargestation)]).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn session(&self, org: Id, id: Id) -> Result<Session, StoreError> {
        documents::fetch(&mut *self.pool.acquire().await?, org, id).await
    }

    pub async fn sessions(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Session>, StoreError> {
        documents::list(&mut *self.pool.acquire().await?, org, page, filters).await
    }

    /// A chargestation's transactions, newest first. `NotFound` for another organization's.
    pub async fn transactions(&self, org: Id, cs: Id, page: Page) -> Result<Vec<Transaction>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if !documents::exists(&mut conn, "chargestations", org, cs).await? {
            return Err(StoreError::NotFound("chargestation"));
        }
        documents::list(&mut conn, org, page, &[Filter::Eq("chargestation_id", cs.to_string())]).await
    }
}

fn ids(row: &sqlx::any::AnyRow) -> Result<(Id, Id), StoreError> {
    let org: String = row.try_get("organization_id")?;
    let id: String = row.try_get("id")?;
    Ok((org.parse().map_err(StoreError::corrupt)?, id.parse().map_err(StoreError::corrupt)?))
}

/// A connector and when its status was reported; `lock` is `lock_in_turn()` when it is read to be
/// changed, so that a concurrent PATCH waits instead of being overwritten.
async fn connector_row(conn: &mut AnyConnection, org: Id, cs: Id, connector_id: u32, lock: &str) -> Result<Option<(Connector, Option<i64>)>, StoreError> {
    let sql = format!("SELECT data, status_at FROM connectors WHERE chargestation_id = $1 AND organization_id = $2 AND connector_id = $3{lock}");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(cs.to_string()).bind(org.to_string()).bind(i64::from(connector_id)).fetch_optional(conn).await?;
    match row {
        Some(row) => Ok(Some((documents::from_row(&row)?, row.try_get("status_at")?))),
        None => Ok(None),
    }
}
