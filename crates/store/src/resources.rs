//! Users, locations, rates and connectors: documents with references checked in the same
//! transaction that writes them.

use domain::Id;
use domain::connector::Connector;
use domain::event::NewEvent;
use domain::location::Location;
use domain::page::Page;
use domain::rate::Rate;
use domain::token::Token;
use domain::user::{User, UserView};
use sqlx::AnyConnection;

use crate::documents::{self, Column, Document, Filter, document};
use crate::error::on_unique;
use crate::{Store, StoreError};

document!(User, "users", "user");
document!(Location, "locations", "location");
document!(Rate, "rates", "rate");
document!(Token, "tokens", "token", ["physical_id"], |t| vec![Column::Text(Some(t.physical_id.clone()))]);
document!(Connector, "connectors", "connector", ["chargestation_id", "connector_id", "rate_id"], |c| vec![
    Column::Text(Some(c.chargestation.to_string())),
    Column::Int(Some(i64::from(c.connector_id))),
    Column::Text(c.rate.map(|r| r.to_string())),
]);

impl Store {
    async fn create_document<T: Document>(&self, org: Id, doc: &T, event: NewEvent) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        documents::insert(&mut tx, org, doc).await?;
        // The created object as the API shows it, as the event carries it, is the answer.
        self.answer(&mut tx, &event.data).await?;
        self.record(&mut tx, org, vec![event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A PATCH: `change` applied to the stored document while it is locked, so that a change
    /// committed meanwhile (a charger's report, another PATCH) is never overwritten; then its
    /// event. A refusal from `change` changes nothing.
    async fn update_document<T: Document, E: From<StoreError>>(
        &self,
        org: Id,
        id: Id,
        change: impl FnOnce(T) -> Result<T, E>,
        event: impl FnOnce(&T) -> NewEvent,
    ) -> Result<T, E> {
        let mut tx = self.write().await?;
        let doc = change(documents::fetch_to_change(&mut tx, self.backend, org, id).await?)?;
        documents::replace(&mut tx, org, &doc).await?;
        self.record(&mut tx, org, vec![event(&doc)]).await?;
        tx.commit().await?;
        Ok(doc)
    }

    async fn document<T: Document>(&self, org: Id, id: Id) -> Result<T, StoreError> {
        documents::fetch(&mut *self.pool.acquire().await?, org, id).await
    }

    async fn documents<T: Document>(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<T>, StoreError> {
        documents::list(&mut *self.pool.acquire().await?, org, page, filters).await
    }

    // Users

    pub async fn create_user(&self, org: Id, user: &User) -> Result<UserView, StoreError> {
        let view = UserView { user: user.clone(), wallet: None };
        self.create_document(org, user, NewEvent::of("user", "created", &view)).await?;
        Ok(view)
    }

    /// Changes a user with `change`, applied under its row lock (see `update_document`).
    pub async fn update_user<E: From<StoreError>>(&self, org: Id, id: Id, change: impl FnOnce(User) -> Result<User, E>) -> Result<UserView, E> {
        let mut tx = self.write().await?;
        let user = change(documents::fetch_to_change(&mut tx, self.backend, org, id).await?)?;
        documents::replace(&mut tx, org, &user).await?;
        let view = UserView { wallet: self.wallet_of(&mut tx, org, user.id).await?, user };
        self.record(&mut tx, org, vec![NewEvent::of("user", "updated", &view)]).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn user(&self, org: Id, id: Id) -> Result<UserView, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let user = documents::fetch::<User>(&mut conn, org, id).await?;
        self.user_view(&mut conn, org, user).await
    }

    pub async fn users(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<UserView>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let users = documents::list::<User>(&mut conn, org, page, filters).await?;
        let mut views = Vec::with_capacity(users.len());
        for user in users {
            views.push(self.user_view(&mut conn, org, user).await?);
        }
        Ok(views)
    }

    async fn user_view(&self, conn: &mut AnyConnection, org: Id, user: User) -> Result<UserView, StoreError> {
        let wallet = self.wallet_of(conn, org, user.id).await?;
        Ok(UserView { user, wallet })
    }

    // Locations

    pub async fn create_location(&self, org: Id, location: &Location) -> Result<(), StoreError> {
        self.create_document(org, location, NewEvent::of("location", "created", location)).await
    }

    pub async fn update_location<E: From<StoreError>>(&self, org: Id, id: Id, change: impl FnOnce(Location) -> Result<Location, E>) -> Result<Location, E> {
        self.update_document(org, id, change, |l| NewEvent::of("location", "updated", l)).await
    }

    pub async fn location(&self, org: Id, id: Id) -> Result<Location, StoreError> {
        self.document(org, id).await
    }

    pub async fn locations(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Location>, StoreError> {
        self.documents(org, page, filters).await
    }

    // Rates

    pub async fn create_rate(&self, org: Id, rate: &Rate) -> Result<(), StoreError> {
        self.create_document(org, rate, NewEvent::of("rate", "created", rate)).await
    }

    pub async fn rate(&self, org: Id, id: Id) -> Result<Rate, StoreError> {
        self.document(org, id).await
    }

    pub async fn rates(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Rate>, StoreError> {
        self.documents(org, page, filters).await
    }

    // Tokens

    /// Checks the token's user and its idTag's uniqueness in the same transaction as the write.
    async fn save_token(&self, tx: &mut AnyConnection, org: Id, token: &Token, created: bool) -> Result<(), StoreError> {
        if let Some(user) = token.user
            && !documents::exists(tx, "users", org, user).await?
        {
            return Err(StoreError::NotFound("user"));
        }
        let duplicate = || StoreError::Conflict(format!("A token with physicalId `{}` already exists", token.physical_id));
        if created {
            documents::insert(tx, org, token).await.map_err(|e| on_unique(e, duplicate))?;
        } else {
            documents::replace(tx, org, token).await.map_err(|e| match e {
                StoreError::Database(e) => on_unique(e, duplicate),
                other => other,
            })?;
        }
        self.record(tx, org, vec![NewEvent::of("token", if created { "created" } else { "updated" }, token)]).await?;
        if created {
            self.answer(tx, token).await?;
        }
        Ok(())
    }

    pub async fn create_token(&self, org: Id, token: &Token) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.save_token(&mut tx, org, token, true).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a token with `change`, applied under its row lock (see `update_document`).
    pub async fn update_token<E: From<StoreError>>(&self, org: Id, id: Id, change: impl FnOnce(Token) -> Result<Token, E>) -> Result<Token, E> {
        let mut tx = self.write().await?;
        let token = change(documents::fetch_to_change(&mut tx, self.backend, org, id).await?)?;
        self.save_token(&mut tx, org, &token, false).await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn delete_token(&self, org: Id, id: Id) -> Result<Token, StoreError> {
        let mut tx = self.write().await?;
        let token = documents::fetch::<Token>(&mut tx, org, id).await?;
        sqlx::query("DELETE FROM tokens WHERE id = $1 AND organization_id = $2").bind(id.to_string()).bind(org.to_string()).execute(&mut *tx).await?;
        self.record(&mut tx, org, vec![NewEvent::of("token", "deleted", &token)]).await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn token(&self, org: Id, id: Id) -> Result<Token, StoreError> {
        self.document(org, id).await
    }

    pub async fn tokens(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Token>, StoreError> {
        self.documents(org, page, filters).await
    }

    // Connectors

    /// Creates a connector on one of this organization's chargestations, with one of its rates.
    pub async fn create_connector(&self, org: Id, connector: &Connector) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        if !documents::exists(&mut tx, "chargestations", org, connector.chargestation).await? {
            return Err(StoreError::NotFound("chargestation"));
        }
        check_rate(&mut tx, org, connector.rate).await?;
        documents::insert(&mut tx, org, connector)
            .await
            .map_err(|e| on_unique(e, || StoreError::Conflict(format!("Connector {} already exists on this chargestation", connector.connector_id))))?;
        self.record(&mut tx, org, vec![NewEvent::of("connector", "created", connector).for_chargestation(connector.chargestation)]).await?;
        self.answer(&mut tx, connector).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a connector with `change`, applied under its row lock, so that a status the
    /// charger reports meanwhile is kept (see `update_document`).
    pub async fn update_connector<E: From<StoreError>>(&self, org: Id, id: Id, change: impl FnOnce(Connector) -> Result<Connector, E>) -> Result<Connector, E> {
        let mut tx = self.write().await?;
        let connector = change(documents::fetch_to_change(&mut tx, self.backend, org, id).await?)?;
        check_rate(&mut tx, org, connector.rate).await?;
        documents::replace(&mut tx, org, &connector).await?;
        self.record(&mut tx, org, vec![NewEvent::of("connector", "updated", &connector).for_chargestation(connector.chargestation)]).await?;
        tx.commit().await?;
        Ok(connector)
    }

    pub async fn connector(&self, org: Id, id: Id) -> Result<Connector, StoreError> {
        self.document(org, id).await
    }

    pub async fn connectors(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Connector>, StoreError> {
        self.documents(org, page, filters).await
    }
}

async fn check_rate(conn: &mut AnyConnection, org: Id, rate: Option<Id>) -> Result<(), StoreError> {
    match rate {
        Some(rate) if !documents::exists(conn, "rates", org, rate).await? => Err(StoreError::NotFound("rate")),
        _ => Ok(()),
    }
}
