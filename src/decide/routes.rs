//! Which route rules a request falls under, read every way an origin may read it.
//!
//! The canonical path (`route::NormalizedPath`) still leaves two things to the origin's
//! taste: letter case and the trailing slash. And the method an origin acts on may be the
//! one sent, its upper-case form (`patch` is PATCH to Express and to Node's parser), or an
//! override (`X-HTTP-Method-Override`, Symfony's and Laravel's `_method`). Each combination
//! is a *reading*; the first rule that matches each reading applies, and the request must
//! satisfy all of them: it is public only when every reading lands on a public rule, it
//! needs the scopes of every rule reached, and `route_denied` when any reading falls to a
//! `deny` default. So whichever way the origin reads the request, the rule for that reading
//! was checked.
//!
//! A POST's body may name the method too (`_method`: Rack, Laravel, Symfony), and keygate does
//! not read bodies: under `policy.body_method_override: "every_method"` a request read as POST
//! is read as every method as well.

use crate::keyset::{
    BodyMethodOverride, DefaultRoute, KeyEntry, KeySet, PathCase, Route, TrailingSlash,
};
use crate::request::METHOD_OVERRIDE_FIELDS as OVERRIDE_HEADERS;
use crate::request::Request;
use crate::route::{NormalizedPath, Reading};
use crate::sig::ComponentId;

use super::Refusal;
use super::decision::Reason;

/// The methods RFC 9110 and RFC 5789 define; a token equal to one of them ignoring case is
/// also read as that method.
const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The rules a request falls under.
pub(super) struct RouteMatch<'k> {
    routes: &'k [Route],
    /// Every reading reached a public rule.
    pub(super) public: bool,
    /// The rules reached (a bit per rule, in key-set order).
    reached: Bits,
    /// Some reading matched no rule, so the default route applies too.
    pub(super) default: bool,
    /// The rule reported on the decision (its index in the key set): the first non-public
    /// rule reached, else the public rule of the request as sent.
    pub(super) name: Option<u32>,
}

/// A set of small numbers, inline up to 256.
enum Bits {
    Inline([u64; 4]),
    Heap(Vec<u64>),
}

impl Bits {
    fn new(n: usize) -> Bits {
        if n <= 256 {
            Bits::Inline([0; 4])
        } else {
            Bits::Heap(vec![0; n.div_ceil(64)])
        }
    }

    fn words(&mut self) -> &mut [u64] {
        match self {
            Bits::Inline(w) => w,
            Bits::Heap(w) => w,
        }
    }

