//! IP rules as written in policy conditions and access-control lists: a
//! single address, a CIDR block, or a range `a-b`, IPv4 or IPv6.

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRule {
    Single(IpAddr),
    Cidr(IpAddr, u8),
    Range(IpAddr, IpAddr),
}

fn as_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl IpRule {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some((ip, len)) = s.split_once('/') {
            let ip: IpAddr = ip.parse().ok()?;
            let len: u8 = len.parse().ok()?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            return (len <= max).then_some(IpRule::Cidr(ip, len));
        }
        if let Some((a, b)) = s.split_once('-') {
            let (a, b): (IpAddr, IpAddr) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            let same_family = a.is_ipv4() == b.is_ipv4();
            return (same_family && as_u128(a) <= as_u128(b)).then_some(IpRule::Range(a, b));
        }
        s.parse().ok().map(IpRule::Single)
    }

    /// Parses a comma-separated list; `None` if any entry is invalid.
    pub fn parse_list(s: &str) -> Option<Vec<Self>> {
        s.split(',').map(Self::parse).collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 address may arrive IPv4-mapped on an IPv6 socket.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match *self {
            IpRule::Single(a) => a == ip,
            IpRule::Cidr(net, len) => {
                if net.is_ipv4() != ip.is_ipv4() {
                    return false;
                }
                let bits = if net.is_ipv4() { 32 } else { 128 };
                let shift = bits - u32::from(len);
                let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
                let mask = if net.is_ipv4() { mask & u128::from(u32::MAX) } else { mask };
                as_u128(net) & mask == as_u128(ip) & mask
            }
            IpRule::Range(a, b) => a.is_ipv4() == ip.is_ipv4() && (as_u128(a)..=as_u128(b)).contains(&as_u128(ip)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rules() {
        let list = IpRule::parse_list("192.168.1.5, 192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32").unwrap();
        let any = |a: &str| list.iter().any(|r| r.contains(ip(a)));
        assert!(any("192.168.1.5"));
        assert!(!any("192.168.1.6"));
        assert!(any("192.168.10.200"));
        assert!(any("192.168.12.15"));
        assert!(!any("192.168.12.20"));
        assert!(any("2001:db8::1"));
        assert!(!any("2001:db9::1"));
        assert!(any("::ffff:192.168.1.5"), "IPv4-mapped addresses match IPv4 rules");
        assert!(IpRule::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["1.2.3.999", "1.2.3.4/33", "1.2.3.9-1.2.3.1", "1.2.3.4-::1", "x"] {
            assert!(IpRule::parse(bad).is_none(), "{bad}");
        }
    }
}
