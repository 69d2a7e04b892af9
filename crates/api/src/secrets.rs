//! API keys: made here, stored only as hashes.

use domain::Id;
use sha2::{Digest, Sha256};
use store::ApiKeyRecord;
use subtle::ConstantTimeEq;

/// A new API key: the string shown once to its owner, and what the store keeps.
pub struct NewApiKey {
    pub key: String,
    pub record: ApiKeyRecord,
}

const KEY_PREFIX: &str = "jk_";

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `jk_<16 hex key id>_<64 hex secret>`: the id finds the record, the secret's SHA-256 is
/// compared in constant time. 256 random bits need no slow hash.
pub fn new_api_key(organization: Id) -> NewApiKey {
    let id = hex::encode(rand::random::<[u8; 8]>());
    let secret = hex::encode(rand::random::<[u8; 32]>());
    NewApiKey { key: format!("{KEY_PREFIX}{id}_{secret}"), record: ApiKeyRecord { id, organization, secret_sha256: sha256_hex(secret.as_bytes()) } }
}

/// Splits a presented key into its id and secret, if it has the shape of one.
pub fn split_api_key(key: &str) -> Option<(&str, &str)> {
    let (id, secret) = key.strip_prefix(KEY_PREFIX)?.split_once('_')?;
    (id.len() == 16 && secret.len() == 64).then_some((id, secret))
}

pub fn secret_matches(secret: &str, record: &ApiKeyRecord) -> bool {
    sha256_hex(secret.as_bytes()).as_bytes().ct_eq(record.secret_sha256.as_bytes()).into()
}

/// Constant-time comparison of a presented token with the configured one.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    Sha256::digest(presented.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_verify_only_with_their_secret() {
        let org = Id::from_parts(1, [0; 5], 1);
        let k = new_api_key(org);
        let (id, secret) = split_api_key(&k.key).unwrap();
        assert_eq!(id, k.record.id);
        assert!(secret_matches(secret, &k.record));
        assert!(!secret_matches(&"0".repeat(64), &k.record));
        assert!(!k.record.secret_sha256.contains(secret));
        assert_eq!(split_api_key("jk_short_key"), None);
    }
}
