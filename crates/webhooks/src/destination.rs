//! Keeping webhooks off private networks (`domain::destination` says which addresses): the
//! URL's host is resolved here, every address checked, and the connection made only to the
//! addresses checked, so a DNS answer that changes between the check and the connection (DNS
//! rebinding) cannot reach a private address either.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use domain::Invalid;
use domain::destination::{self, Refusal};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

/// How long the check at creation waits for DNS.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A delivery refused before anything was sent: its error is recorded as the attempt's.
#[derive(Debug)]
pub(crate) struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused before sending: {}", self.0)
    }
}

impl std::error::Error for Refused {}

async fn resolve(host: &str) -> std::io::Result<Vec<IpAddr>> {
    Ok(tokio::net::lookup_host((host, 0)).await?.map(|a| a.ip()).collect())
}

/// Checks a webhook URL as it is created or changed: a literal address, or every address its
/// host resolves to now, must be public. A host that does not resolve (yet) is accepted: it
/// reaches nothing, and every delivery is checked again.
pub async fn check_url(raw: &str) -> Result<(), Invalid> {
    let Ok(url) = Url::parse(raw) else { return Ok(()) };
    if let Some(ip) = destination::literal_address(&url) {
        return destination::check_resolved(None, [ip]);
    }
    let Some(host) = url.host_str() else { return Ok(()) };
    match tokio::time::timeout(RESOLVE_TIMEOUT, resolve(host)).await {
        Ok(Ok(addresses)) => destination::check_resolved(Some(host), addresses),
        _ => Ok(()),
    }
}

/// Why a delivery to `url` must not be sent, when its host is a literal address (the HTTP
/// client connects to those without asking the resolver).
pub(crate) fn literal_refusal(url: &str) -> Option<Refused> {
    let ip = destination::literal_address(&Url::parse(url).ok()?)?;
    destination::first_refused([ip]).map(|r| Refused(r.explain(None)))
}

/// The HTTP client's resolver: answers only public addresses, and fails the connection with
/// [`Refused`] when a name resolves to any other.
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolve(&host).await?;
            if let Some(refusal) = destination::first_refused(addresses.iter().copied()) {
                return Err(Box::new(Refused(Refusal::explain(&refusal, Some(&host)))) as _);
            }
            Ok(Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0))) as Addrs)
        })
    }
}
