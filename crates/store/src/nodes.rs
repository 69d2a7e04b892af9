//! The `joule serve` processes sharing a database (SPEC 11). Each node is on record with a
//! lease it renews; one whose lease ran out is dead, and the first live node to notice marks
//! offline the chargers it held (`bury_dead_nodes`). A charger is held by the node of its newest
//! connection (`chargestations.node_id`, kept by the presence rules). A node tells another
//! something by a notification on that node's channel, sent when the telling transaction
//! commits: close a connection another node took over, take a routed call, collect its
//! answer. What a message names is in the database, so a message is only a wake-up.

use std::time::Duration;

use domain::{Id, Timestamp};
use sqlx::{AnyConnection, Row};

use crate::dialect::{Backend, Listener};
use crate::presence::PresenceChange;
use crate::{Presence, Store, StoreError};

/// What one node tells another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// Close your connection of this chargestation if it is older than this time: the charger
    /// connected to another node then (a connection of yours made since is the newer one).
    Close(Id, Timestamp),
    /// Take this routed call (`Store::take_call`).
    Call(Id),
    /// The answer to your routed call is in (`Store::collect_answer`).
    Answer(Id),
}

impl Message {
    fn to_text(self) -> String {
        match self {
            Message::Close(cs, at) => format!("close:{cs}:{}", at.millis()),
            Message::Call(id) => format!("call:{id}"),
            Message::Answer(id) => format!("answer:{id}"),
        }
    }

    fn parse(text: &str) -> Option<Message> {
        let (kind, rest) = text.split_once(':')?;
        match kind {
            "close" => {
                let (cs, at) = rest.split_once(':')?;
                Some(Message::Close(cs.parse().ok()?, Timestamp::from_millis(at.parse().ok()?)))
            }
            "call" => Some(Message::Call(rest.parse().ok()?)),
            "answer" => Some(Message::Answer(rest.parse().ok()?)),
            _ => None,
        }
    }
}

fn channel(node: Id) -> String {
    format!("joule_node_{node}")
}

/// Sends `message` to `node` when the transaction on `conn` commits.
pub(crate) async fn tell(conn: &mut AnyConnection, backend: Backend, node: Id, message: &Message) -> Result<(), StoreError> {
    if let Some(sql) = backend.notify() {
        sqlx::query(sql).bind(channel(node)).bind(message.to_text()).execute(conn).await?;
    }
    Ok(())
}

/// What other nodes tell this one.
pub struct Inbox(Listener);

impl Inbox {
    /// The next message; `None` when the connection was lost, with whatever was sent meanwhile
    /// (the next call connects again).
    pub async fn next(&mut self) -> Result<Option<Message>, StoreError> {
        loop {
            match self.0.next().await? {
                None => return Ok(None),
                Some(text) => match Message::parse(&text) {
                    Some(message) => return Ok(Some(message)),
                    None => tracing::warn!(message = %text, "ignoring a message this node does not understand"),
                },
            }
        }
    }
}

/// A call another node routed here for one of this node's chargers.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutedCall {
    pub from: Id,
    pub chargestation: Id,
    pub action: String,
    pub payload: String,
    pub timeout: Duration,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn id_at(row: &sqlx::any::AnyRow, column: &str) -> Result<Id, StoreError> {
    row.try_get::<String, _>(column)?.parse().map_err(StoreError::corrupt)
}

