//! ClearCache: the CSMS empties the charger's authorization cache.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    ClearCache: ClearCacheRequest => ClearCacheResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearCacheRequest {}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClearCacheResponse {
    pub status: ClearCacheStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ClearCacheStatus {
    Accepted,
    Rejected,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        round_trip::<ClearCache>(&ClearCacheRequest {}, &ClearCacheResponse { status: ClearCacheStatus::Accepted });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use ClearCacheStatus as S;
        enum_matches_schema(&[S::Accepted, S::Rejected], "ClearCache", Direction::Response, "/properties/status");
    }
}
