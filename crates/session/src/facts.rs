//! What Joule knows about a session whose charger started its transaction: everything pricing
//! it and deciding on it need, read together.

use domain::connector::ConnectorStatus;
use domain::rate::Rate;
use domain::session::Session;
use domain::transaction::Transaction;
use domain::{Id, Timestamp};
use rust_decimal::Decimal;

#[derive(Clone, Debug)]
pub struct SessionFacts {
    pub organization: Id,
    pub session: Session,
    pub transaction: Transaction,
    pub rate: Option<Rate>,
    /// The IANA time zone of the chargestation's location, if it has one.
    pub timezone: Option<String>,
    /// Energy register readings of the transaction, in time order, Wh.
    pub readings: Vec<(Timestamp, Decimal)>,
    /// The connector's reported statuses, in time order: the last one before the transaction
    /// started, then those up to its stop.
    pub statuses: Vec<(Timestamp, ConnectorStatus)>,
    /// How long the chargestation took to stop a session after Joule asked, as learned so far.
    pub stop_latency_s: Option<u32>,
    /// When Joule last heard the charger about the session (its StartTransaction or a stored
    /// reading), on Joule's clock.
    pub last_heard: Timestamp,
    /// Joule's time when these facts were read: a running session is known up to it.
    pub read_at: Timestamp,
}
