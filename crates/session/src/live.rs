//! A running session as the node holding its charger keeps it between readings: its facts,
//! updated by each reading, so that pricing it and deciding on it read nothing back.

use domain::Timestamp;
use rust_decimal::Decimal;

use crate::facts::SessionFacts;
use crate::pricing::{self, Progress};

#[derive(Clone, Debug)]
pub struct Live {
    facts: SessionFacts,
}

impl Live {
    /// The session as read from the database (`SessionFacts` of a running session).
    pub fn new(facts: SessionFacts) -> Live {
        Live { facts }
    }

    pub fn facts(&self) -> &SessionFacts {
        &self.facts
    }

    /// Takes an energy register reading stamped `at` by the charger, heard at `now`. A reading
    /// below the last one is a dip (a meter reset or a glitch): it is left out, and `false`.
    pub fn reading(&mut self, at: Timestamp, wh: Decimal, now: Timestamp) -> bool {
        if self.facts.readings.last().is_some_and(|(_, last)| wh < *last) {
            return false;
        }
        // The facts keep the readings in time order, as read from the database.
        let position = self.facts.readings.partition_point(|(t, _)| *t <= at);
        self.facts.readings.insert(position, (at, wh));
        self.facts.last_heard = self.facts.last_heard.max(now);
        true
    }

    /// The session's cost and metrics as of `now`.
    pub fn progress(&mut self, now: Timestamp) -> Progress {
        self.facts.read_at = now;
        pricing::progress(&self.facts)
    }

    /// The facts as of `now`, for session intelligence (`intelligence::decide_on`).
    pub fn at(&mut self, now: Timestamp) -> &SessionFacts {
        self.facts.read_at = now;
        &self.facts
    }

    /// The session's `updatedAt` as stored after this node's last write.
    pub fn stored_at(&mut self, updated_at: Timestamp) {
        self.facts.session.updated_at = updated_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(readings: Vec<(Timestamp, Decimal)>) -> SessionFacts {
        let session: domain::session::Session = serde_json::from_value(serde_json::json!({
            "_id": "000000000000000000000001", "status": "started", "user": null, "token": null,
            "chargestation": "000000000000000000000002", "connector": null, "connector_id": 1, "rate": null, "idTag": "CARD",
            "transactionId": 1, "payment": null, "startedAt": null, "endedAt": null,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .expect("a session");
        let transaction: domain::transaction::Transaction = serde_json::from_value(serde_json::json!({
            "_id": "000000000000000000000003", "chargestation": "000000000000000000000002", "transactionId": 1, "connector_id": 1,
            "idTag": "CARD", "token": null, "session": null, "reservationId": null, "meterStart": 0, "meterStop": null,
            "startedAt": "2026-01-01T00:00:00Z", "stoppedAt": null, "stopReason": null,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .expect("a transaction");
        let t0 = transaction.created_at;
        SessionFacts {
            organization: session.chargestation,
            session,
            transaction,
            rate: None,
            timezone: None,
            readings,
            statuses: Vec::new(),
            stop_latency_s: None,
            last_heard: t0,
            read_at: t0,
        }
    }

    proptest! {
        /// Readings taken one by one give the facts (and so the price) a whole read of the
        /// stored readings gives: in time order, dips left out.
        #[test]
        fn readings_one_by_one_are_the_stored_readings(steps in proptest::collection::vec((0i64..600_000, -50i64..500), 0..40)) {
            let start = Timestamp::from_millis(1_767_225_600_000);
            let mut live = Live::new(facts(Vec::new()));
            let mut stored: Vec<(Timestamp, Decimal)> = Vec::new();
            let mut last = Decimal::ZERO;
            for (offset, delta) in steps {
                let (at, wh) = (Timestamp::from_millis(start.millis() + offset), last + Decimal::from(delta));
                let kept = live.reading(at, wh, at);
                prop_assert_eq!(kept, stored.last().is_none_or(|(_, l)| wh >= *l));
                if kept {
                    stored.push((at, wh));
                    stored.sort_by_key(|(t, _)| *t);
                    last = wh;
                }
            }
            prop_assert_eq!(&live.facts().readings, &stored);
        }
    }
}
