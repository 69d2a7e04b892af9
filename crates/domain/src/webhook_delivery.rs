//! Delivering events to webhook endpoints, the rules without the I/O: the retry schedule, what
//! an answer means for the delivery and the endpoint, the signatures, and the attempt record
//! the API lists.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::webhook::Secret;
use crate::{Id, Timestamp};

/// Seconds to wait before each retry: attempt 1 goes at once, attempt 2 five seconds after
/// attempt 1 failed, ..., attempt 10 a day after attempt 9: about three days in all.
pub const RETRY_DELAYS_S: [i64; 9] = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600];

/// Attempts in the whole schedule.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS_S.len() as u32 + 1;

/// Each delay is moved by up to this fraction either way, so that an endpoint back from an
/// outage is not hit by every retry at once.
pub const JITTER: f64 = 0.1;

/// How long after the rotation of a secret the old one still signs deliveries.
pub const ROTATION_GRACE_MS: i64 = 24 * 3600 * 1000;

/// Milliseconds before the next attempt once `failed_attempts` (1 or more) have failed, or
/// `None` when the schedule is over. `jitter` is a random number in `[0, 1)`; `scale`
/// multiplies the schedule (1 in production; smaller in tests that cannot wait days).
pub fn retry_delay_ms(failed_attempts: u32, jitter: f64, scale: f64) -> Option<i64> {
    let base = *RETRY_DELAYS_S.get(usize::try_from(failed_attempts.checked_sub(1)?).ok()?)?;
    let factor = 1.0 + JITTER * (2.0 * jitter.clamp(0.0, 1.0) - 1.0);
    Some(((base as f64) * 1000.0 * factor * scale.max(0.0)).round() as i64)
}

/// What came back from one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// An HTTP answer with this status (redirects are answers too: they are not followed).
    Status(u16),
    /// No answer: refused, reset, timed out, TLS failed.
    Failed(String),
}

/// What becomes of a delivery after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Delivered,
    RetryAt(Timestamp),
    /// No more attempts; when `disable` names a reason the endpoint is disabled for it.
    GiveUp {
        disable: Option<String>,
    },
}

/// What is known when an attempt ends.
#[derive(Clone, Copy, Debug)]
pub struct AttemptFacts {
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub now: Timestamp,
    /// When this delivery was first tried.
    pub first_attempt_at: Timestamp,
    /// The endpoint's last successful delivery, of any event.
    pub endpoint_last_success: Option<Timestamp>,
    /// In `[0, 1)`, drawn by the caller.
    pub jitter: f64,
    pub scale: f64,
}

pub const GONE_REASON: &str = "The endpoint answered 410 Gone";
pub const FAILING_REASON: &str = "Deliveries failed for the whole retry schedule";

/// 2xx delivers; 410 gives up and disables at once; anything else retries on the schedule,
/// and a delivery out of retries disables the endpoint unless another delivery to it succeeded
/// meanwhile (then only this event failed, not the endpoint).
pub fn decide(response: &Response, f: AttemptFacts) -> Verdict {
    match response {
        Response::Status(s) if (200..300).contains(s) => Verdict::Delivered,
        Response::Status(410) => Verdict::GiveUp { disable: Some(GONE_REASON.into()) },
        _ => match retry_delay_ms(f.attempt, f.jitter, f.scale) {
            Some(delay) => Verdict::RetryAt(Timestamp::from_millis(f.now.millis() + delay)),
            None => {
                let failing = f.endpoint_last_success.is_none_or(|s| s < f.first_attempt_at);
                Verdict::GiveUp { disable: failing.then(|| FAILING_REASON.into()) }
            }
        },
    }
}

/// The headers that sign one attempt: Standard Webhooks' and eDRV's, each with a signature per
/// secret (the current one, and the previous one during a rotation's grace period).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub webhook_id: String,
    pub webhook_timestamp: String,
    /// `v1,<base64>` per secret, space-separated.
    pub webhook_signature: String,
    /// `t=<seconds>,v1=<hex>[,v1=<hex>]`.
    pub edrv_signature: String,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn standard_signature(secret: &Secret, id: &str, timestamp_s: i64, body: &[u8]) -> String {
    format!("v1,{}", BASE64.encode(hmac(&secret.key(), &[id.as_bytes(), b".", timestamp_s.to_string().as_bytes(), b".", body])))
}

