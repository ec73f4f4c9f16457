//! IPv4/IPv6 CIDR blocks and client-address matching.

use std::fmt;
use std::net::IpAddr;

/// A network block such as `203.0.113.0/24` or `2001:db8::/32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX` (or a bare address, meaning a single host). Host bits set
    /// below the prefix are an error: `10.0.0.1/8` is almost always a typo.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr_s, prefix_s) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_s
            .parse()
            .map_err(|_| format!("{addr_s:?} is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_s {
            None => max,
            Some(p) => {
                if p.is_empty()
                    || p.len() > 3
                    || !p.bytes().all(|b| b.is_ascii_digit())
                    || (p.len() > 1 && p.starts_with('0'))
                {
                    return Err(format!("prefix length {p:?} is not a number in 0..={max}"));
                }
                let n: u8 = p
                    .parse()
                    .map_err(|_| format!("prefix length {p:?} is out of range 0..={max}"))?;
                if n > max {
                    return Err(format!("prefix length {n} is out of range 0..={max}"));
                }
                n
            }
        };
        let cidr = Cidr { addr, prefix };
        if cidr.masked() != bits(addr) {
            return Err(format!("host bits set in {s}"));
        }
        Ok(cidr)
    }

    fn width(&self) -> u32 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    fn mask(&self) -> u128 {
        let w = self.width();
        let all = if w == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        if self.prefix == 0 {
            0
        } else {
            all & !((1u128 << (w - u32::from(self.prefix))) - 1) & all
        }
    }

    fn masked(&self) -> u128 {
        bits(self.addr) & self.mask()
    }

    /// Whether `ip` lies in this block. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
    /// is compared as the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        bits(ip) & self.mask() == self.masked()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Unwraps IPv4-mapped IPv6 addresses to IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Whether any block in `list` contains `ip`.
pub fn any_contains(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_blocks() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains(ip("203.0.113.0")));
        assert!(c.contains(ip("203.0.113.255")));
        assert!(!c.contains(ip("203.0.114.0")));
        assert!(c.contains(ip("::ffff:203.0.113.7")));
        assert!(!c.contains(ip("2001:db8::1")));
        assert_eq!(c.to_string(), "203.0.113.0/24");
    }

    #[test]
    fn v6_blocks() {
        let c = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        assert!(!c.contains(ip("203.0.113.1")));
    }

    #[test]
    fn edges() {
        let all4 = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all4.contains(ip("255.255.255.255")));
        assert!(!all4.contains(ip("::1")));
        let all6 = Cidr::parse("::/0").unwrap();
        assert!(all6.contains(ip("::1")));
        let host = Cidr::parse("192.0.2.1").unwrap();
        assert!(host.contains(ip("192.0.2.1")) && !host.contains(ip("192.0.2.2")));
        let h6 = Cidr::parse("2001:db8::1/128").unwrap();
        assert!(h6.contains(ip("2001:db8::1")));
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(
            Cidr::parse("10.0.0.1/8").unwrap_err(),
            "host bits set in 10.0.0.1/8"
        );
        assert!(
            Cidr::parse("10.0.0.0/33")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            Cidr::parse("10.0.0.0/")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Cidr::parse("10.0.0.0/08")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(Cidr::parse("10.0.0/8").unwrap_err().contains("not an IPv4"));
        assert!(
            Cidr::parse("2001:db8::1/32")
                .unwrap_err()
                .contains("host bits")
        );
    }
}
