//! Cards at the charger (SPEC 5, card sessions): what Authorize answers for a token, and the
//! session a card's StartTransaction starts, paid from its user's wallet when the user has one.
//! The decision is `session::start`'s; this places the hold and writes the session, its
//! payment and its events in the StartTransaction's database transaction.

use domain::connector::Connector;
use domain::event::NewEvent;
use domain::ledger::Movement;
use domain::payment::Payment;
use domain::rate::Rate;
use domain::session::{Session, SessionStatus};
use domain::token::{Authorization, CardRefused, Token};
use domain::transaction::Transaction;
use domain::wallet::Wallet;
use domain::{Id, Timestamp};
use session::start::{self, CardStart, Refusal, WalletCheck};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::wallets::{WALLET_COLUMNS, wallet_from_row};
use crate::{Store, StoreError, documents, sessions};

/// What a card's StartTransaction started.
pub(crate) struct CardStarted {
    /// The session, token-paid or wallet-paid; none when the card was refused.
    pub session: Option<Session>,
    pub events: Vec<NewEvent>,
    /// The charger is answered `Blocked`.
    pub blocked: bool,
}

impl Store {
    /// Authorize: what the charger is told about an idTag. An accepted card of a user with a
    /// wallet is `Blocked` when the wallet is below the organization's minimum balance, with a
    /// `session.start_failure` event saying so.
    pub async fn authorize(&self, org: Id, cs: Id, id_tag: &str) -> Result<Authorization, StoreError> {
        let (authorization, token) = self.identify(org, cs, id_tag).await?;
        let Some((token, user)) = token.filter(|_| authorization == Authorization::Accepted).and_then(|t| t.user.map(|u| (t, u))) else {
            return Ok(authorization);
        };
        let Some(wallet) = self.wallet_of_user(org, user).await? else { return Ok(authorization) };
        let minimum = sessions::organization(&mut *self.pool.acquire().await?, org).await?.configurations.session.minimum_balance;
        let Some(refusal) = start::authorize_refusal(wallet.available_balance, minimum) else { return Ok(authorization) };
        let mut tx = self.write().await?;
        let refused = self.card_refused(&token, &wallet, cs, None, refusal);
        self.record(&mut tx, org, vec![refused]).await?;
        tx.commit().await?;
        Ok(Authorization::Blocked)
    }

    /// The session an accepted `token`'s StartTransaction starts as `transaction`, on
    /// `connector` if Joule knows it: SPEC 5's checks for a card of a user with a
    /// wallet, the hold on the wallet, the session and its payment; a token session without
    /// payment otherwise. In the caller's transaction, the wallet's row locked.
    pub(crate) async fn start_card(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        token: &Token,
        transaction: &Transaction,
        connector: Option<&Connector>,
    ) -> Result<CardStarted, StoreError> {
        let (cs, transaction_id) = (transaction.chargestation, transaction.transaction_id);
        let now = self.now();
        let mut session = Session {
            id: self.new_id(),
            kind: None,
            status: SessionStatus::Started,
            user: token.user,
            token: Some(token.id),
            chargestation: cs,
            connector: connector.map(|c| c.id),
            connector_id: transaction.connector_id,
            rate: connector.and_then(|c| c.rate),
            id_tag: transaction.id_tag.clone(),
            transaction_id: Some(transaction_id),
            payment: None,
            target: None,
            stop_requested: None,
            pauses: Vec::new(),
            cost: None,
            metrics: None,
            started_at: Some(transaction.started_at),
            ended_at: None,
            ended_by: None,
            created_at: now,
            updated_at: now,
        };
        let wallet = match token.user {
            Some(user) => self.locked_wallet_of(conn, org, user).await?,
            None => None,
        };
        let mut card_target = None;
        let decision = match &wallet {
            Some(wallet) => {
                let configuration = sessions::organization(conn, org).await?.configurations.session;
                card_target = Some(configuration.card_target());
                let minimum = configuration.minimum_balance;
                let rate_currency = match session.rate {
                    Some(rate) => Some(documents::fetch::<Rate>(conn, org, rate).await?.currency),
                    None => None,
                };
                let offline = self.started_offline(conn, cs, transaction.started_at).await?;
                start::card_start(Some(&WalletCheck::of(wallet, minimum, rate_currency)), offline)
            }
            None => start::card_start(None, false),
        };
        let mut events = Vec::new();
        if let (CardStart::Wallet { hold, .. }, Some(wallet)) = (decision, &wallet) {
            let (after, _) = self.move_locked_wallet(conn, org, wallet, Movement::Hold(hold), None).await?;
            let payment = Payment::authorize_card(self.new_id(), session.id, wallet.id, hold, wallet.currency, now);
            session.kind = Some("wallet".into());
            session.target = card_target;
            events.push(NewEvent::of("payment", "created", &payment).for_chargestation(cs));
            events.push(NewEvent::of("payment", "authorized", &payment).for_chargestation(cs));
            events.push(NewEvent::of("wallet", "updated", &after).for_chargestation(cs));
            session.payment = Some(payment);
        }
        let session = match decision {
            CardStart::Refused(_) => None,
            CardStart::Plain | CardStart::Wallet { .. } => {
                documents::insert(conn, org, &session).await?;
                events.insert(0, NewEvent::of("session", "created", &session).for_chargestation(cs));
                events.push(NewEvent::of("session", "started", &session).for_chargestation(cs));
                Some(session)
            }
        };
        if let (Some(refusal), Some(wallet)) = (decision.refusal(), &wallet) {
            events.push(self.card_refused(token, wallet, cs, Some((transaction.connector_id, transaction_id)), refusal));
        }
        Ok(CardStarted { session, events, blocked: !decision.accepted() })
    }

    /// The user's wallet, locked until the transaction ends: two cards of one user take turns.
    async fn locked_wallet_of(&self, conn: &mut AnyConnection, org: Id, user: Id) -> Result<Option<Wallet>, StoreError> {
        let sql = format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE user_id = $1 AND organization_id = $2{}", self.backend.lock_in_turn());
        let row = sqlx::query(AssertSqlSafe(sql)).bind(user.to_string()).bind(org.to_string()).fetch_optional(conn).await?;
        row.as_ref().map(wallet_from_row).transpose()
    }

    /// Whether the charger started at `started_at` (by its clock) before its current connection
    /// began: while offline, where nobody could refuse the card.
    async fn started_offline(&self, conn: &mut AnyConnection, cs: Id, started_at: Timestamp) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT last_connect_at FROM chargestations WHERE id = $1").bind(cs.to_string()).fetch_optional(conn).await?;
        let connected_at: Option<i64> = row.map(|r| r.try_get("last_connect_at")).transpose()?.flatten();
        Ok(connected_at.is_some_and(|at| started_at.millis() < at))
    }

    /// `session.start_failure` for a refused card, at Authorize or at a StartTransaction
    /// (its connector and transaction).
    fn card_refused(&self, token: &Token, wallet: &Wallet, cs: Id, started: Option<(u32, i64)>, refusal: Refusal) -> NewEvent {
        let refused = CardRefused {
            token: token.id,
            id_tag: token.physical_id.clone(),
            user: wallet.user,
            wallet: wallet.id,
            chargestation: cs,
            connector_id: started.map(|s| s.0),
            transaction_id: started.map(|s| s.1),
            message: refusal.message().into(),
            created_at: self.now(),
        };
        NewEvent::of("session", "start_failure", &refused).for_chargestation(cs)
    }
}