/// eDRV: the hex HMAC-SHA256 of `{t}.{body}` with the same key.
pub fn edrv_signature(secret: &Secret, timestamp_s: i64, body: &[u8]) -> String {
    hex(&hmac(&secret.key(), &[timestamp_s.to_string().as_bytes(), b".", body]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs `body` for message `id` at `now` with every secret given (at least one).
pub fn sign(secrets: &[&Secret], id: &str, now: Timestamp, body: &[u8]) -> Signed {
    let t = now.millis().div_euclid(1000);
    let standard: Vec<String> = secrets.iter().map(|s| standard_signature(s, id, t, body)).collect();
    let edrv: String = secrets.iter().map(|s| format!(",v1={}", edrv_signature(s, t, body))).collect();
    Signed { webhook_id: id.to_string(), webhook_timestamp: t.to_string(), webhook_signature: standard.join(" "), edrv_signature: format!("t={t}{edrv}") }
}

/// The secrets that sign at `now`: the current one, and the previous one until its grace
/// period ends.
pub fn signing_secrets<'a>(current: &'a Secret, previous: Option<(&'a Secret, Timestamp)>, now: Timestamp) -> Vec<&'a Secret> {
    let mut out = vec![current];
    out.extend(previous.filter(|(_, until)| now < *until).map(|(old, _)| old));
    out
}

/// At most this many bytes of a response body are kept.
pub const EXCERPT_BYTES: usize = 512;

/// The start of a response body, cut on a character boundary, lossy for non-UTF-8.
pub fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT_BYTES)];
    let text = String::from_utf8_lossy(cut);
    let mut s = text.into_owned();
    if body.len() > EXCERPT_BYTES && s.ends_with('\u{FFFD}') {
        s.pop();
    }
    s
}

/// One attempt to deliver one event to one endpoint, as `GET /v1.1/webhooks/{id}/deliveries`
/// lists it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct DeliveryAttempt {
    #[serde(rename = "_id")]
    pub id: Id,
    pub webhook: Id,
    /// The delivery this attempt belongs to: retries of one delivery share it.
    pub delivery: Id,
    /// The event delivered; also the `webhook-id` header, the same on every retry.
    pub event: Id,
    /// The event's type.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1 for the first attempt of the delivery.
    pub attempt: u32,
    /// `succeeded` (a 2xx answer) or `failed`.
    pub status: String,
    /// The HTTP status answered; `null` when there was no answer.
    pub response_status: Option<u16>,
    /// Why there was no answer (refused, timed out...).
    pub error: Option<String>,
    /// The start of the response body, at most 512 bytes.
    pub response_excerpt: Option<String>,
    pub duration_ms: i64,
    /// When the next attempt is due; `null` when none will follow.
    #[serde(rename = "nextRetryAt")]
    pub next_retry_at: Option<Timestamp>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
}

/// The state of one event's delivery to one endpoint, as `POST /v1.1/events/{id}/redeliver`
/// answers it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Delivery {
    #[serde(rename = "_id")]
    pub id: Id,
    pub webhook: Id,
    pub event: Id,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: u32,
    #[serde(rename = "nextAttemptAt")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
}

/// A node's delivery slots and how they are shared: at most `per_endpoint` in flight to one
/// endpoint, and, while more than one organization has deliveries due, at most half of all
/// slots to one organization's endpoints, so one organization's flood or slow receivers never
/// hold back the others. Slots already in flight are never taken back: an organization over
/// its half gets no new ones until it is under it again.
#[derive(Clone, Debug, Default)]
pub struct Slots {
    total: usize,
    free: usize,
    per_endpoint: usize,
    organizations_due: usize,
    busy_endpoint: HashMap<Id, usize>,
    busy_organization: HashMap<Id, usize>,
}

impl Slots {
    /// `total` slots of which `free` are free; `in_flight` is `(endpoint, organization)` of
    /// every delivery being sent.
    pub fn new(total: usize, free: usize, per_endpoint: usize, in_flight: impl IntoIterator<Item = (Id, Id)>) -> Slots {
        let mut slots = Slots { total, free: free.min(total), per_endpoint, ..Slots::default() };
        for (endpoint, organization) in in_flight {
            *slots.busy_endpoint.entry(endpoint).or_default() += 1;
            *slots.busy_organization.entry(organization).or_default() += 1;
        }
        slots
    }

    /// How many organizations have deliveries due in this round.
    pub fn organizations_due(&mut self, n: usize) {
        self.organizations_due = n;
    }

