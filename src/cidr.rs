//! IPv4/IPv6 CIDR blocks and client-address matching.
//!
//! Client addresses are compared in canonical form: an IPv4-mapped IPv6 address
//! (`::ffff:198.51.100.7`) is the IPv4 address it carries. Rules are put in the same form when
//! they are read, so `::ffff:198.51.100.0/120` is `198.51.100.0/24`; a rule no client address
//! can ever fall in (an IPv4-compatible `::198.51.100.0/120`) is refused.

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
    /// below the prefix are an error: `10.0.0.1/8` is almost always a typo. An IPv4-mapped
    /// block (`::ffff:198.51.100.0/120`) becomes the IPv4 block it means (`198.51.100.0/24`),
    /// since client addresses are compared that way; an IPv4-compatible block
    /// (`::198.51.100.0/120`, deprecated by RFC 4291 §2.5.5.1), which no client address can
    /// fall in, is an error.
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
        let IpAddr::V6(v6) = addr else {
            return Ok(cidr);
        };
        if let Some(v4) = v6.to_ipv4_mapped()
            && prefix >= 96
        {
            return Ok(Cidr {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        // Inside ::/96 the only address a client can have is the loopback ::1.
        let loopback = u128::from(std::net::Ipv6Addr::LOCALHOST);
        if prefix >= 96 && bits(addr) >> 32 == 0 && !cidr.contains_bits(loopback) {
            let v4 = std::net::Ipv4Addr::from((bits(addr) & 0xffff_ffff) as u32);
            return Err(format!(
                "{s} can never match: no client has an IPv4-compatible address (::a.b.c.d, deprecated); for IPv4 write {v4}/{}",
                prefix - 96
            ));
        }
        Ok(cidr)
    }

    fn contains_bits(&self, b: u128) -> bool {
        b & self.mask() == self.masked()
    }

    /// Whether every address of `other` is also in this block.
    pub fn covers(&self, other: &Cidr) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && self.prefix <= other.prefix
            && self.contains_bits(bits(other.addr))
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
        ip.is_ipv4() == self.addr.is_ipv4() && self.contains_bits(bits(ip))
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
    fn mapped_rules_are_ipv4_rules() {
        let c = Cidr::parse("::ffff:198.51.100.0/120").unwrap();
        assert_eq!(c, Cidr::parse("198.51.100.0/24").unwrap());
        assert_eq!(c.to_string(), "198.51.100.0/24");
        assert!(c.contains(ip("198.51.100.7")));
        assert!(c.contains(ip("::ffff:198.51.100.7")));
        assert_eq!(
            Cidr::parse("::ffff:203.0.113.9").unwrap().to_string(),
            "203.0.113.9/32"
        );
        assert_eq!(
            Cidr::parse("::ffff:0:0/96").unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert!(
            Cidr::parse("::ffff:198.51.100.1/120")
                .unwrap_err()
                .contains("host bits")
        );
    }

    #[test]
    fn rules_no_client_can_match_are_refused() {
        let e = Cidr::parse("::198.51.100.0/120").unwrap_err();
        assert!(
            e.contains("never match") && e.contains("198.51.100.0/24"),
            "{e}"
        );
        assert!(Cidr::parse("::/128").unwrap_err().contains("never match"));
        for ok in ["::1", "::1/128", "::/127", "::/96", "::/0", "::/64"] {
            assert!(Cidr::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn covering() {
        let c = |s| Cidr::parse(s).unwrap();
        assert!(c("10.0.0.0/8").covers(&c("10.1.0.0/16")));
        assert!(c("10.0.0.0/8").covers(&c("10.0.0.0/8")));
        assert!(!c("10.1.0.0/16").covers(&c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/8").covers(&c("11.0.0.0/16")));
        assert!(!c("::/0").covers(&c("10.0.0.0/8")));
        assert!(c("0.0.0.0/0").covers(&c("::ffff:10.0.0.0/104")));
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
