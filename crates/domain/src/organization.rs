//! Organizations: the tenants. Every other resource belongs to exactly one.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::country::Country;
use crate::invalid::text;
use crate::session::{DEFAULT_TIME_TARGET_MINUTES, Target};
use crate::stripe::{StripeChange, StripeInput};
use crate::user::nullable;
use crate::{Cents, Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Organization {
    #[serde(rename = "_id")]
    pub id: Id,
    pub name: String,
    pub country: Country,
    pub configurations: Configurations,
    pub stripe: StripeStatus,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, ToSchema)]
pub struct Configurations {
    pub session: SessionConfiguration,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, ToSchema)]
pub struct SessionConfiguration {
    /// The available balance a wallet needs to start a session, in cents.
    pub minimum_balance: Cents,
    /// The target of wallet sessions started with a card at the charger, which cannot name
    /// one; without it they stop after 12 hours, as an API start without a target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_target: Option<Target>,
}

impl SessionConfiguration {
    /// The target a card's wallet session starts with.
    pub fn card_target(&self) -> Target {
        self.card_target.unwrap_or(Target { time: Some(DEFAULT_TIME_TARGET_MINUTES), ..Target::default() })
    }
}

impl Default for Configurations {
    fn default() -> Self {
        Configurations { session: SessionConfiguration { minimum_balance: Cents(2000), card_target: None } }
    }
}

/// Whether the organization's Stripe keys are set; the keys themselves are never shown.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default, ToSchema)]
pub struct StripeStatus {
    /// Both the secret key and the webhook signing secret are set: top-ups can be made.
    pub configured: bool,
}

impl Organization {
    /// Wallets (and so wallet sessions and top-ups) exist only for US organizations.
    pub fn allows_wallets(&self) -> bool {
        self.country == Country::US
    }
}

/// `POST /v1.1/organizations`.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(value_type = Option<Country>)]
    pub country: Option<String>,
    pub configurations: Option<ConfigurationsInput>,
}

#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationsInput {
    pub session: Option<SessionConfigurationInput>,
}

#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionConfigurationInput {
    /// The available balance a wallet needs to start a session, in cents.
    #[schema(minimum = 0)]
    pub minimum_balance: Option<i64>,
    /// The target of wallet sessions started with a card; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Target>)]
    pub card_target: Option<Option<Target>>,
}

/// `PATCH /v1.1/organization`: only the fields present change.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(value_type = Option<Country>)]
    pub country: Option<String>,
    pub configurations: Option<ConfigurationsInput>,
    /// Write-only Stripe keys: `{secret_key, webhook_secret}`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<StripeInput>)]
    pub stripe: Option<StripeInput>,
}

/// A present field, even `null`, is `Some`: `stripe: null` removes the keys.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StripeInput>, D::Error> {
    StripeInput::deserialize(d).map(Some)
}

/// What `PATCH /v1.1/organization` changes: the organization, and its Stripe keys if given.
/// The store sets `stripe.configured` from the keys it holds once the change is applied.
#[derive(Debug)]
pub struct OrganizationUpdate {
    pub organization: Organization,
    pub stripe: Option<StripeChange>,
}

fn country(value: &str) -> Result<Country, Invalid> {
    Country::parse(value).ok_or_else(|| Invalid::new("country", "must be an ISO 3166-1 alpha-2 country code such as \"US\""))
}

fn apply_configurations(mut current: Configurations, input: ConfigurationsInput) -> Result<Configurations, Invalid> {
    let Some(session) = input.session else { return Ok(current) };
    if let Some(minimum) = session.minimum_balance {
        if minimum < 0 {
            return Err(Invalid::new("configurations.session.minimum_balance", "must be a non-negative integer number of cents"));
        }
        current.session.minimum_balance = Cents(minimum);
    }
    if let Some(target) = session.card_target {
        current.session.card_target = target.map(|t| t.bounded("configurations.session.card_target")).transpose()?;
    }
    Ok(current)
}

