//! The client's address behind reverse proxies the operator lists (`--trusted-proxy`).
//!
//! A forwarding header is only as true as whoever wrote it: the client can write any
//! `X-Forwarded-For` or `Forwarded` it likes, and each proxy only appends the address it
//! saw. So the headers are read only when the TCP peer is a listed proxy, and then from the
//! right: each hop a listed proxy appended is believed, and the first address that is not
//! a listed proxy is the client (the "rightmost untrusted hop"). Whatever lies to the left
//! of it was written by the client and is ignored. With no proxy listed, the peer is the
//! client and the headers are ignored (ASVS 4.1.3).
//!
//! Only `X-Forwarded-For` is read, the header nginx, HAProxy and cloud load balancers
//! append to. `Forwarded` (RFC 7239) is never read: those proxies pass a client's own
//! `Forwarded` through untouched, so choosing it "when present" would let any client name
//! its address (and so reset its budgets, forge audit addresses, or throttle someone else's
//! network).

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;

/// An address block, `ADDR/PREFIX` (or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not an address block like 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is inside this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u8) {
            match ip.to_canonical() {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let ((net, width), (addr, addr_width)) = (bits(self.network), bits(ip));
        if width != addr_width {
            return false;
        }
        let host_bits = u32::from(width - self.prefix);
        // A prefix of 0 matches everything of the family: no shift by the full width.
        net.checked_shr(host_bits).unwrap_or(0) == addr.checked_shr(host_bits).unwrap_or(0)
    }
}

/// The proxies whose forwarding headers are believed; a request extension.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<Cidr>>);

impl TrustedProxies {
    /// Trust `blocks`.
    pub fn new(blocks: &[Cidr]) -> Self {
        Self(Arc::new(blocks.to_vec()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(ip))
    }

    /// The client behind `peer`: `peer` itself unless it is a listed proxy; then the
    /// rightmost hop of `X-Forwarded-For` that is not a listed proxy. A hop that does not
    /// parse ends the walk at
    /// the proxy that passed it on.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = x_forwarded_for(headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.trusts(client) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// One hop: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`, `[2001:db8::1]:80`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.parse()
        .ok()
        .or_else(|| node.rsplit_once(':')?.0.parse().ok())
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(|hop| parse_node(hop.trim())).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn blocks_parse_and_contain() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")));
        assert!(block.contains(ip("::ffff:10.1.0.1")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(!block.contains(ip("::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let one: Cidr = "2001:db8::1".parse().unwrap();
        assert!(one.contains(ip("2001:db8::1")) && !one.contains(ip("2001:db8::2")));
        for bad in ["10.0.0.0/33", "::/129", "ten", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::new(&["10.0.0.0/8".parse().unwrap()]);
        let spoofed = "1.1.1.1, 198.51.100.7, 10.0.0.5";
        let h = headers(&[("x-forwarded-for", spoofed)]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("198.51.100.7"));
        // The same header from a peer that is not a listed proxy is ignored.
        assert_eq!(proxies.client(ip("203.0.113.1"), &h), ip("203.0.113.1"));
        // A Forwarded header, which the proxy passed through from the client, is ignored.
        let h = headers(&[
            ("x-forwarded-for", "192.0.2.99"),
            (
                "forwarded",
                "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https",
            ),
        ]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("192.0.2.99"));
        let h = headers(&[("forwarded", "for=1.1.1.1")]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("10.0.0.9"));
        // Garbage stops the walk at the proxy that passed it on.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, nonsense")]);
        assert_eq!(proxies.client(ip("10.0.0.9"), &h), ip("10.0.0.9"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.9"), &HeaderMap::new()),
            ip("10.0.0.9")
        );
        // Nothing trusted: never read.
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.9"), &h),
            ip("10.0.0.9")
        );
    }
}
