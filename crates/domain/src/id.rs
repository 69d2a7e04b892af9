//! Ids: 12 bytes shown as 24 lowercase hex characters, time-ordered like MongoDB ObjectIds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

/// 4 bytes of Unix seconds, 5 bytes fixed per process, 3 bytes of a per-process counter:
/// ids made by one process sort by creation time, and ids of a second sort before the next's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 12]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 24 lowercase hexadecimal characters")]
pub struct BadId;

impl Id {
    pub fn from_parts(unix_seconds: u32, process: [u8; 5], counter: u32) -> Id {
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&unix_seconds.to_be_bytes());
        bytes[4..9].copy_from_slice(&process);
        bytes[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
        Id(bytes)
    }

    pub fn unix_seconds(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl FromStr for Id {
    type Err = BadId;

    fn from_str(s: &str) -> Result<Id, BadId> {
        let s = s.as_bytes();
        if s.len() != 24 {
            return Err(BadId);
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(BadId),
        };
        let mut bytes = [0u8; 12];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = nibble(s[2 * i])? << 4 | nibble(s[2 * i + 1])?;
        }
        Ok(Id(bytes))
    }
}

impl fmt::Display for Id {
    /// One write of the whole text: ids are formatted for every row a reading stores.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 24];
        for (i, b) in self.0.iter().enumerate() {
            text[2 * i] = HEX[usize::from(b >> 4)];
            text[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom(format!("`{s}` is not an id (24 lowercase hexadecimal characters)")))
    }
}

impl utoipa::PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-f]{24}$"))
            .description(Some("An id: 24 lowercase hexadecimal characters."))
            .examples(["63dcf32e7d291b1b005284ac"])
            .into()
    }
}

impl utoipa::ToSchema for Id {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn display_then_parse_is_identity(secs: u32, process: [u8; 5], counter in 0u32..0xff_ffff) {
            let id = Id::from_parts(secs, process, counter);
            let text = id.to_string();
            prop_assert_eq!(text.len(), 24);
            prop_assert_eq!(text.parse::<Id>(), Ok(id));
            prop_assert_eq!(id.unix_seconds(), secs);
        }

        #[test]
        fn ids_sort_by_time_then_counter(a: u32, b: u32, process: [u8; 5], c1 in 0u32..0xff_ffff, c2 in 0u32..0xff_ffff) {
            let (x, y) = (Id::from_parts(a, process, c1), Id::from_parts(b, process, c2));
            prop_assert_eq!(x.cmp(&y), (a, c1).cmp(&(b, c2)));
            prop_assert_eq!(x.to_string().cmp(&y.to_string()), x.cmp(&y));
        }
    }

    #[test]
    fn rejects_anything_but_24_lowercase_hex() {
        for bad in ["", "63dcf32e7d291b1b005284a", "63DCF32E7D291B1B005284AC", "63dcf32e7d291b1b005284ag", "63dcf32e7d291b1b005284ac0"] {
            assert_eq!(bad.parse::<Id>(), Err(BadId), "{bad}");
        }
        assert!("63dcf32e7d291b1b005284ac".parse::<Id>().is_ok());
    }
}