    fn insert(&mut self, i: usize) {
        self.words()[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, i: usize) -> bool {
        let w = match self {
            Bits::Inline(w) => &w[..],
            Bits::Heap(w) => &w[..],
        };
        w.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Calls `visit` with every method an origin may act on: the method as sent (RFC 9110:
/// methods are case-sensitive), its standard spelling, and every override (headers and the
/// `_method` query parameter), each in its standard spelling when it is one. A reading may
/// come twice; visiting is idempotent.
fn method_readings(req: &Request, mut visit: impl FnMut(&str)) {
    let sent = req.method();
    visit(sent);
    let mut add = |m: &str| {
        if !crate::request::is_token(m) {
            return;
        }
        let m = STANDARD_METHODS
            .iter()
            .find(|s| s.eq_ignore_ascii_case(m))
            .map_or(m, |s| s);
        // The method as sent was visited first (visiting it again changes nothing).
        if m != sent {
            visit(m);
        }
    };
    add(sent);
    // Each element of a comma-separated list: a field sent twice reaches the origin as one
    // value joined with ", " (Node, workerd's `Headers`), and Express's `method-override`
    // acts on its first element (`DELETE, x` is DELETE).
    for name in OVERRIDE_HEADERS {
        for v in req.header_values(name) {
            for part in v.split(',') {
                add(part.trim());
            }
        }
    }
    query_overrides(req, &mut |v| add(&form_decode(v)));
}

/// Calls `visit` with the raw value of each query parameter named `_method` in any spelling an
/// origin reads as that name: each character literal or `%XX`, and PHP's (Symfony's,
/// Laravel's) reading of names, which drops leading spaces and reads ` ` and `.` as `_`
/// (`?.method=`, `?+_method=`). Split at `&` and at `;` (query parsers that take both: PHP
/// with `arg_separator.input = "&;"`, Python before 3.9.2, Rack 2). One pass over the bytes,
/// decoding only names that may read as `_method` (a raw name starting with `_`, `%`, `.`,
/// `+` or a space).
// One copy for both callers (`dyn`), out of line: most requests have no query to scan.
#[inline(never)]
pub(super) fn query_overrides(req: &Request, visit: &mut dyn FnMut(&str)) {
    let query = req.query().unwrap_or("");
    let b = query.as_bytes();
    let mut start = 0;
    while start <= b.len() {
        let end = b[start..]
            .iter()
            .position(|&c| c == b'&' || c == b';')
            .map_or(b.len(), |i| start + i);
        if matches!(b.get(start), Some(b'_' | b'%' | b'.' | b'+' | b' '))
            && let Some((name, value)) = query[start..end].split_once('=')
            && (name == "_method" || is_method_param(name))
        {
            visit(value);
        }
        start = end + 1;
    }
}

/// Whether a raw query parameter name reads as `_method` to some origin: form-decoded, then
/// as PHP registers it (the name ends at a NUL, leading spaces dropped, ` ` and `.` read as
/// `_`).
fn is_method_param(raw: &str) -> bool {
    // Any number of leading spaces may come first, so no length bound: each name is decoded
    // once, so the work is linear in the query's length.
    let name = form_decode(raw);
    let name = name.split('\0').next().unwrap_or("");
    let name = name.trim_start_matches(' ');
    name.len() == 7
        && name
            .bytes()
            .zip("_method".bytes())
            .all(|(c, m)| c == m || (m == b'_' && matches!(c, b' ' | b'.')))
}

/// Calls `visit` with one method of each class of `method_readings` that `routes` tell apart:
/// each method a rule lists, `HEAD` (rules listing `GET` apply to it), and one for all the
/// others (a rule lists none of them: only the rules for every method apply). The method as
/// sent comes first. A request may carry thousands of readings (a field of comma-separated
/// elements, `_method` parameters), each judged against every rule under every path reading:
/// the work is at most one judging per class, plus one lookup per reading.
///
/// With `post_is_any` (`policy.body_method_override: "every_method"`), a request read as POST
/// is then judged under every class it was not read as: its body may name any method (Rack's
/// `MethodOverride`, Laravel, Symfony), and keygate does not read the body.
fn method_classes<'k>(
    routes: &'k [Route],
    req: &Request,
    post_is_any: bool,
    mut visit: impl FnMut(&str),
) {
    let sent = req.method();
    // The methods the rules list, in order, and whether each class was judged (the listed
    // ones by where the rules first list them, then HEAD, then every other method). Built at
    // the first reading past the method as sent (most requests have none).
    let mut listed: Vec<&str> = Vec::new();
    let mut seen: Vec<bool> = Vec::new();
    let class = |listed: &[&str], m: &str| {
        if m == "HEAD" {
            return listed.len();
        }
        listed
            .iter()
            .position(|l| *l == m)
            .unwrap_or(listed.len() + 1)
    };
    let first_past_sent = |listed: &mut Vec<&'k str>, seen: &mut Vec<bool>| {
        for r in routes {
            if let Some(ms) = &r.methods {
                for l in ms {
                    listed.push(l);
                }
            }
        }
        *seen = vec![false; listed.len() + 2];
        seen[class(listed, sent)] = true;
    };
    let mut post = false;
    method_readings(req, |m| {
        // One test of a `false` flag per reading under the default policy.
        if post_is_any && m == "POST" {
            post = true;
        }
        if m != sent {
            if seen.is_empty() {
                first_past_sent(&mut listed, &mut seen);
            }
            let c = class(&listed, m);
            if seen[c] {
                return;
            }
            seen[c] = true;
        }
        visit(m);
    });
    if post {
        if seen.is_empty() {
            first_past_sent(&mut listed, &mut seen);
        }
        for (c, judged) in seen.iter().enumerate() {
            let m = match c {
                // A method listed again, or `HEAD` listed, is judged at its own class.
                c if c < listed.len() && class(&listed, listed[c]) == c => listed[c],
                c if c < listed.len() => continue,
                c if c == listed.len() => "HEAD",
                // Rules list upper-case tokens only (`check_method`): a lower-case name is
                // never listed, so it stands for every method no rule lists.
                _ => "unlisted",
            };
            if !judged {
                visit(m);
            }
        }
    }
}

/// `application/x-www-form-urlencoded` decoding, lossy (enough to read a method name).
fn form_decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 2;
            }
            (b'+', _, _) => out.push(b' '),
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rules `req` falls under, read every way the key set's policy admits.
pub(super) fn judge<'k>(ks: &'k KeySet, req: &Request, path: &NormalizedPath) -> RouteMatch<'k> {
    let policy = ks.policy();
    let mut readings = [Reading::default(); 4];
    let mut n = 0;
    for r in Reading::all(
        policy.path_case == PathCase::Sensitive,
        policy.trailing_slash == TrailingSlash::Significant,
    ) {
        readings[n] = r;
        n += 1;
    }
    let readings = &readings[..n];
    let routes = ks.routes();
    // For each rule, the path readings it matches (a bit per reading), computed once.
    let mask = |r: &Route| r.path.reading_mask(path, readings);
    let mut inline = [0u8; 32];
    let mut heap = Vec::new();
    let masks: &[u8] = if routes.len() <= inline.len() {
        for (m, r) in inline.iter_mut().zip(routes) {
            *m = mask(r);
        }
        &inline[..routes.len()]
    } else {
        heap.extend(routes.iter().map(mask));
        &heap
    };
    let mut m = RouteMatch {
        routes,
        public: true,
        reached: Bits::new(routes.len()),
        default: false,
        name: None,
    };
    let post_is_any = policy.body_method_override == BodyMethodOverride::EveryMethod;
    method_classes(routes, req, post_is_any, |method| {
        for bit in 0..readings.len() {
            let first = routes
                .iter()
                .enumerate()
                .find(|(i, r)| masks[*i] & (1 << bit) != 0 && r.applies_to_method(method));
            match first {
                None => {
                    m.public = false;
                    m.default = true;
                }
                Some((i, r)) => {
                    if !r.public {
                        m.public = false;
                    }
                    m.reached.insert(i);
                }
            }
        }
    });
    let reached = |i: &usize| m.reached.contains(*i);
    let first_rule = (0..routes.len())
        .filter(reached)
        .find(|&i| !routes[i].public);
    m.name = match first_rule {
        Some(i) => Some(i as u32),
        None if m.public => (0..routes.len()).find(reached).map(|i| i as u32),
        None => None,
    };
    m
}

