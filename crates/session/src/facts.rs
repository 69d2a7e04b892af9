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
    /// Energy register readings of the transaction (Wh), each at the time it counts at
    /// ([`counts_at`]); in that order, readings of one time by their value.
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

/// When a reading the charger stamped `stamped` counts, received by Joule at `received`: at its
/// stamp, or when Joule received it if the charger's clock is ahead of Joule's. A reading cannot
/// come from Joule's future (SPEC 13), and it stays where it was first counted.
pub fn counts_at(stamped: Timestamp, received: Timestamp) -> Timestamp {
    stamped.min(received)
}

impl SessionFacts {
    /// Adds a reading stamped `stamped`, received at `received`, in its place.
    pub fn add_reading(&mut self, stamped: Timestamp, wh: Decimal, received: Timestamp) {
        let reading = (counts_at(stamped, received), wh);
        let position = self.readings.partition_point(|r| *r <= reading);
        self.readings.insert(position, reading);
    }
}

/// Readings (time, Wh) in the order `SessionFacts::readings` keeps them.
pub fn in_order(readings: &mut [(Timestamp, Decimal)]) {
    readings.sort_unstable();
}
