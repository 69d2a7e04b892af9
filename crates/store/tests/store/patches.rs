//! A PATCH is applied to what is stored, under the row's lock: a charger's report or another
//! client's PATCH that lands while the PATCH is being applied is kept, on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::future::Future;

use domain::Cents;
use domain::Timestamp;
use domain::connector::{Connector, ConnectorInput, ConnectorStatus};
use domain::location::{Location, LocationInput};
use domain::organization::OrganizationUpdate;
use domain::rate::RateInput;
use domain::token::{Token, TokenInput};
use domain::user::{User, UserInput};
use domain::webhook::{OwnAddresses, WebhookEndpoint, WebhookInput};
use store::testing::{TestDatabase, backends, chargestation, organization};
use store::{Store, StoreError, SystemClock};
use tokio::task::JoinHandle;

/// Starts `work` (another change of the row a PATCH is applying) and gives it up to 500 ms:
/// without the row lock it would commit now, and the PATCH then overwrite it.
fn meanwhile<F: Future + Send + 'static>(work: F) -> JoinHandle<F::Output>
where
    F::Output: Send,
{
    let running = tokio::spawn(work);
    let waited = Instant::now();
    while !running.is_finished() && waited.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(10));
    }
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connector_patch_keeps_the_status_a_charger_reports_meanwhile() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let cs = chargestation(&store, org, "CP-1").await;
        let rate = serde_json::from_str::<RateInput>(r#"{"currency":"USD","price_components":[{"type":"ENERGY","price":0.3}]}"#)
            .unwrap()
            .create(store.new_id(), store.now())
            .unwrap();
        store.create_rate(org, &rate).await.unwrap();
        let input = serde_json::json!({ "chargestation": cs.id.to_string(), "connector_id": 1 });
        let connector = serde_json::from_value::<ConnectorInput>(input).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_connector(org, &connector).await.unwrap();

        let mut report = None;
        let patched = store
            .update_connector(org, connector.id, |stored| {
                // The charger reports while the PATCH holds the connector it read.
                let charger = store.clone();
                let at = Timestamp::from_millis(store.now().millis() + 1);
                report = Some(meanwhile(async move { charger.record_status(org, cs.id, 1, ConnectorStatus::Charging, at).await }));
                Ok::<_, StoreError>(Connector { rate: Some(rate.id), ..stored })
            })
            .await
            .unwrap();
        assert_eq!(patched.rate, Some(rate.id));
        report.unwrap().await.unwrap().unwrap();
        let stored = store.connector(org, connector.id).await.unwrap();
        assert_eq!((stored.rate, stored.status), (Some(rate.id), ConnectorStatus::Charging), "{backend:?}: neither change is lost");
        store.close().await;
        db.remove().await;
    }
}

/// Two clients PATCH different fields of one resource at once: each kind of resource keeps both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_one_resource_both_hold() {
    fn ok<T>(value: T) -> Result<T, StoreError> {
        Ok(value)
    }
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let now = store.now();

        let user = serde_json::from_str::<UserInput>("{}").unwrap().create(store.new_id(), now).unwrap();
        store.create_user(org, &user).await.unwrap();
        let mut other = None;
        let first = store.update_user(org, user.id, |stored| {
            let store = store.clone();
            other = Some(meanwhile(async move { store.update_user(org, user.id, |u| ok(User { lastname: Some("Lovelace".into()), ..u })).await }));
            ok(User { firstname: Some("Ada".into()), ..stored })
        });
        first.await.unwrap();
        other.unwrap().await.unwrap().unwrap();
        let stored = store.user(org, user.id).await.unwrap().user;
        assert_eq!((stored.firstname.as_deref(), stored.lastname.as_deref()), (Some("Ada"), Some("Lovelace")), "{backend:?}: user");

        let location = serde_json::from_str::<LocationInput>(r#"{"name":"Depot"}"#).unwrap().create(store.new_id(), now).unwrap();
        store.create_location(org, &location).await.unwrap();
        let mut other = None;
        let first = store.update_location(org, location.id, |stored| {
            let store = store.clone();
            other = Some(meanwhile(async move { store.update_location(org, location.id, |l| ok(Location { timezone: "Europe/Paris".into(), ..l })).await }));
            ok(Location { name: "North depot".into(), ..stored })
        });
        first.await.unwrap();
        other.unwrap().await.unwrap().unwrap();
        let stored = store.location(org, location.id).await.unwrap();
        assert_eq!((stored.name.as_str(), stored.timezone.as_str()), ("North depot", "Europe/Paris"), "{backend:?}: location");

        let token = serde_json::from_str::<TokenInput>(r#"{"physicalId":"CARD-1"}"#).unwrap().create(store.new_id(), now).unwrap();
        store.create_token(org, &token).await.unwrap();
        let mut other = None;
        let first = store.update_token(org, token.id, |stored| {
            let store = store.clone();
            other = Some(meanwhile(async move { store.update_token(org, token.id, |t| ok(Token { user: Some(user.id), ..t })).await }));
            ok(Token { active: false, ..stored })
        });
        first.await.unwrap();
        other.unwrap().await.unwrap().unwrap();
        let stored = store.token(org, token.id).await.unwrap();
        assert_eq!((stored.active, stored.user), (false, Some(user.id)), "{backend:?}: token");

        let input = WebhookInput { url: Some("https://hooks.example.com".into()), events: Some(vec!["*".into()]), ..WebhookInput::default() };
        let endpoint = input.create(store.new_id(), &OwnAddresses::default(), now).unwrap();
        store.create_webhook(org, &endpoint, &domain::webhook::Secret::from_key(&[1; 32])).await.unwrap();
        let mut other = None;
        let first = store.update_webhook(org, endpoint.id, |stored| {
            let store = store.clone();
            other = Some(meanwhile(async move { store.update_webhook(org, endpoint.id, |w| ok(WebhookEndpoint { enabled: false, ..w })).await }));
            ok(WebhookEndpoint { description: Some("billing".into()), ..stored })
        });
        first.await.unwrap();
        other.unwrap().await.unwrap().unwrap();
        let stored = store.webhook(org, endpoint.id).await.unwrap();
        assert_eq!((stored.description.as_deref(), stored.enabled), (Some("billing"), false), "{backend:?}: webhook");

        let mut other = None;
        let first = store.change_organization(org, |stored| {
            let store = store.clone();
            other = Some(meanwhile(async move {
                store
                    .change_organization(org, |o| {
                        let mut organization = o.clone();
                        organization.configurations.session.minimum_balance = Cents(700);
                        ok(OrganizationUpdate { organization, stripe: None })
                    })
                    .await
            }));
            ok(OrganizationUpdate { organization: domain::organization::Organization { name: "Acme Charging".into(), ..stored.clone() }, stripe: None })
        });
        first.await.unwrap();
        other.unwrap().await.unwrap().unwrap();
        let stored = store.organization(org).await.unwrap();
        assert_eq!((stored.name.as_str(), stored.configurations.session.minimum_balance), ("Acme Charging", Cents(700)), "{backend:?}: organization");
        store.close().await;
        db.remove().await;
    }
}
