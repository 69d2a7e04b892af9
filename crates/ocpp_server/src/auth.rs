//! Charger authentication under attack: Argon2 checks run on the blocking pool, a few at a
//! time, so guessing never takes the async workers (and the API) with it; an endpoint or a
//! source address that failed too often lately is refused at once (429) without hashing; and
//! an unknown endpoint costs a hash like a known one, so timing does not tell them apart. What
//! is remembered is bounded, so an attacker cannot grow it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::passwords::{hash_password, verify_password};

#[derive(Clone, Copy, Debug)]
pub struct AuthLimits {
    /// Password checks running at once on this node; each takes a core for tens of milliseconds.
    pub concurrent_checks: usize,
    /// How long a handshake waits for a check slot before it is refused (503).
    pub slot_wait: Duration,
    /// Failed logins to one endpoint within `window` after which it is refused (429) until the
    /// window ends, also with the right password.
    pub failures_per_endpoint: u32,
    /// The same for one source address (an IPv6 /64), whatever the endpoints.
    pub failures_per_source: u32,
    pub window: Duration,
    /// Endpoints, and source addresses, remembered at most.
    pub tracked: usize,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits {
            concurrent_checks: 2,
            slot_wait: Duration::from_secs(5),
            failures_per_endpoint: 10,
            failures_per_source: 50,
            window: Duration::from_secs(60),
            tracked: 10_000,
        }
    }
}

/// No password check slot came free in time.
#[derive(Debug)]
pub struct Busy;

/// The gate every handshake passes: throttling by endpoint and source, and the check slots.
pub struct Gate {
    limits: AuthLimits,
    checks: Arc<Semaphore>,
    /// Endpoints by a keyed hash of their name: made-up names of any length cost 8 bytes each.
    endpoints: Throttle<u64>,
    endpoint_keys: RandomState,
    sources: Throttle<IpAddr>,
}

impl Gate {
    pub fn new(limits: AuthLimits) -> Gate {
        Gate {
            limits,
            checks: Arc::new(Semaphore::new(limits.concurrent_checks.max(1))),
            endpoints: Throttle::new(limits.failures_per_endpoint, limits.window, limits.tracked),
            endpoint_keys: RandomState::new(),
            sources: Throttle::new(limits.failures_per_source, limits.window, limits.tracked),
        }
    }

    /// How long this endpoint or source is still refused, if it is.
    pub fn throttled(&self, endpoint: &str, source: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let by_source = source.and_then(|ip| self.sources.refused_for(&source_key(ip), now));
        self.endpoints.refused_for(&self.endpoint_keys.hash_one(endpoint), now).max(by_source)
    }

    pub fn failed(&self, endpoint: &str, source: Option<IpAddr>) {
        let now = Instant::now();
        self.endpoints.fail(self.endpoint_keys.hash_one(endpoint), now);
        if let Some(ip) = source {
            self.sources.fail(source_key(ip), now);
        }
    }

    /// A charger that logged in has its endpoint's failures forgotten (not its address's).
    pub fn succeeded(&self, endpoint: &str) {
        self.endpoints.forget(&self.endpoint_keys.hash_one(endpoint));
    }

    /// Whether `password` matches `hash`. Without a hash (an unknown endpoint) it is checked
    /// against a stand-in, so the answer takes as long, and is false.
    pub async fn check(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let slot = tokio::time::timeout(self.limits.slot_wait, self.checks.clone().acquire_owned()).await.ok().and_then(Result::ok).ok_or(Busy)?;
        // The slot goes with the hash: a handshake abandoned meanwhile still holds it until the
        // hash is done, so no more than `concurrent_checks` ever run.
        let checked = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            match hash {
                Some(hash) => verify_password(&password, &hash),
                None => {
                    let _ = verify_password(&password, stand_in_hash());
                    false
                }
            }
        })
        .await;
        Ok(checked.unwrap_or(false))
    }
}

/// An Argon2 hash of no password anyone sends, with the parameters real ones are made with.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&format!("{:032x}", rand::random::<u128>())))
}

/// What counts as one source: the address, or an IPv6 address's /64, which one host
/// usually has whole.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