/// `route_denied` (some reading fell to a `deny` default) and `scope_missing` (the key lacks
/// a scope of a rule reached).
pub(super) fn check(ks: &KeySet, m: &RouteMatch<'_>, key: &KeyEntry) -> Result<(), Refusal> {
    if m.default && ks.policy().default_route == DefaultRoute::Deny {
        return Err(Refusal::new(
            Reason::RouteDenied,
            if m.rules().next().is_none() {
                "no route allows this method and path"
            } else if ks.policy().body_method_override == BodyMethodOverride::EveryMethod {
                "no route allows this method and path as some origins read it (letter case, trailing slash, a method override, or another method a POST body may name: policy.body_method_override)"
            } else {
                "no route allows this method and path as some origins read it (letter case, trailing slash or method override)"
            },
        ));
    }
    for route in m.rules() {
        if route.scopes.iter().all(|s| key.grants(s)) {
            continue;
        }
        let missing: Vec<&str> = route
            .scopes
            .iter()
            .filter(|s| !key.grants(s))
            .map(String::as_str)
            .collect();
        return Err(Refusal::new(
            Reason::ScopeMissing,
            format!(
                "key {:?} lacks scope {} required by {}",
                key.id,
                missing.join(", "),
                route.path
            ),
        ));
    }
    Ok(())
}

impl<'k> RouteMatch<'k> {
    /// The non-public rules reached, in key-set order, each once.
    pub(super) fn rules(&self) -> impl Iterator<Item = &'k Route> + '_ {
        self.routes
            .iter()
            .enumerate()
            .filter(|(i, r)| !r.public && self.reached.contains(*i))
            .map(|(_, r)| r)
    }