impl Store {
    /// Puts this node on record with a lease of `lease`. A charger marked online that no node
    /// holds (left by a version that did not record holders) is marked offline; on a database
    /// that is one node's (SQLite), every other node on record is dead and buried at once.
    pub async fn join_nodes(&self, lease: Duration) -> Result<usize, StoreError> {
        let now = self.now();
        let mut tx = self.write().await?;
        if !self.backend.many_nodes() {
            sqlx::query("UPDATE nodes SET lease_until = 0 WHERE id <> $1").bind(self.node.to_string()).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO nodes (id, started_at, lease_until) VALUES ($1, $2, $3)")
            .bind(self.node.to_string())
            .bind(now.millis())
            .bind(now.millis().saturating_add(millis(lease)))
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query("SELECT organization_id, id FROM chargestations WHERE online = 1 AND node_id IS NULL").fetch_all(&mut *tx).await?;
        let mut unheld = Vec::with_capacity(rows.len());
        for row in &rows {
            let change = Presence::Disconnected { at: now, node: self.node };
            unheld.push(PresenceChange { organization: id_at(row, "organization_id")?, chargestation: id_at(row, "id")?, change });
        }
        let offline = self.apply_presence(&mut tx, &unheld).await?.iter().filter(|a| matches!(a, Ok(crate::Applied::Changed))).count();
        tx.commit().await?;
        Ok(offline)
    }

    /// Extends this node's lease to `lease` from now; `false` if it was no longer on record
    /// (other nodes took it for dead: its chargers were marked offline).
    pub async fn renew_lease(&self, lease: Duration) -> Result<bool, StoreError> {
        let until = self.now().millis().saturating_add(millis(lease));
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE nodes SET lease_until = $1 WHERE id = $2").bind(until).bind(self.node.to_string()).execute(&mut *tx).await?;
        let renewed = done.rows_affected() > 0;
        if !renewed {
            sqlx::query("INSERT INTO nodes (id, started_at, lease_until) VALUES ($1, $2, $3)")
                .bind(self.node.to_string())
                .bind(self.now().millis())
                .bind(until)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(renewed)
    }

    /// Takes this node off record once its connections' ends are recorded.
    pub async fn leave_nodes(&self) -> Result<(), StoreError> {
        let node = self.node.to_string();
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM routed_calls WHERE to_node = $1 OR from_node = $1").bind(node.clone()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM nodes WHERE id = $1").bind(node).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The nodes on record whose lease has not run out, this one included.
    pub async fn live_nodes(&self) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query("SELECT id FROM nodes WHERE lease_until >= $1 ORDER BY id").bind(self.now().millis()).fetch_all(&self.pool).await?;
        rows.iter().map(|row| id_at(row, "id")).collect()
    }

    /// Buries the other nodes whose lease ran out, each claimed by one live node (skipping those
    /// another is burying) in a transaction of its own: the chargers it held go offline, unless
    /// they connected to another node since, its routed calls and its record go. Answers how
    /// many chargers went offline.
    pub async fn bury_dead_nodes(&self) -> Result<usize, StoreError> {
        let mut offline = 0;
        loop {
            let now = self.now();
            let mut tx = self.write().await?;
            // Never itself: a node whose own lease lapsed (a long pause) renews it.
            let sql = format!("SELECT id FROM nodes WHERE lease_until < $1 AND id <> $2 ORDER BY id LIMIT 1{}", self.backend.skip_locked());
            let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now.millis()).bind(self.node.to_string());
            let Some(row) = query.fetch_optional(&mut *tx).await? else {
                return Ok(offline);
            };
            let dead = id_at(&row, "id")?;
            let rows = sqlx::query("SELECT organization_id, id FROM chargestations WHERE node_id = $1").bind(dead.to_string()).fetch_all(&mut *tx).await?;
            let mut held = Vec::with_capacity(rows.len());
            for row in &rows {
                let change = Presence::Disconnected { at: now, node: dead };
                held.push(PresenceChange { organization: id_at(row, "organization_id")?, chargestation: id_at(row, "id")?, change });
            }
            let gone = self.apply_presence(&mut tx, &held).await?.iter().filter(|a| matches!(a, Ok(crate::Applied::Changed))).count();
            sqlx::query("DELETE FROM routed_calls WHERE to_node = $1 OR from_node = $1").bind(dead.to_string()).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM nodes WHERE id = $1").bind(dead.to_string()).execute(&mut *tx).await?;
            tx.commit().await?;
            if gone > 0 {
                tracing::info!(node = %dead, chargestations = gone, "a node's lease ran out: marked offline the chargers it held");
            }
            offline += gone;
        }
    }

    /// The live node the chargestation is online through, if any.
    pub async fn holder_of(&self, cs: Id) -> Result<Option<Id>, StoreError> {
        let row =
            sqlx::query("SELECT c.node_id FROM chargestations c JOIN nodes n ON n.id = c.node_id WHERE c.id = $1 AND c.online = 1 AND n.lease_until >= $2")
                .bind(cs.to_string())
                .bind(self.now().millis())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| id_at(&row, "node_id")).transpose()
    }

    /// Listens for what other nodes tell this one; `None` where there are no other nodes.
    pub async fn inbox(&self) -> Result<Option<Inbox>, StoreError> {
        Ok(self.backend.listen(&self.pool.connect_options(), &channel(self.node)).await?.map(Inbox))
    }

    /// Tells another node something (`Message`).
    pub async fn tell_node(&self, node: Id, message: Message) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        tell(&mut tx, self.backend, node, &message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes a call (a new id) for `to` to send to its charger, and tells it.
    pub async fn route_call(&self, id: Id, to: Id, cs: Id, action: &str, payload: &str, timeout: Duration) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO routed_calls (id, from_node, to_node, chargestation_id, action, payload, timeout_ms, created_at, taken) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
        )
        .bind(id.to_string())
        .bind(self.node.to_string())
        .bind(to.to_string())
        .bind(cs.to_string())
        .bind(action.to_string())
        .bind(payload.to_string())
        .bind(millis(timeout))
        .bind(self.now().millis())
        .execute(&mut *tx)
        .await?;
        tell(&mut tx, self.backend, to, &Message::Call(id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a call routed to this node, once.
    pub async fn take_call(&self, id: Id) -> Result<Option<RoutedCall>, StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "UPDATE routed_calls SET taken = 1 WHERE id = $1 AND to_node = $2 AND taken = 0 \
             RETURNING from_node, chargestation_id, action, payload, timeout_ms",
        )
        .bind(id.to_string())
        .bind(self.node.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RoutedCall {
            from: id_at(&row, "from_node")?,
            chargestation: id_at(&row, "chargestation_id")?,
            action: row.try_get("action")?,
            payload: row.try_get("payload")?,
            timeout: Duration::from_millis(u64::try_from(row.try_get::<i64, _>("timeout_ms")?).unwrap_or(0)),
        }))
    }

    /// Writes the answer to a routed call and tells the node that routed it.
    pub async fn answer_call(&self, id: Id, caller: Id, answer: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE routed_calls SET answer = $1 WHERE id = $2").bind(answer.to_string()).bind(id.to_string()).execute(&mut *tx).await?;
        if done.rows_affected() > 0 {
            tell(&mut tx, self.backend, caller, &Message::Answer(id)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The answer to a call this node routed, if it came; the call is forgotten either way.
    pub async fn collect_answer(&self, id: Id) -> Result<Option<String>, StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("DELETE FROM routed_calls WHERE id = $1 RETURNING answer").bind(id.to_string()).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(row.map(|row| row.try_get::<Option<String>, _>("answer")).transpose()?.flatten())
    }
}
