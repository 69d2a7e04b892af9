//! Chargers' Basic-auth passwords: stored as Argon2id hashes with a random salt, since they may
//! be short and human-chosen.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

pub fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    Argon2::default().hash_password_with_salt(password.as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_salt_and_verify() {
        let (a, b) = (hash_password("correct horse"), hash_password("correct horse"));
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!a.contains("correct"));
    }
}
