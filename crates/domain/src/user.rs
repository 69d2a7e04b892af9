//! Users: the drivers an organization's app serves.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::invalid::optional_text;
use crate::schema::{or_null, text};
use crate::wallet::Wallet;
use crate::{Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct User {
    #[serde(rename = "_id")]
    pub id: Id,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub meta_data: Map<String, Value>,
    pub active: bool,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// A user as the API shows it: with the wallet embedded, or `null`.
#[derive(Serialize, Clone, Debug, ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    pub user: User,
    pub wallet: Option<Wallet>,
}

/// `POST /v1.1/users` and `PATCH /v1.1/users/{id}`. In a patch, an absent field stays as it was
/// and `null` clears it.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = name_schema)]
    pub firstname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = name_schema)]
    pub lastname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = email_schema)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = phone_schema)]
    pub phone: Option<Option<String>>,
    /// Any JSON object of at most 16 KiB.
    #[serde(default, deserialize_with = "nullable")]
    pub meta_data: Option<Option<Map<String, Value>>>,
    pub active: Option<bool>,
}

/// Tells a field given as `null` (Some(None)) from an absent one (None).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn name_schema() -> RefOr<Schema> {
    or_null(text(100))
}

/// What [`email`] accepts, white space around it aside.
fn email_schema() -> RefOr<Schema> {
    or_null(text(254).pattern(Some(r"^[^\s@]+@[^\s.]\S*\.\S*[^\s.]$")).description(Some("An email address.")))
}

/// What [`phone`] accepts, white space around it aside: at least 3 digits.
fn phone_schema() -> RefOr<Schema> {
    let other = r"[ +\-().]*";
    let pattern = format!(r"^{other}[0-9]{other}[0-9]{other}[0-9][0-9 +\-().]*$");
    or_null(text(32).pattern(Some(pattern)).description(Some("A phone number: digits, spaces, + - ( ) .")))
}

fn email(value: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(email) = optional_text("email", value, 254)? else { return Ok(None) };
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !email.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid { Ok(Some(email)) } else { Err(Invalid::new("email", "must be an email address")) }
}

fn phone(value: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(phone) = optional_text("phone", value, 32)? else { return Ok(None) };
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if allowed && digits >= 3 { Ok(Some(phone)) } else { Err(Invalid::new("phone", "must be a phone number (digits, spaces, + - ( ) .)")) }
}

const META_DATA_MAX_BYTES: usize = 16 * 1024;

fn meta_data(value: Map<String, Value>) -> Result<Map<String, Value>, Invalid> {
    if Value::Object(value.clone()).to_string().len() > META_DATA_MAX_BYTES {
        return Err(Invalid::new("meta_data", format!("must be at most {META_DATA_MAX_BYTES} bytes as JSON")));
    }
    Ok(value)
}

impl UserInput {
    /// Applies the input to `current` (a blank user when creating).
    pub fn apply(self, mut user: User, now: Timestamp) -> Result<User, Invalid> {
        if let Some(v) = self.firstname {
            user.firstname = optional_text("firstname", v.as_deref(), 100)?;
        }
        if let Some(v) = self.lastname {
            user.lastname = optional_text("lastname", v.as_deref(), 100)?;
        }
        if let Some(v) = self.email {
            user.email = email(v.as_deref())?;
        }
        if let Some(v) = self.phone {
            user.phone = phone(v.as_deref())?;
        }
        if let Some(v) = self.meta_data {
            user.meta_data = meta_data(v.unwrap_or_default())?;
        }
        if let Some(active) = self.active {
            user.active = active;
        }
        user.updated_at = now;
        Ok(user)
    }

    pub fn create(self, id: Id, now: Timestamp) -> Result<User, Invalid> {
        let blank =
            User { id, firstname: None, lastname: None, email: None, phone: None, meta_data: Map::new(), active: true, created_at: now, updated_at: now };
        self.apply(blank, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<User, Invalid> {
        serde_json::from_str::<UserInput>(json).unwrap().create(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(5))
    }

    #[test]
    fn creates_and_patches() {
        let user = create(r#"{"firstname":"Ada","email":"ada@example.com","meta_data":{"k":1}}"#).unwrap();
        assert_eq!(user.firstname.as_deref(), Some("Ada"));
        assert!(user.active);
        let patch: UserInput = serde_json::from_str(r#"{"firstname":null,"active":false}"#).unwrap();
        let patched = patch.apply(user.clone(), Timestamp::from_millis(9)).unwrap();
        assert_eq!(patched.firstname, None);
        assert_eq!(patched.email, user.email);
        assert!(!patched.active);
        assert_eq!(patched.updated_at, Timestamp::from_millis(9));
    }

    #[test]
    fn names_the_bad_field() {
        assert_eq!(create(r#"{"email":"nope"}"#).unwrap_err().field, "email");
        assert_eq!(create(r#"{"phone":"call me"}"#).unwrap_err().field, "phone");
        assert_eq!(create(r#"{"firstname":"  "}"#).unwrap_err().field, "firstname");
    }
}
