//! GetDiagnostics: the CSMS asks the charger to upload a diagnostics file to `location`.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// CSMS → charger.
    GetDiagnostics: GetDiagnosticsRequest => GetDiagnosticsResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetDiagnosticsRequest {
    /// A URI (the schema checks its form), typically FTP(S) or HTTP(S).
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// Seconds between retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_time: Option<Timestamp>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetDiagnosticsResponse {
    /// Absent when there is nothing to upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{round_trip, ts};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = GetDiagnosticsRequest {
            location: "ftp://diagnostics.example.com/uploads/".into(),
            retries: Some(3),
            retry_interval: Some(60),
            start_time: Some(ts("2024-05-01T00:00:00Z")),
            stop_time: Some(ts("2024-05-02T00:00:00Z")),
        };
        let response = GetDiagnosticsResponse { file_name: Some("diag-2024-05-01.tar.gz".into()) };
        round_trip::<GetDiagnostics>(&request, &response);
        round_trip::<GetDiagnostics>(&request, &GetDiagnosticsResponse::default());
    }
}
