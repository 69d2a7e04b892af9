//! Where a webhook may be sent: only to addresses on the public internet, so that an
//! organization cannot make Joule reach its own network (SSRF) and read the answers in the
//! delivery log. The operator of an on-premises receiver allows private addresses explicitly.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::Invalid;

/// What kind of non-public address an address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Private {
    Loopback,
    /// RFC 1918, IPv6 unique local (and the deprecated site-local) addresses.
    Private,
    LinkLocal,
    /// The carrier-grade NAT space, 100.64.0.0/10.
    SharedAddressSpace,
    Multicast,
    Unspecified,
    Broadcast,
    Documentation,
    /// Reserved, benchmarking, protocol-assignment and other not globally routable ranges.
    Reserved,
}

impl fmt::Display for Private {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Private::Loopback => "loopback",
            Private::Private => "private",
            Private::LinkLocal => "link-local",
            Private::SharedAddressSpace => "carrier-grade NAT",
            Private::Multicast => "multicast",
            Private::Unspecified => "unspecified",
            Private::Broadcast => "broadcast",
            Private::Documentation => "documentation",
            Private::Reserved => "reserved",
        })
    }
}

/// `None` for a public address; otherwise what kind of private one it is. IPv6 forms that
/// carry an IPv4 address (mapped, compatible, NAT64, 6to4) are what that address is.
pub fn classify(ip: IpAddr) -> Option<Private> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Private> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::BROADCAST => Private::Broadcast,
        (0, _, _) => Private::Unspecified,
        (127, _, _) => Private::Loopback,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => Private::Private,
        (169, 254, _) => Private::LinkLocal,
        (100, 64..=127, _) => Private::SharedAddressSpace,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Private::Documentation,
        (192, 0, 0) | (192, 88, 99) | (198, 18..=19, _) | (240..=255, _, _) => Private::Reserved,
        (224..=239, _, _) => Private::Multicast,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Private> {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if ip.is_unspecified() {
        return Some(Private::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Private::Loopback);
    }
    match s {
        // IPv4-mapped (::ffff:a.b.c.d): what the IPv4 address is.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => classify_v4(embedded_v4(hi, lo)),
        // IPv4-compatible (::a.b.c.d), deprecated: never a public destination.
        [0, 0, 0, 0, 0, 0, hi, lo] => classify_v4(embedded_v4(hi, lo)).or(Some(Private::Reserved)),
        // NAT64 (RFC 6052): the IPv4 address it translates to.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => classify_v4(embedded_v4(hi, lo)),
        // 6to4: the IPv4 address of the relay it tunnels through.
        [0x2002, hi, lo, ..] => classify_v4(embedded_v4(hi, lo)),
        [0x2001, 0x0db8, ..] | [0x3fff, 0..=0x0fff, ..] => Some(Private::Documentation),
        [first, ..] if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 => Some(Private::Private),
        [first, ..] if first & 0xffc0 == 0xfe80 => Some(Private::LinkLocal),
        [first, ..] if first & 0xff00 == 0xff00 => Some(Private::Multicast),
        // Protocol assignments (Teredo, ORCHID, ...) and everything outside global unicast.
        [0x2001, second, ..] if second < 0x0200 => Some(Private::Reserved),
        [first, ..] if first & 0xe000 != 0x2000 => Some(Private::Reserved),
        _ => None,
    }
}

/// A destination a webhook may not reach: the address and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub ip: IpAddr,
    pub kind: Private,
}

impl Refusal {
    /// Why, for a URL whose host is `name` (a DNS name) or, without one, the address itself.
    pub fn explain(&self, name: Option<&str>) -> String {
        match name {
            Some(name) => format!("`{name}` resolves to {}, a {} address", self.ip, self.kind),
            None => format!("{} is a {} address", self.ip, self.kind),
        }
    }
}

/// The first of `addresses` a webhook may not reach.
pub fn first_refused(addresses: impl IntoIterator<Item = IpAddr>) -> Option<Refusal> {
    addresses.into_iter().find_map(|ip| classify(ip).map(|kind| Refusal { ip, kind }))
}