    /// On a webhook route: the keys whose deliveries it accepts — those every reached rule
    /// with `webhook_keys` lists (the stricter reading wins), in the first such rule's order.
    /// `None` when no rule reached lists any (webhook headers are then ignored).
    pub(super) fn webhook_keys(&self) -> Option<Vec<&'k str>> {
        let mut lists = self.rules().filter(|r| !r.webhook_keys.is_empty());
        let first: &'k Route = lists.next()?;
        let rest: Vec<&Route> = lists.collect();
        Some(
            first
                .webhook_keys
                .iter()
                .filter(|id| rest.iter().all(|r| r.webhook_keys.contains(id)))
                .map(String::as_str)
                .collect(),
        )
    }

    /// Whether a rule reached requires a signed request.
    pub(super) fn requires_signature(&self) -> bool {
        self.rules().any(|r| r.signature.require_signature)
    }

    /// The components the rules reached add to the policy's, each once.
    pub(super) fn components(&self) -> Vec<&'k ComponentId> {
        let mut out: Vec<&ComponentId> = Vec::new();
        for c in self
            .rules()
            .flat_map(|r| r.signature.required_components.iter())
        {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(m: &str, url: &str, headers: &[(&str, &str)]) -> Vec<String> {
        let mut r = Request::new(m, url).unwrap();
        for (n, v) in headers {
            r.push_header(n, v);
        }
        let mut out: Vec<String> = Vec::new();
        method_readings(&r, |m| {
            if !out.iter().any(|x| x == m) {
                out.push(m.to_string());
            }
        });
        out
    }

    /// The methods `method_classes` judges for a request, under rules listing `listed`.
    fn judged(listed: &[&str], m: &str, url: &str, headers: &[(&str, &str)]) -> Vec<String> {
        judged_as(false, listed, m, url, headers)
    }

    /// [`judged`], with `post_is_any` (`body_method_override: "every_method"`) as given.
    fn judged_as(
        post_is_any: bool,
        listed: &[&str],
        m: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Vec<String> {
        let mut r = Request::new(m, url).unwrap();
        for (n, v) in headers {
            r.push_header(n, v);
        }
        let rules: Vec<String> = listed
            .iter()
            .map(|m| format!(r#"{{"methods":["{m}"],"path":"/**"}}"#))
            .collect();
        let json = format!(
            r#"{{"keygate":1,"revision":1,"keys":[],"routes":[{}]}}"#,
            rules.join(",")
        );
        let ks = KeySet::from_json(json.as_bytes()).unwrap();
        let mut out = Vec::new();
        method_classes(ks.routes(), &r, post_is_any, |m| out.push(m.to_string()));
        out
    }

    #[test]
    fn many_override_elements_are_judged_once_per_class() {
        // 20,000 elements (a field of about 120 KB): each distinct method a rule lists is
        // judged once, every method none lists once for all (they match the same rules: here
        // with POST, as sent).
        let many: String = (0..20_000)
            .map(|i| ["PURGE", "DELETE", "get", "X"][i % 4].to_string() + &"A".repeat(i % 7))
            .collect::<Vec<_>>()
            .join(",");
        let query = "_method=PURGE&".repeat(500) + "_method=Zz";
        let url = format!("https://h/x?{query}");
        let got = judged(
            &["PURGE", "DELETE"],
            "POST",
            &url,
            &[("x-http-method-override", &many)],
        );
        assert_eq!(
            got,
            ["POST", "PURGE", "DELETE"],
            "{:?}",
            &got[..got.len().min(8)]
        );
        // HEAD is its own class (it matches rules listing GET).
        assert_eq!(
            judged(
                &["GET"],
                "POST",
                "https://h/",
                &[("x-method-override", "HEAD, FOO, GET, BAR, head")]
            ),
            ["POST", "HEAD", "GET"]
        );
        // The method as sent is judged first, once.
        assert_eq!(
            judged(
                &[],
                "PURGE",
                "https://h/?_method=purge",
                &[("x-http-method", "PURGE")]
            ),
            ["PURGE"]
        );
    }

    #[test]
    fn a_post_may_be_every_method_once_each() {
        let every = |listed: &[&str], m: &str, url: &str, headers: &[(&str, &str)]| {
            judged_as(true, listed, m, url, headers)
        };
        // Each listed method once (a method listed twice, or HEAD listed, at its own class),
        // HEAD, and the class of unlisted methods (POST's own here, judged as sent).
        assert_eq!(
            every(
                &["PURGE", "DELETE", "DELETE", "HEAD"],
                "POST",
                "https://h/",
                &[]
            ),
            ["POST", "PURGE", "DELETE", "HEAD"]
        );
        // POST listed: the unlisted methods are judged too, by a name no rule can list.
        assert_eq!(
            every(&["POST", "DELETE"], "POST", "https://h/", &[]),
            ["POST", "DELETE", "HEAD", "unlisted"]
        );
        // Readings judged already are not judged again.
        assert_eq!(
            every(
                &["POST", "DELETE", "GET"],
                "POST",
                "https://h/?_method=get",
                &[("x-http-method-override", "DELETE")]
            ),
            ["POST", "DELETE", "GET", "HEAD", "unlisted"]
        );
        // Read as POST in any way: `post` (Symfony upper-cases the method), an override (POST
        // is judged with `post`, `GET` with the unlisted methods: no rule lists them).
        assert_eq!(
            every(&["DELETE"], "post", "https://h/", &[]),
            ["post", "DELETE", "HEAD"]
        );
        assert_eq!(
            every(&["DELETE"], "GET", "https://h/?_method=POST", &[]),
            ["GET", "DELETE", "HEAD"]
        );
        // Not read as POST: only its own readings.
        for m in ["GET", "PUT", "DELETE", "PATCH", "HEAD"] {
            assert_eq!(every(&["DELETE", "POST"], m, "https://h/", &[]), [m]);
        }
        assert_eq!(
            every(
                &["DELETE", "POST", "PATCH"],
                "PUT",
                "https://h/",
                &[("x-http-method", "PATCH")]
            ),
            ["PUT", "PATCH"]
        );
        // Under the default policy a POST is its own readings only.
        assert_eq!(judged(&["DELETE"], "POST", "https://h/", &[]), ["POST"]);
    }

    #[test]
    fn method_readings_cover_case_and_overrides() {
        assert_eq!(methods("GET", "https://h/", &[]), ["GET"]);
        assert_eq!(methods("patch", "https://h/", &[]), ["patch", "PATCH"]);
        assert_eq!(methods("PURGE", "https://h/", &[]), ["PURGE"]);
        assert_eq!(
            methods(
                "POST",
                "https://h/",
                &[("X-HTTP-Method-Override", "delete")]
            ),
            ["POST", "DELETE"]
        );
        assert_eq!(
            methods("POST", "https://h/x?a=1&_method=PUT", &[]),
            ["POST", "PUT"]
        );
        assert_eq!(
            methods("POST", "https://h/x?%5Fmethod=p%61tch", &[]),
            ["POST", "PATCH"]
        );
        assert_eq!(
            methods(
                "POST",
                "https://h/",
                &[("X-Method-Override", "not a token")]
            ),
            ["POST"]
        );
        // A list (a field sent twice, joined): every element is a reading.
        assert_eq!(
            methods(
                "POST",
                "https://h/",
                &[("X-HTTP-Method-Override", "delete , PUT,,x y")]
            ),
            ["POST", "DELETE", "PUT"]
        );
        // PHP's reading of parameter names, and `;` as a separator.
        for url in [
            "https://h/x?.method=DELETE",
            "https://h/x?+_method=DELETE",
            "https://h/x?%20%20.method=DELETE",
            "https://h/x?a=1;_method=DELETE",
            "https://h/x?_method%2E=GET&%2Emethod=delete",
            "https://h/x?_method%00x=DELETE",
        ] {
            assert_eq!(methods("POST", url, &[]), ["POST", "DELETE"], "{url}");
        }
        for url in [
            "https://h/x?x_method=DELETE",
            "https://h/x?_methods=DELETE",
            "https://h/x?_meth.d=DELETE",
        ] {
            assert_eq!(methods("POST", url, &[]), ["POST"], "{url}");
        }
    }

    #[test]
    fn form_decoding_is_total() {
        assert_eq!(form_decode("a+b%41%"), "a bA%");
        assert_eq!(form_decode("%zz%4%+1"), "%zz%4% 1");
        assert_eq!(form_decode("%c3%a9"), "é");
    }
}
