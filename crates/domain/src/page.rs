//! List pagination: `limit` (1..=100, default 20) and `page` (1..=10,000, so a list's OFFSET
//! stays under a million rows).

use crate::Invalid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub page: u32,
}

impl Page {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;
    pub const MAX_PAGE: u32 = 10_000;

    pub fn parse(limit: Option<&str>, page: Option<&str>) -> Result<Page, Invalid> {
        let limit = match limit {
            None => Page::DEFAULT_LIMIT,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=Page::MAX_LIMIT).contains(n))
                .ok_or_else(|| Invalid::new("limit", format!("must be an integer from 1 to {}", Page::MAX_LIMIT)))?,
        };
        let page = match page {
            None => 1,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=Page::MAX_PAGE).contains(n))
                .ok_or_else(|| Invalid::new("page", format!("must be an integer from 1 to {}", Page::MAX_PAGE)))?,
        };
        Ok(Page { limit, page })
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(Page::parse(None, None), Ok(Page { limit: 20, page: 1 }));
        assert_eq!(Page::parse(Some("100"), Some("3")).unwrap().offset(), 200);
        assert_eq!(Page::parse(Some("100"), Some("10000")).unwrap().offset(), 999_900);
        for (l, p) in [(Some("0"), None), (Some("101"), None), (Some("x"), None), (None, Some("0")), (None, Some("-1")), (None, Some("10001"))] {
            assert!(Page::parse(l, p).is_err(), "{l:?} {p:?}");
        }
    }
}