/// The address a URL names literally, if its host is an IP address.
pub fn literal_address(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Checks the addresses a webhook URL's host `name` resolved to (without a name: its literal
/// address): a 400 naming `url` if any of them is not public.
pub fn check_resolved(name: Option<&str>, addresses: impl IntoIterator<Item = IpAddr>) -> Result<(), Invalid> {
    match first_refused(addresses) {
        Some(refusal) => Err(Invalid::new(
            "url",
            format!("must not point at a private network: {} (the server setting webhook_allow_private allows it)", refusal.explain(name)),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(raw: &str) -> Option<Private> {
        classify(raw.parse().unwrap())
    }

    #[test]
    fn private_addresses_are_classified() {
        for (raw, expected) in [
            ("127.0.0.1", Private::Loopback),
            ("127.255.0.9", Private::Loopback),
            ("::1", Private::Loopback),
            ("10.0.0.1", Private::Private),
            ("172.16.0.1", Private::Private),
            ("172.31.255.255", Private::Private),
            ("192.168.1.1", Private::Private),
            ("fd00::1", Private::Private),
            ("fc00::1", Private::Private),
            ("fec0::1", Private::Private),
            ("169.254.169.254", Private::LinkLocal),
            ("fe80::1", Private::LinkLocal),
            ("100.64.0.1", Private::SharedAddressSpace),
            ("100.127.255.255", Private::SharedAddressSpace),
            ("224.0.0.1", Private::Multicast),
            ("239.255.255.250", Private::Multicast),
            ("ff02::1", Private::Multicast),
            ("0.0.0.0", Private::Unspecified),
            ("0.1.2.3", Private::Unspecified),
            ("::", Private::Unspecified),
            ("255.255.255.255", Private::Broadcast),
            ("192.0.2.1", Private::Documentation),
            ("198.51.100.7", Private::Documentation),
            ("203.0.113.9", Private::Documentation),
            ("2001:db8::1", Private::Documentation),
            ("3fff::1", Private::Documentation),
            ("192.0.0.8", Private::Reserved),
            ("198.18.0.1", Private::Reserved),
            ("240.0.0.1", Private::Reserved),
            ("100::1", Private::Reserved),
            ("2001::1", Private::Reserved),
            ("::ffff:127.0.0.1", Private::Loopback),
            ("::ffff:10.0.0.1", Private::Private),
            ("::ffff:169.254.169.254", Private::LinkLocal),
            ("::127.0.0.1", Private::Loopback),
            ("64:ff9b::a9fe:a9fe", Private::LinkLocal),
            ("2002:7f00:1::", Private::Loopback),
            ("2002:c0a8:101::1", Private::Private),
        ] {
            assert_eq!(kind(raw), Some(expected), "{raw}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for raw in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
        ] {
            assert_eq!(kind(raw), None, "{raw}");
        }
    }

    #[test]
    fn refusals_name_the_kind_and_the_address() {
        let err = check_resolved(Some("intranet.example"), ["8.8.8.8".parse().unwrap(), "10.0.0.1".parse().unwrap()]).unwrap_err();
        assert_eq!(err.field, "url");
        assert!(err.message.contains("`intranet.example` resolves to 10.0.0.1, a private address"), "{}", err.message);
        let err = check_resolved(None, ["169.254.169.254".parse().unwrap()]).unwrap_err();
        assert!(err.message.contains("169.254.169.254 is a link-local address"), "{}", err.message);
        assert!(check_resolved(Some("example.com"), ["8.8.8.8".parse().unwrap()]).is_ok());
    }

    #[test]
    fn literal_hosts_are_read_from_urls() {
        let literal = |raw: &str| literal_address(&Url::parse(raw).unwrap());
        assert_eq!(literal("http://[::ffff:127.0.0.1]:80/x"), Some("::ffff:127.0.0.1".parse().unwrap()));
        assert_eq!(literal("http://127.1/x"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(literal("http://0x7f000001/x"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(literal("http://localhost/x"), None);
    }

    proptest! {
        #[test]
        fn ipv6_forms_of_an_ipv4_address_are_what_it_is(a: u8, b: u8, c: u8, d: u8) {
            let v4 = Ipv4Addr::new(a, b, c, d);
            let expected = classify(IpAddr::V4(v4));
            prop_assert_eq!(classify(IpAddr::V6(v4.to_ipv6_mapped())), expected);
            let [hi, lo] = [u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])];
            prop_assert_eq!(classify(IpAddr::V6(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo))), expected);
        }

        #[test]
        fn every_private_ipv4_range_is_refused(a: u8, b: u8, c: u8) {
            for prefix in [[10, a, b], [127, a, b], [192, 168, a], [169, 254, a], [0, a, b]] {
                let ip = IpAddr::V4(Ipv4Addr::new(prefix[0], prefix[1], prefix[2], c));
                prop_assert!(classify(ip).is_some(), "{}", ip);
            }
            prop_assert!(classify(IpAddr::V4(Ipv4Addr::new(172, 16 + (a % 16), b, c))).is_some());
            prop_assert!(classify(IpAddr::V4(Ipv4Addr::new(100, 64 + (a % 64), b, c))).is_some());
            prop_assert!(classify(IpAddr::V4(Ipv4Addr::new(224 + (a % 32), b, c, a))).is_some());
        }

        #[test]
        fn unique_local_and_link_local_ipv6_are_refused(s: [u16; 8]) {
            let ula = Ipv6Addr::new(0xfc00 | (s[0] & 0x01ff), s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            let link = Ipv6Addr::new(0xfe80 | (s[0] & 0x003f), s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            prop_assert_eq!(classify(IpAddr::V6(ula)), Some(Private::Private));
            prop_assert_eq!(classify(IpAddr::V6(link)), Some(Private::LinkLocal));
        }
    }
}
