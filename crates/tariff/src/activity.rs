//! A session's activity: what the connector did, period by period.

use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;

/// One stretch of a session with one connector status.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: ConnectorStatus,
    /// Joule suspended the charging (a pause through the API): billed as parking.
    pub paused: bool,
    /// Energy delivered within the period, in Wh.
    pub energy_wh: Decimal,
}

/// What a period counts as for TIME and PARKING_TIME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    Charging,
    Parking,
    /// Neither charging nor parking: the operator's load management (SuspendedEVSE that Joule
    /// did not cause), or a connector not in use.
    Neither,
}

impl Period {
    pub fn usage(&self) -> Use {
        if self.paused {
            return Use::Parking;
        }
        match self.status {
            ConnectorStatus::Charging => Use::Charging,
            ConnectorStatus::SuspendedEV | ConnectorStatus::Finishing => Use::Parking,
            _ => Use::Neither,
        }
    }

    pub fn duration_ms(&self) -> i64 {
        self.end.millis().saturating_sub(self.start.millis())
    }

    /// Whether the period can follow one that ends at `previous_end`, as period `index`.
    pub(crate) fn check(&self, index: usize, previous_end: Option<Timestamp>) -> Result<(), ActivityError> {
        if self.end < self.start {
            return Err(ActivityError::EndsBeforeStart { index });
        }
        if self.energy_wh < Decimal::ZERO {
            return Err(ActivityError::NegativeEnergy { index });
        }
        if previous_end.is_some_and(|end| self.start < end) {
            return Err(ActivityError::Overlaps { index });
        }
        Ok(())
    }
}

/// Why an activity cannot be priced. `index` is the offending period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    #[error("period {index} ends before it starts")]
    EndsBeforeStart { index: usize },
    #[error("period {index} starts before the previous period ends")]
    Overlaps { index: usize },
    #[error("period {index} has negative energy")]
    NegativeEnergy { index: usize },
}

impl ActivityError {
    pub fn index(&self) -> usize {
        match self {
            ActivityError::EndsBeforeStart { index } | ActivityError::Overlaps { index } | ActivityError::NegativeEnergy { index } => *index,
        }
    }
}

/// Periods in time order that do not overlap, each with non-negative energy. Gaps are allowed:
/// nothing happened then.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Activity(Vec<Period>);

impl Activity {
    pub fn new(periods: Vec<Period>) -> Result<Activity, ActivityError> {
        for (index, p) in periods.iter().enumerate() {
            p.check(index, index.checked_sub(1).map(|i| periods[i].end))?;
        }
        Ok(Activity(periods))
    }

    pub fn periods(&self) -> &[Period] {
        &self.0
    }

    pub fn start(&self) -> Option<Timestamp> {
        self.0.first().map(|p| p.start)
    }

    pub fn end(&self) -> Option<Timestamp> {
        self.0.last().map(|p| p.end)
    }

    /// The same activity followed by `period`, if it keeps the rules.
    pub fn then(&self, period: Period) -> Result<Activity, ActivityError> {
        let mut periods = self.0.clone();
        periods.push(period);
        Activity::new(periods)
    }
}