    /// How many more deliveries of `endpoint` (of `organization`) may be claimed now.
    pub fn room(&self, endpoint: Id, organization: Id) -> usize {
        let endpoint_room = self.per_endpoint.saturating_sub(self.busy_endpoint.get(&endpoint).copied().unwrap_or(0));
        let share = if self.organizations_due > 1 { (self.total / 2).max(1) } else { self.total };
        let organization_room = share.saturating_sub(self.busy_organization.get(&organization).copied().unwrap_or(0));
        self.free.min(endpoint_room).min(organization_room)
    }

    /// Records `n` deliveries of `endpoint` claimed.
    pub fn take(&mut self, endpoint: Id, organization: Id, n: usize) {
        self.free = self.free.saturating_sub(n);
        *self.busy_endpoint.entry(endpoint).or_default() += n;
        *self.busy_organization.entry(organization).or_default() += n;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(standard_signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn both_headers_carry_one_signature_per_secret() {
        let (a, b) = (Secret::from_key(&[1; 32]), Secret::from_key(&[2; 32]));
        let at = Timestamp::from_millis(1_700_000_000_999);
        let one = sign(&[&a], "evt", at, b"{}");
        assert_eq!(one.webhook_timestamp, "1700000000");
        assert_eq!(one.webhook_signature, standard_signature(&a, "evt", 1_700_000_000, b"{}"));
        assert_eq!(one.edrv_signature, format!("t=1700000000,v1={}", edrv_signature(&a, 1_700_000_000, b"{}")));
        let two = sign(&[&a, &b], "evt", at, b"{}");
        assert_eq!(two.webhook_signature, format!("{} {}", one.webhook_signature, standard_signature(&b, "evt", 1_700_000_000, b"{}")));
        assert_eq!(two.edrv_signature.matches(",v1=").count(), 2);
        assert_eq!(edrv_signature(&a, 1, b"x").len(), 64);
    }

    #[test]
    fn the_old_secret_signs_only_during_its_grace_period() {
        let (a, b) = (Secret::from_key(&[1; 32]), Secret::from_key(&[2; 32]));
        let until = Timestamp::from_millis(10_000);
        assert_eq!(signing_secrets(&a, Some((&b, until)), Timestamp::from_millis(9_999)).len(), 2);
        assert_eq!(signing_secrets(&a, Some((&b, until)), until).len(), 1);
        assert_eq!(signing_secrets(&a, None, until).len(), 1);
    }

    fn facts(attempt: u32) -> AttemptFacts {
        AttemptFacts {
            attempt,
            now: Timestamp::from_millis(1_000_000),
            first_attempt_at: Timestamp::from_millis(0),
            endpoint_last_success: None,
            jitter: 0.5,
            scale: 1.0,
        }
    }

    #[test]
    fn answers_decide_the_delivery() {
        assert_eq!(decide(&Response::Status(204), facts(3)), Verdict::Delivered);
        assert_eq!(decide(&Response::Status(410), facts(1)), Verdict::GiveUp { disable: Some(GONE_REASON.into()) });
        assert_eq!(decide(&Response::Status(500), facts(1)), Verdict::RetryAt(Timestamp::from_millis(1_005_000)));
        assert_eq!(decide(&Response::Status(301), facts(2)), Verdict::RetryAt(Timestamp::from_millis(1_300_000)));
        assert_eq!(decide(&Response::Failed("timed out".into()), facts(9)), Verdict::RetryAt(Timestamp::from_millis(1_000_000 + 86_400_000)));
        assert_eq!(decide(&Response::Status(500), facts(10)), Verdict::GiveUp { disable: Some(FAILING_REASON.into()) });
        let recovered = AttemptFacts { endpoint_last_success: Some(Timestamp::from_millis(5)), ..facts(10) };
        assert_eq!(decide(&Response::Status(500), recovered), Verdict::GiveUp { disable: None });
    }

    #[test]
    fn the_schedule_lasts_about_three_days() {
        let total: i64 = (1..MAX_ATTEMPTS).map(|n| retry_delay_ms(n, 0.5, 1.0).unwrap()).sum();
        assert!((3 * 86_400_000..4 * 86_400_000).contains(&total), "{total}");
        assert_eq!(retry_delay_ms(0, 0.5, 1.0), None);
        assert_eq!(retry_delay_ms(MAX_ATTEMPTS, 0.5, 1.0), None);
        assert_eq!(retry_delay_ms(1, 0.5, 0.001), Some(5));
    }

    #[test]
    fn excerpts_are_short_and_whole_characters() {
        assert_eq!(excerpt(b"ok"), "ok");
        let long = "é".repeat(1000);
        let e = excerpt(long.as_bytes());
        assert!(e.len() <= EXCERPT_BYTES && e.chars().all(|c| c == 'é'), "{e}");
    }

    proptest! {
        #[test]
        fn jitter_stays_within_ten_percent_and_delays_grow(n in 1u32..MAX_ATTEMPTS, j in 0.0f64..1.0) {
            let base = RETRY_DELAYS_S[n as usize - 1] as f64 * 1000.0;
            let d = retry_delay_ms(n, j, 1.0).unwrap() as f64;
            prop_assert!(d >= base * 0.9 - 1.0 && d <= base * 1.1 + 1.0);
            if n + 1 < MAX_ATTEMPTS {
                prop_assert!(retry_delay_ms(n + 1, j, 1.0).unwrap() > retry_delay_ms(n, j, 1.0).unwrap());
            }
        }

        #[test]
        fn only_2xx_delivers_and_only_410_or_an_exhausted_schedule_gives_up(status in 100u16..600, attempt in 1u32..=MAX_ATTEMPTS, j in 0.0f64..1.0) {
            let verdict = decide(&Response::Status(status), AttemptFacts { jitter: j, ..facts(attempt) });
            match verdict {
                Verdict::Delivered => prop_assert!((200..300).contains(&status)),
                Verdict::GiveUp { disable } => {
                    prop_assert!(status == 410 || attempt == MAX_ATTEMPTS);
                    prop_assert!(disable.is_some());
                }
                Verdict::RetryAt(at) => {
                    prop_assert!(!(200..300).contains(&status) && status != 410 && attempt < MAX_ATTEMPTS);
                    prop_assert!(at > facts(attempt).now);
                }
            }
        }

        #[test]
        fn a_signature_verifies_only_its_own_body_id_and_time(body in proptest::collection::vec(any::<u8>(), 0..200), other in proptest::collection::vec(any::<u8>(), 0..200), t in 0i64..4_000_000_000) {
            let s = Secret::from_key(&[9; 24]);
            let sig = standard_signature(&s, "id", t, &body);
            prop_assert_eq!(&sig, &standard_signature(&s, "id", t, &body));
            if other != body {
                prop_assert_ne!(&sig, &standard_signature(&s, "id", t, &other));
                prop_assert_ne!(edrv_signature(&s, t, &body), edrv_signature(&s, t, &other));
            }
            prop_assert_ne!(&sig, &standard_signature(&s, "id", t + 1, &body));
            prop_assert_ne!(&sig, &standard_signature(&s, "id2", t, &body));
        }
    }

    fn ids(n: usize) -> Vec<Id> {
        (0..n).map(|i| Id::from_parts(1, [0; 5], i as u32)).collect()
    }

    #[test]
    fn one_organization_alone_may_use_every_slot_up_to_its_endpoints_limit() {
        let [e, o] = ids(2)[..] else { unreachable!() };
        let mut slots = Slots::new(8, 8, 6, []);
        slots.organizations_due(1);
        assert_eq!(slots.room(e, o), 6);
        slots.take(e, o, 6);
        assert_eq!(slots.room(e, o), 0);
    }

    #[test]
    fn while_others_are_due_an_organization_gets_at_most_half_even_over_several_endpoints() {
        let [a1, a2, b1, a, b] = ids(5)[..] else { unreachable!() };
        let mut slots = Slots::new(8, 8, 8, []);
        slots.organizations_due(2);
        assert_eq!(slots.room(a1, a), 4);
        slots.take(a1, a, 3);
        assert_eq!(slots.room(a2, a), 1, "the organization's half counts all its endpoints");
        slots.take(a2, a, 1);
        assert_eq!(slots.room(a2, a), 0);
        assert_eq!(slots.room(b1, b), 4);
    }

    #[test]
    fn deliveries_in_flight_count_and_the_free_slots_bound_everything() {
        let [e, a, f, b] = ids(4)[..] else { unreachable!() };
        let mut slots = Slots::new(8, 2, 8, [(e, a), (e, a), (e, a), (e, a), (e, a), (e, a)]);
        slots.organizations_due(2);
        assert_eq!(slots.room(e, a), 0, "six in flight is over its half");
        assert_eq!(slots.room(f, b), 2, "only two slots are free");
    }
}