struct Failures {
    since: Instant,
    count: u32,
}

/// Failures per key in fixed windows: a key with `limit` failures in its window is refused
/// until the window ends. At most `capacity` keys are kept; when full, expired windows go
/// first, then the oldest.
pub struct Throttle<K> {
    limit: u32,
    window: Duration,
    capacity: usize,
    failures: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(limit: u32, window: Duration, capacity: usize) -> Throttle<K> {
        Throttle { limit: limit.max(1), window, capacity: capacity.max(1), failures: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Failures>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn refused_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let failures = self.lock();
        let f = failures.get(key)?;
        let ends = f.since + self.window;
        (f.count >= self.limit && now < ends).then(|| ends - now)
    }

    pub fn fail(&self, key: K, now: Instant) {
        let mut failures = self.lock();
        if !failures.contains_key(&key) && failures.len() >= self.capacity {
            failures.retain(|_, f| now < f.since + self.window);
            if failures.len() >= self.capacity
                && let Some(oldest) = failures.iter().min_by_key(|(_, f)| f.since).map(|(k, _)| k.clone())
            {
                failures.remove(&oldest);
            }
        }
        let f = failures.entry(key).or_insert(Failures { since: now, count: 0 });
        if now >= f.since + self.window {
            *f = Failures { since: now, count: 0 };
        }
        f.count = f.count.saturating_add(1);
    }

    pub fn forget(&self, key: &K) {
        self.lock().remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_key_is_refused_after_its_limit_until_the_window_ends() {
        let t = Throttle::new(3, MINUTE, 100);
        let start = Instant::now();
        for _ in 0..2 {
            t.fail("cp", start);
        }
        assert_eq!(t.refused_for(&"cp", start), None, "below the limit");
        t.fail("cp", start + Duration::from_secs(10));
        assert_eq!(t.refused_for(&"cp", start + Duration::from_secs(20)), Some(Duration::from_secs(40)));
        assert_eq!(t.refused_for(&"other", start), None);
        assert_eq!(t.refused_for(&"cp", start + MINUTE), None, "the window ended");
        t.fail("cp", start + MINUTE);
        assert_eq!(t.refused_for(&"cp", start + MINUTE), None, "a new window counts from one");
        t.fail("cp", start + MINUTE);
        t.fail("cp", start + MINUTE);
        assert!(t.refused_for(&"cp", start + MINUTE).is_some());
        t.forget(&"cp");
        assert_eq!(t.refused_for(&"cp", start + MINUTE), None);
    }

    #[test]
    fn memory_is_bounded_and_expired_windows_go_first() {
        let t = Throttle::new(1, MINUTE, 3);
        let start = Instant::now();
        for (key, at) in [("old", 0), ("a", 30), ("b", 40), ("c", 61)] {
            t.fail(key.to_string(), start + Duration::from_secs(at));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.refused_for(&"old".to_string(), start + Duration::from_secs(61)), None, "the expired one made room");
        for n in 0..1000 {
            t.fail(format!("k{n}"), start + Duration::from_secs(62));
        }
        assert_eq!(t.len(), 3, "never more than the capacity");
    }

    #[test]
    fn an_ipv6_host_is_its_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        assert_eq!(source_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(source_key("10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn unknown_endpoints_are_checked_against_a_stand_in_and_fail() {
        let gate = Gate::new(AuthLimits::default());
        let hash = hash_password("right");
        assert!(gate.check("right".into(), Some(hash.clone())).await.unwrap());
        assert!(!gate.check("wrong".into(), Some(hash)).await.unwrap());
        assert!(!gate.check("right".into(), None).await.unwrap());
        assert!(!gate.check(String::new(), None).await.unwrap());
    }

    #[tokio::test]
    async fn no_free_slot_in_time_is_busy() {
        let gate = Gate::new(AuthLimits { concurrent_checks: 1, slot_wait: Duration::from_millis(50), ..AuthLimits::default() });
        let _taken = gate.checks.clone().acquire_owned().await.unwrap();
        assert!(gate.check("x".into(), None).await.is_err());
    }
}
