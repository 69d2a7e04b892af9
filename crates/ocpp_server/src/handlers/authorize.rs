//! Authorize: may this idTag charge here? A card of a user with a wallet needs the
//! organization's minimum balance too.

use domain::token::Authorization;
use ocpp16::messages::{AuthorizationStatus, AuthorizeRequest, AuthorizeResponse, IdTagInfo};

use super::{Failure, Link};

pub fn id_tag_info(authorization: Authorization) -> IdTagInfo {
    let status = match authorization {
        Authorization::Accepted => AuthorizationStatus::Accepted,
        Authorization::Blocked => AuthorizationStatus::Blocked,
        Authorization::Expired => AuthorizationStatus::Expired,
        Authorization::Invalid => AuthorizationStatus::Invalid,
    };
    IdTagInfo { expiry_date: None, parent_id_tag: None, status }
}

pub async fn handle(link: &mut Link, request: AuthorizeRequest) -> Result<AuthorizeResponse, Failure> {
    let authorization = link.server.store.authorize(link.login.organization, link.login.chargestation, &request.id_tag).await?;
    Ok(AuthorizeResponse { id_tag_info: id_tag_info(authorization) })
}