impl OrganizationInput {
    pub fn parse(self, id: Id, now: Timestamp) -> Result<Organization, Invalid> {
        Ok(Organization {
            id,
            name: text("name", &self.name, 200)?,
            country: self.country.as_deref().map(country).transpose()?.unwrap_or(Country::US),
            configurations: apply_configurations(Configurations::default(), self.configurations.unwrap_or_default())?,
            stripe: StripeStatus::default(),
            created_at: now,
            updated_at: now,
        })
    }
}

impl OrganizationPatch {
    pub fn apply(self, current: &Organization, now: Timestamp) -> Result<OrganizationUpdate, Invalid> {
        let mut next = current.clone();
        if let Some(name) = &self.name {
            next.name = text("name", name, 200)?;
        }
        if let Some(c) = &self.country {
            next.country = country(c)?;
        }
        if let Some(c) = self.configurations {
            next.configurations = apply_configurations(next.configurations, c)?;
        }
        let stripe = self.stripe.map(StripeInput::parse).transpose()?;
        next.updated_at = now;
        Ok(OrganizationUpdate { organization: next, stripe })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> OrganizationInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_to_us_and_a_2000_cent_minimum() {
        let org = input(r#"{"name":" Acme "}"#).parse(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0)).unwrap();
        assert_eq!(org.name, "Acme");
        assert_eq!(org.country, Country::US);
        assert_eq!(org.configurations.session.minimum_balance, Cents(2000));
        assert!(org.allows_wallets());
    }

    #[test]
    fn names_the_bad_field() {
        let id = Id::from_parts(1, [0; 5], 1);
        let now = Timestamp::from_millis(0);
        assert_eq!(input(r#"{"name":"A","country":"ZZ"}"#).parse(id, now).unwrap_err().field, "country");
        assert_eq!(input(r#"{"name":""}"#).parse(id, now).unwrap_err().field, "name");
        let negative = input(r#"{"name":"A","configurations":{"session":{"minimum_balance":-1}}}"#);
        assert_eq!(negative.parse(id, now).unwrap_err().field, "configurations.session.minimum_balance");
        let endless = input(r#"{"name":"A","configurations":{"session":{"card_target":{"time":10081}}}}"#);
        assert_eq!(endless.parse(id, now).unwrap_err().field, "configurations.session.card_target.time");
    }

    #[test]
    fn a_card_target_is_set_bounded_and_removed_with_null() {
        let org = input(r#"{"name":"A","configurations":{"session":{"card_target":{"energy":30}}}}"#)
            .parse(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0))
            .unwrap();
        let target = org.configurations.session.card_target();
        assert_eq!((target.energy, target.time), (Some(30.into()), Some(DEFAULT_TIME_TARGET_MINUTES)));
        let patch = |json: &str| serde_json::from_str::<OrganizationPatch>(json).unwrap().apply(&org, Timestamp::from_millis(1)).unwrap().organization;
        let kept = patch(r#"{"configurations":{"session":{"minimum_balance":500}}}"#);
        assert_eq!(kept.configurations.session.card_target, org.configurations.session.card_target);
        let removed = patch(r#"{"configurations":{"session":{"card_target":null}}}"#);
        assert_eq!(removed.configurations.session.card_target(), Target { time: Some(DEFAULT_TIME_TARGET_MINUTES), ..Target::default() });
    }

    #[test]
    fn stripe_keys_are_patched_only_when_named_and_null_removes_them() {
        let org = input(r#"{"name":"A"}"#).parse(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0)).unwrap();
        let patch = |json: &str| serde_json::from_str::<OrganizationPatch>(json).unwrap().apply(&org, Timestamp::from_millis(1));
        assert!(patch(r#"{"name":"B"}"#).unwrap().stripe.is_none());
        let set = patch(r#"{"stripe":{"secret_key":"sk_test_123456789"}}"#).unwrap().stripe.unwrap();
        assert!(matches!(set.secret_key, crate::stripe::Change::Set(_)) && set.webhook_secret == crate::stripe::Change::Keep);
        let cleared = patch(r#"{"stripe":null}"#).unwrap().stripe.unwrap();
        assert_eq!(cleared.webhook_secret, crate::stripe::Change::Clear);
        assert_eq!(patch(r#"{"stripe":{"webhook_secret":"nope"}}"#).unwrap_err().field, "stripe.webhook_secret");
    }
}
