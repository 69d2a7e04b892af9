//! DataTransfer: Joule knows no vendor extensions yet, and says so without an error.

use ocpp16::messages::{DataTransferRequest, DataTransferResponse, DataTransferStatus};

use super::Failure;

pub fn handle(request: DataTransferRequest) -> Result<DataTransferResponse, Failure> {
    tracing::debug!(vendor = %request.vendor_id, "DataTransfer from an unknown vendor");
    Ok(DataTransferResponse { status: DataTransferStatus::UnknownVendorId, data: None })
}
