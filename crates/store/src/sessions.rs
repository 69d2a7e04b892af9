//! Sessions started through the API: the checks, the hold on the wallet and the events, in one
//! transaction; their cancellation when the charger does not start them, and their end without
//! the charger.

use domain::connector::{Connector, ConnectorStatus};
use domain::event::NewEvent;
use domain::ledger::{LedgerError, Movement};
use domain::organization::Organization;
use domain::payment::{Payment, PaymentStatus};
use domain::rate::Rate;
use domain::session::{EndedBy, NewSession, Pause, Session, SessionStatus, id_tag};
use domain::wallet::Wallet;
use domain::{Cents, Id};
use session::lifecycle::{self, Happening};
use session::start::{self, WalletCheck};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::documents;
use crate::wallets::{WALLET_COLUMNS, wallet_from_row};
use crate::{Store, StoreError};

fn refused(message: &str) -> StoreError {
    StoreError::Refused(message.to_string())
}

pub(crate) async fn organization(conn: &mut AnyConnection, org: Id) -> Result<Organization, StoreError> {
    let row = sqlx::query("SELECT data FROM organizations WHERE id = $1").bind(org.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(documents::from_row).transpose()?.ok_or(StoreError::NotFound("organization"))
}

async fn busy(conn: &mut AnyConnection, connector: Id) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT id FROM sessions WHERE connector_ref = $1 AND status IN ('created', 'started', 'paused') LIMIT 1")
        .bind(connector.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

fn available(connector: &Connector) -> bool {
    !matches!(connector.status, ConnectorStatus::Unavailable | ConnectorStatus::Faulted)
}

/// A start whose checks passed: the connector, and for a wallet session the wallet as read in
/// the start's transaction (locked on PostgreSQL).
struct Startable {
    connector: Connector,
    wallet: Option<Wallet>,
}

/// What a wallet start checks, read together (`Store::wallet_start`).
struct WalletStart {
    connector: Connector,
    wallet: Wallet,
    user_found: bool,
    organization: Organization,
    rate: Option<Rate>,
    online: bool,
    busy: bool,
}

impl WalletStart {
    /// The checks in SPEC order, as `Store::startable` makes them one read at a time.
    fn check(self) -> Result<Startable, StoreError> {
        if !self.user_found {
            return Err(StoreError::NotFound("user"));
        }
        let rate_currency = match (self.connector.rate, &self.rate) {
            (None, _) => None,
            (Some(_), Some(rate)) => Some(rate.currency),
            (Some(_), None) => return Err(StoreError::NotFound("rate")),
        };
        let minimum_balance = self.organization.configurations.session.minimum_balance;
        if let Some(r) = start::refusal(&WalletCheck::of(&self.wallet, minimum_balance, rate_currency)) {
            return Err(refused(r.message()));
        }
        if !self.online {
            return Err(StoreError::Conflict("Chargestation is offline".into()));
        }
        if !available(&self.connector) || self.busy {
            return Err(StoreError::Conflict("Connector is not available".into()));
        }
        Ok(Startable { connector: self.connector, wallet: Some(self.wallet) })
    }
}

impl Store {
    /// Starts a session on a connector, in SPEC order: unknown connector or user (404); for a
    /// wallet session no wallet, a balance under the organization's minimum, no rate or another
    /// currency (405); an offline chargestation or a busy connector (409). A wallet session
    /// holds the wallet's whole available balance. Nothing is written unless all checks pass.
    pub async fn start_session(&self, org: Id, new: &NewSession) -> Result<Session, StoreError> {
        let mut tx = self.write().await?;
        let wallet_start = match new.user.filter(|_| new.wallet) {
            Some(user) => self.wallet_start(&mut tx, org, new.connector, user).await?,
            None => None,
        };
        let Startable { connector, wallet } = match wallet_start {
            Some(read) => read.check()?,
            None => self.startable(&mut tx, org, new).await?,
        };
        let now = self.now();
        let id = self.new_id();
        let mut events = Vec::new();
        let mut payment = None;
        if let Some(wallet) = wallet {
            let held = wallet.available_balance;
            let (after, _) = self.move_locked_wallet(&mut tx, org, &wallet, Movement::Hold(held), None).await.map_err(|e| match e {
                StoreError::Ledger(LedgerError::InsufficientFunds) => refused("User does not have minimum balance"),
                e => e,
            })?;
            let authorized = Payment::authorize(self.new_id(), id, wallet.id, held, wallet.currency, now);
            events.push(NewEvent::of("payment", "created", &authorized).for_chargestation(connector.chargestation));
            events.push(NewEvent::of("payment", "authorized", &authorized).for_chargestation(connector.chargestation));
            // The session's own story: ordered with its chargestation's other events.
            events.push(NewEvent::of("wallet", "updated", &after).for_chargestation(connector.chargestation));
            payment = Some(authorized);
        }
        let session = Session {
            id,
            kind: new.wallet.then(|| "wallet".to_string()),
            status: SessionStatus::Created,
            user: new.user,
            token: None,
            chargestation: connector.chargestation,
            connector: Some(connector.id),
            connector_id: connector.connector_id,
            rate: connector.rate,
            id_tag: id_tag(id),
            transaction_id: None,
            payment,
            target: Some(new.target),
            stop_requested: None,
            pauses: Vec::new(),
            cost: None,
            metrics: None,
            started_at: None,
            ended_at: None,
            ended_by: None,
            created_at: now,
            updated_at: now,
        };
        documents::insert(&mut tx, org, &session).await?;
        events.insert(0, NewEvent::of("session", "created", &session).for_chargestation(session.chargestation));
        self.record(&mut tx, org, events).await?;
        self.answer(&mut tx, &session).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// What a wallet start checks, in one statement inside the write transaction: the connector
    /// and the wallet, the user, the organization, the connector's rate, its chargestation's
    /// online flag and its running sessions. `None` when the connector or the wallet is not
    /// found: `startable` then tells which.
    async fn wallet_start(&self, conn: &mut AnyConnection, org: Id, connector: Id, user: Id) -> Result<Option<WalletStart>, StoreError> {
        let lock = self.backend.lock_in_turn();
        if !lock.is_empty() {
            // The connector and the wallet are locked by a statement of their own: one that
            // waited for a lock reads the rest as it was before it waited, and would not see
            // the session a concurrent start just committed.
            let sql = format!(
                "SELECT c.id FROM connectors c JOIN wallets w ON w.user_id = $3 AND w.organization_id = $2 WHERE c.id = $1 AND c.organization_id = $2{lock}"
            );
            sqlx::query(AssertSqlSafe(sql)).bind(connector.to_string()).bind(org.to_string()).bind(user.to_string()).fetch_optional(&mut *conn).await?;
        }
        let sql = format!(
            "SELECT c.data, {}, \
             (SELECT COUNT(*) FROM users WHERE id = $3 AND organization_id = $2) AS users, \
             (SELECT data FROM organizations WHERE id = $2) AS organization, \
             (SELECT data FROM rates WHERE id = c.rate_id AND organization_id = $2) AS rate, \
             (SELECT online FROM chargestations WHERE id = c.chargestation_id AND organization_id = $2) AS online, \
             (SELECT COUNT(*) FROM sessions WHERE connector_ref = c.id AND status IN ('created', 'started', 'paused')) AS busy \
             FROM connectors c JOIN wallets w ON w.user_id = $3 AND w.organization_id = $2 \
             WHERE c.id = $1 AND c.organization_id = $2",
            WALLET_COLUMNS.split(", ").map(|c| format!("w.{c}")).collect::<Vec<_>>().join(", ")
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(connector.to_string()).bind(org.to_string()).bind(user.to_string()).fetch_optional(conn).await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(WalletStart {
            connector: documents::from_row(&row)?,
            wallet: wallet_from_row(&row)?,
            user_found: row.try_get::<i64, _>("users")? > 0,
            organization: documents::from_column(&row, "organization")?.ok_or(StoreError::NotFound("organization"))?,
            rate: documents::from_column(&row, "rate")?,
            online: row.try_get::<Option<i64>, _>("online")?.unwrap_or(0) != 0,
            busy: row.try_get::<i64, _>("busy")? > 0,
        }))
    }

    /// The checks of a start one read at a time: for a session without payment, and to tell
    /// which of a wallet start's connector, user and wallet is missing.
    async fn startable(&self, conn: &mut AnyConnection, org: Id, new: &NewSession) -> Result<Startable, StoreError> {
        // Locked: two starts on one connector take turns, so the second sees the first busy.
        let connector: Connector = documents::fetch_to_change(&mut *conn, self.backend, org, new.connector).await?;
        if let Some(user) = new.user
            && !documents::exists(&mut *conn, "users", org, user).await?
        {
            return Err(StoreError::NotFound("user"));
        }
        if !new.wallet {
            self.check_startable(conn, org, &connector).await?;
            return Ok(Startable { connector, wallet: None });
        }
        let user = new.user.ok_or(StoreError::NotFound("user"))?;
        let sql = format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE user_id = $1 AND organization_id = $2{}", self.backend.lock_in_turn());
        let row = sqlx::query(AssertSqlSafe(sql)).bind(user.to_string()).bind(org.to_string()).fetch_optional(&mut *conn).await?;
        let wallet = row.as_ref().map(wallet_from_row).transpose()?.ok_or_else(|| refused("User does not have a wallet"))?;
        let minimum_balance = organization(&mut *conn, org).await?.configurations.session.minimum_balance;
        let rate_currency = match connector.rate {
            Some(rate) => Some(documents::fetch::<Rate>(&mut *conn, org, rate).await?.currency),
            None => None,
        };
        if let Some(r) = start::refusal(&WalletCheck::of(&wallet, minimum_balance, rate_currency)) {
            return Err(refused(r.message()));
        }
        self.check_startable(conn, org, &connector).await?;
        Ok(Startable { connector, wallet: Some(wallet) })
    }

    async fn check_startable(&self, conn: &mut AnyConnection, org: Id, connector: &Connector) -> Result<(), StoreError> {
        let online: i64 = sqlx::query("SELECT online FROM chargestations WHERE id = $1 AND organization_id = $2")
            .bind(connector.chargestation.to_string())
            .bind(org.to_string())
            .fetch_one(&mut *conn)
            .await?
            .try_get("online")?;
        if online == 0 {
            return Err(StoreError::Conflict("Chargestation is offline".into()));
        }
        if !available(connector) || busy(conn, connector.id).await? {
            return Err(StoreError::Conflict("Connector is not available".into()));
        }
        Ok(())
    }

    /// Cancels a session the charger did not start: the payment is canceled and its hold
    /// released. `start_failure` says the charger refused (rather than never started it).
    /// A session that is no longer waiting to start is left as it is.
    pub async fn cancel_session(&self, org: Id, id: Id, start_failure: bool) -> Result<Session, StoreError> {
        let mut tx = self.write().await?;
        let session: Session = documents::fetch_to_change(&mut tx, self.backend, org, id).await?;
        if session.status != SessionStatus::Created {
            tx.commit().await?;
            return Ok(session);
        }
        let (session, events) = self.cancel_in(&mut tx, org, session, Happening::StartFailed, start_failure).await?;
        self.record(&mut tx, org, events).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Ends a session without its charger (SPEC's soft end), `by` the operator or Joule: a
    /// started or paused one ends from the readings stored so far, priced and settled
    /// as a StopTransaction would settle it; one the charger never started is cancelled as in
    /// the start timeout. Either way its connector is free at once. An ended or cancelled
    /// session is a `Conflict`.
    pub async fn end_without_charger(&self, org: Id, id: Id, by: EndedBy) -> Result<Session, StoreError> {
        let mut tx = self.write().await?;
        let session: Session = documents::fetch_to_change(&mut tx, self.backend, org, id).await?;
        let (session, events) = match lifecycle::next(session.status, Happening::EndedWithoutCharger) {
            Ok(SessionStatus::Cancelled) => self.cancel_in(&mut tx, org, session, Happening::EndedWithoutCharger, false).await?,
            Ok(_) => self.end_session(&mut tx, org, session, self.now(), by).await?,
            Err(_) => return Err(StoreError::Conflict(format!("Session is {}, not running", session.status.as_str()))),
        };
        self.record(&mut tx, org, events).await?;
        self.answer(&mut tx, &session).await?;
        tx.commit().await?;
        Ok(session)
    }

    async fn cancel_in(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        mut session: Session,
        happening: Happening,
        start_failure: bool,
    ) -> Result<(Session, Vec<NewEvent>), StoreError> {
        let status = lifecycle::next(session.status, happening).map_err(|refused| StoreError::Conflict(refused.to_string()))?;
        let now = self.now();
        let cs = session.chargestation;
        let mut events = Vec::new();
        if start_failure {
            events.push(NewEvent::of("session", "start_failure", &session).for_chargestation(cs));
        }
        session.status = status;
        session.updated_at = now;
        let mut released = None;
        if let Some(payment) = session.payment.as_mut() {
            let held = payment.held();
            payment.status = PaymentStatus::Canceled;
            payment.updated_at = now;
            released = Some((payment.wallet, held));
        }
        documents::replace(&mut *conn, org, &session).await?;
        events.push(NewEvent::of("session", "cancelled", &session).for_chargestation(cs));
        if let (Some(payment), Some((wallet, held))) = (&session.payment, released) {
            let (after, _) = self.move_wallet(&mut *conn, org, wallet, Movement::Release(held), None).await?;
            events.push(NewEvent::of("payment", "canceled", payment).for_chargestation(cs));
            events.push(NewEvent::of("wallet", "updated", &after).for_chargestation(cs));
        }
        Ok((session, events))
    }

    /// Records that the charger accepted a pause (`paused`) or its removal: the status moves
    /// and the pause interval opens or closes. A session no longer in the expected state is a
    /// `Conflict`.
    pub async fn pause_or_resume(&self, org: Id, id: Id, paused: bool) -> Result<Session, StoreError> {
        let mut tx = self.write().await?;
        let mut session: Session = documents::fetch_to_change(&mut tx, self.backend, org, id).await?;
        let now = self.now();
        let (from, to, action) =
            if paused { (SessionStatus::Started, SessionStatus::Paused, "paused") } else { (SessionStatus::Paused, SessionStatus::Started, "resumed") };
        if session.status != from {
            return Err(StoreError::Conflict(format!("Session is {}, not {}", session.status.as_str(), from.as_str())));
        }
        session.status = to;
        if paused {
            session.pauses.push(Pause { start: now, end: None });
        } else if let Some(open) = session.pauses.last_mut() {
            open.end = Some(now);
        }
        session.updated_at = now;
        documents::replace(&mut tx, org, &session).await?;
        self.record(&mut tx, org, vec![NewEvent::of("session", action, &session).for_chargestation(session.chargestation)]).await?;
        self.answer(&mut tx, &session).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The cents held on a wallet by its sessions; `balance − available_balance` equals it.
    pub async fn held_on_wallet(&self, wallet: Id) -> Result<Cents, StoreError> {
        let sum: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(held_cents) AS BIGINT) FROM sessions WHERE wallet_id = $1")
            .bind(wallet.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(Cents(sum.unwrap_or(0)))
    }
}
