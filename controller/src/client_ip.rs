//! Who a request comes from: the TCP peer, or behind a configured reverse proxy the address
//! that proxy saw. `X-Forwarded-For` and `X-Forwarded-Proto` from anyone else are ignored, so
//! a client cannot pick the address the login limiter counts against.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Forwarded hops looked at, at most.
const MAX_HOPS: usize = 32;

/// `[http] trusted_proxies`: addresses or networks (`10.0.0.0/8`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{entry:?} is neither an address nor a network like 10.0.0.0/8")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: walking `X-Forwarded-For` from the right while the hop that
    /// reported it is a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.trusts(peer) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let Some(ip) = parse_hop(hop.trim()) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }

    /// Whether a trusted proxy says the client used HTTPS.
    pub fn forwarded_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.trusts(peer)
            && headers
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
    }
}

/// `192.0.2.1`, `192.0.2.1:5000`, `2001:db8::1` or `[2001:db8::1]:5000`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str], proto: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        if let Some(p) = proto {
            h.insert("x-forwarded-proto", p.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let h = headers(&["198.51.100.7"], Some("https"));
        assert_eq!(none.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        assert!(!none.forwarded_https(ip("203.0.113.9"), &h));

        let proxy = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        assert_eq!(proxy.client(ip("10.1.2.3"), &h), ip("198.51.100.7"));
        assert!(proxy.forwarded_https(ip("127.0.0.1"), &h));
        // The same header straight from a client is its own claim: ignored.
        assert_eq!(proxy.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        assert!(!proxy.forwarded_https(ip("203.0.113.9"), &h));
    }

    #[test]
    fn a_client_cannot_hide_behind_addresses_it_prepends() {
        let proxy = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        // The client sent "1.1.1.1, 10.9.9.9"; the proxies appended what they saw.
        let h = headers(&["1.1.1.1, 10.9.9.9", "198.51.100.7, 10.0.0.2"], None);
        assert_eq!(proxy.client(ip("10.0.0.1"), &h), ip("198.51.100.7"));
        let h = headers(&["not-an-ip, 198.51.100.7:4000"], None);
        assert_eq!(proxy.client(ip("10.0.0.1"), &h), ip("198.51.100.7"));
        // A hop that is not an address stops the walk at the last one a proxy vouched for.
        let h = headers(&["198.51.100.7, not-an-ip"], None);
        assert_eq!(proxy.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers(&["[2001:db8::1]:80"], None);
        assert_eq!(proxy.client(ip("10.0.0.1"), &h), ip("2001:db8::1"));
        // No header: the proxy itself.
        assert_eq!(
            proxy.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        // Every hop a proxy: the left-most one.
        let h = headers(&["10.0.0.5, 10.0.0.6"], None);
        assert_eq!(proxy.client(ip("10.0.0.1"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn bad_entries_are_named() {
        let err = TrustedProxies::parse(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(TrustedProxies::parse(&["::1".into(), "fd00::/8".into()]).is_ok());
    }
}
