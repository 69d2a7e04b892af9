//! `POST /v1.1/rates/{id}/quote`: what a session with this activity would cost under a rate.

use axum::extract::State;
use chrono_tz::Tz;
use domain::Invalid;
use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;
use serde::Deserialize;
use tariff::{Activity, ActivityError, Cost, Period};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody};
use crate::openapi::{BadRequest, NotFound, TooLarge, Unauthorized, Unavailable};

#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    /// At most 10,000 periods spanning at most 31 days, in time order and not overlapping.
    #[schema(max_items = 10000)]
    pub charging_activity: Vec<PeriodInput>,
    /// IANA time zone for times of day and dates in the rate's restrictions; default UTC.
    #[schema(schema_with = timezone_schema)]
    pub timezone: Option<String>,
}

fn timezone_schema() -> RefOr<Schema> {
    domain::schema::or_null(domain::location::timezone_schema())
}

/// A period of the activity; `endTime` is not before `startTime`.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    #[serde(rename = "startTime")]
    pub start: Timestamp,
    #[serde(rename = "endTime")]
    pub end: Timestamp,
    #[schema(value_type = ConnectorStatus)]
    pub status: String,
    /// Energy delivered within the period, Wh.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub energy: Decimal,
    /// Joule paused the session in this period (billed as parking).
    #[serde(default)]
    pub paused: bool,
}

/// More energy than this in one period is a mistake, not a charging session.
const MAX_ENERGY_WH: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// A quote prices at most this many periods, over at most this long, so one request's pricing
/// stays bounded.
const MAX_PERIODS: usize = 10_000;
const MAX_SPAN_DAYS: i64 = 31;

impl QuoteInput {
    fn parse(self) -> Result<(Activity, Tz), Invalid> {
        let tz: Tz = match &self.timezone {
            None => chrono_tz::UTC,
            Some(name) => domain::location::timezone(name)?.parse().map_err(|_| Invalid::new("timezone", "is not an IANA time zone"))?,
        };
        if self.charging_activity.len() > MAX_PERIODS {
            return Err(Invalid::new("charging_activity", format!("must hold at most {MAX_PERIODS} periods")));
        }
        let first_start = self.charging_activity.first().map(|p| p.start.millis());
        let mut periods = Vec::with_capacity(self.charging_activity.len());
        for (i, p) in self.charging_activity.into_iter().enumerate() {
            let field = |name: &str| format!("charging_activity[{i}].{name}");
            let status = ConnectorStatus::parse(&p.status).ok_or_else(|| {
                let known: Vec<&str> = ConnectorStatus::ALL.iter().map(|s| s.as_str()).collect();
                Invalid::new(field("status"), format!("`{}` is not an OCPP 1.6 connector status ({})", p.status, known.join(", ")))
            })?;
            if p.energy > MAX_ENERGY_WH {
                return Err(Invalid::new(field("energy"), format!("must be at most {MAX_ENERGY_WH} Wh")));
            }
            if first_start.is_some_and(|first| p.end.millis().saturating_sub(first) > MAX_SPAN_DAYS * 24 * 3_600_000) {
                return Err(Invalid::new(field("endTime"), format!("must be at most {MAX_SPAN_DAYS} days after the first period's startTime")));
            }
            periods.push(Period { start: p.start, end: p.end, status, paused: p.paused, energy_wh: p.energy });
        }
        let activity = Activity::new(periods).map_err(|e| {
            let i = e.index();
            match e {
                ActivityError::EndsBeforeStart { .. } => Invalid::new(format!("charging_activity[{i}].endTime"), "must not be before startTime"),
                ActivityError::Overlaps { .. } => Invalid::new(
                    format!("charging_activity[{i}].startTime"),
                    "must not be before the previous period's endTime: periods are in time order and do not overlap",
                ),
                ActivityError::NegativeEnergy { .. } => Invalid::new(format!("charging_activity[{i}].energy"), "must be at least 0"),
            }
        })?;
        Ok((activity, tz))
    }
}

/// Prices a session's activity under a rate, exactly as a session's final cost is priced.
#[utoipa::path(post, path = "/v1.1/rates/{id}/quote", tag = "rates",
    params(IdPath), request_body = QuoteInput,
    responses((status = 200, description = "OK", body = Envelope<Cost>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn quote(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(input): JsonBody<QuoteInput>) -> ApiResult {
    let (activity, tz) = input.parse()?;
    let rate = s.store.rate(org, id).await?;
    // Pricing up to 10,000 periods over 31 days is CPU work: off the async workers.
    let priced = tokio::task::spawn_blocking(move || tariff::price(&rate, tz, &activity)).await.map_err(|e| {
        tracing::error!(error = %e, "pricing a quote failed");
        ApiError::unavailable()
    })?;
    ok(priced.map_err(|e| Invalid::new("charging_activity", format!("cannot be priced: {e}")))?)
}
