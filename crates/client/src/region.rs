//! The 17 Genesys Cloud regions and environment-string normalisation (docs/protocol.md 1.1, 1.2).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use url::Url;

macro_rules! regions {
    ($( $(#[$m:meta])* $variant:ident => $key:literal, $domain:literal; )+) => {
        /// A Genesys Cloud region (the SDKs' `PureCloudRegionHosts`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum Region { $( $(#[$m])* $variant, )+ }

        impl Region {
            /// Every region, in the SDKs' table order.
            pub const ALL: &'static [Region] = &[ $( Region::$variant ),+ ];

            /// The SDK key, e.g. `eu_west_1`.
            pub fn key(self) -> &'static str {
                match self { $( Region::$variant => $key, )+ }
            }

            /// The environment domain, e.g. `mypurecloud.ie`.
            pub fn domain(self) -> &'static str {
                match self { $( Region::$variant => $domain, )+ }
            }
        }
    };
}

regions! {
    /// US East (Virginia), the default.
    #[default]
    UsEast1 => "us_east_1", "mypurecloud.com";
    /// EU (Ireland).
    EuWest1 => "eu_west_1", "mypurecloud.ie";
    /// Asia Pacific (Sydney).
    ApSoutheast2 => "ap_southeast_2", "mypurecloud.com.au";
    /// Asia Pacific (Tokyo).
    ApNortheast1 => "ap_northeast_1", "mypurecloud.jp";
    /// EU (Frankfurt).
    EuCentral1 => "eu_central_1", "mypurecloud.de";
    /// US West (Oregon).
    UsWest2 => "us_west_2", "usw2.pure.cloud";
    /// Canada (Central).
    CaCentral1 => "ca_central_1", "cac1.pure.cloud";
    /// Asia Pacific (Seoul).
    ApNortheast2 => "ap_northeast_2", "apne2.pure.cloud";
    /// EU (London).
    EuWest2 => "eu_west_2", "euw2.pure.cloud";
    /// Asia Pacific (Mumbai).
    ApSouth1 => "ap_south_1", "aps1.pure.cloud";
    /// US East 2 (FedRAMP).
    UsEast2 => "us_east_2", "use2.us-gov-pure.cloud";
    /// South America (São Paulo).
    SaEast1 => "sa_east_1", "sae1.pure.cloud";
    /// Middle East (UAE).
    MeCentral1 => "me_central_1", "mec1.pure.cloud";
    /// Asia Pacific (Osaka).
    ApNortheast3 => "ap_northeast_3", "apne3.pure.cloud";
    /// EU (Zurich).
    EuCentral2 => "eu_central_2", "euc2.pure.cloud";
    /// Mexico (Central).
    MxCentral1 => "mx_central_1", "mxc1.pure.cloud";
    /// Asia Pacific (Singapore).
    ApSoutheast1 => "ap_southeast_1", "apse1.pure.cloud";
}

impl Region {
    /// The API base URL, e.g. `https://api.mypurecloud.ie`.
    pub fn api_base(self) -> String {
        format!("https://api.{}", self.domain())
    }

    /// The login host the generated SDKs carry (unused by guest chat).
    pub fn login_base(self) -> String {
        format!("https://login.{}", self.domain())
    }

    /// The region whose domain is `domain` (case-insensitive).
    pub fn from_domain(domain: &str) -> Option<Region> {
        Region::ALL
            .iter()
            .copied()
            .find(|r| r.domain().eq_ignore_ascii_case(domain))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Region {
    type Err = InvalidEnvironment;
    /// Accepts the SDK key in any case, with `_` or `-` (`eu_west_1`, `EU-WEST-1`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().replace('-', "_");
        Region::ALL
            .iter()
            .copied()
            .find(|r| r.key().eq_ignore_ascii_case(&norm))
            .ok_or_else(|| InvalidEnvironment::new(s, "not a region key such as eu_west_1"))
    }
}

/// An environment string that cannot be turned into a base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid environment {input:?}: {reason}")]
pub struct InvalidEnvironment {
    /// What was given.
    pub input: String,
    /// Why it was refused.
    pub reason: String,
}

impl InvalidEnvironment {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        // A pasted token must not travel on in an error message.
        InvalidEnvironment {
            input: crate::secret::mask_secrets(input).into_owned(),
            reason: reason.into(),
        }
    }
}

/// Where the API lives: a normalised base URL without a trailing slash.
///
/// Cheap to clone. Built from a [`Region`], or parsed from a string by [`Environment::parse`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Environment {
    base: Arc<str>,
}

impl Environment {
    /// Normalises an environment string.
    ///
    /// - a region key (`eu_west_1`) gives that region;
    /// - a domain, with or without `https://`, `api.` and trailing slashes
    ///   (`mypurecloud.ie`, `api.mypurecloud.ie`, `https://api.mypurecloud.ie/`), gives
    ///   `https://api.<domain>`, exactly as the JavaScript SDK's `setEnvironment`;
    /// - a full URL that the JavaScript SDK would mangle is kept as a base URL: any
    ///   `http://` URL (the emulator, `http://127.0.0.1:8080`), and any URL with a port,
    ///   a path, an IP address or `localhost` as host.
    pub fn parse(input: &str) -> Result<Environment, InvalidEnvironment> {
        let s = input.trim();
        if s.is_empty() {
            return Err(InvalidEnvironment::new(input, "empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEnvironment::new(input, "contains white space"));
        }
        if let Ok(region) = s.parse::<Region>() {
            return Ok(region.into());
        }
        let lower = s.to_ascii_lowercase();
        let (scheme, rest) = if let Some(r) = lower.strip_prefix("https://") {
            ("https", &s[s.len() - r.len()..])
        } else if let Some(r) = lower.strip_prefix("http://") {
            ("http", &s[s.len() - r.len()..])
        } else if lower.contains("://") {
            return Err(InvalidEnvironment::new(
                input,
                "only http and https URLs are supported",
            ));
        } else {
            ("", s)
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Err(InvalidEnvironment::new(input, "no host"));
        }
        let full = format!(
            "{}://{}",
            if scheme.is_empty() { "https" } else { scheme },
            rest
        );
        let url = Url::parse(&full).map_err(|e| InvalidEnvironment::new(input, e.to_string()))?;
        let host = url
            .host_str()
            .ok_or_else(|| InvalidEnvironment::new(input, "no host"))?;
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(InvalidEnvironment::new(
                input,
                "a base URL cannot carry a query, fragment or credentials",
            ));
        }
        let is_ip = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
        // Judge the path as it will be kept (trailing slashes trimmed; `\\` is already
        // normalised to `/`), so that a kept base URL re-parses to itself.
        let has_path = !url.path().trim_end_matches('/').is_empty();
        let keep_as_url = scheme == "http"
            || url.port().is_some()
            || has_path
            || is_ip
            || host.eq_ignore_ascii_case("localhost");
        if keep_as_url {
            let base = url.as_str().trim_end_matches('/').to_owned();
            return Ok(Environment { base: base.into() });
        }
        if !host.contains('.') {
            return Err(InvalidEnvironment::new(
                input,
                "expected a region key, a domain such as mypurecloud.ie, or a URL",
            ));
        }
        let domain = host.strip_prefix("api.").unwrap_or(host);
        Ok(Environment {
            base: format!("https://api.{domain}").into(),
        })
    }

    /// The base URL, e.g. `https://api.mypurecloud.ie` or `http://127.0.0.1:8080`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The region whose API host this is, if any.
    pub fn region(&self) -> Option<Region> {
        let host = self.base.strip_prefix("https://api.")?;
        Region::from_domain(host)
    }
}

impl Default for Environment {
    fn default() -> Self {
        Region::UsEast1.into()
    }
}

impl From<Region> for Environment {
    fn from(r: Region) -> Self {
        Environment {
            base: r.api_base().into(),
        }
    }
}

impl FromStr for Environment {
    type Err = InvalidEnvironment;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Environment::parse(s)
    }
}

impl TryFrom<&str> for Environment {
    type Error = InvalidEnvironment;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Environment::parse(s)
    }
}

impl TryFrom<String> for Environment {
    type Error = InvalidEnvironment;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Environment::parse(&s)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Environment({})", self.base)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> String {
        Environment::parse(s).map_or_else(|e| format!("ERR {e}"), |e| e.base_url().to_owned())
    }

    #[test]
    fn seventeen_regions_with_the_sdk_table() {
        assert_eq!(Region::ALL.len(), 17);
        assert_eq!(Region::EuWest1.api_base(), "https://api.mypurecloud.ie");
        assert_eq!(
            Region::UsEast2.api_base(),
            "https://api.use2.us-gov-pure.cloud"
        );
        assert_eq!(
            Region::ApSoutheast1.login_base(),
            "https://login.apse1.pure.cloud"
        );
        for r in Region::ALL {
            assert_eq!(r.key().parse::<Region>().ok(), Some(*r));
            assert_eq!(Environment::from(*r).region(), Some(*r));
        }
    }

    #[test]
    fn normalises_like_the_js_sdk() {
        for s in [
            "mypurecloud.ie",
            "api.mypurecloud.ie",
            "https://api.mypurecloud.ie/",
            "https://mypurecloud.ie//",
            "HTTPS://api.mypurecloud.ie",
            "eu_west_1",
            "EU-WEST-1",
        ] {
            assert_eq!(base(s), "https://api.mypurecloud.ie", "{s}");
        }
        assert_eq!(base("usw2.pure.cloud"), "https://api.usw2.pure.cloud");
    }

    #[test]
    fn keeps_full_base_urls() {
        assert_eq!(base("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(base("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(
            base("https://gateway.example.com:8443"),
            "https://gateway.example.com:8443"
        );
        assert_eq!(
            base("http://localhost:9/prefix/"),
            "http://localhost:9/prefix"
        );
        assert_eq!(base("127.0.0.1:9000"), "https://127.0.0.1:9000");
        assert_eq!(base("http://[::1]:9000"), "http://[::1]:9000");
    }

    #[test]
    fn a_path_of_only_slashes_is_no_path() {
        // Found by the fuzz test: `A/\` normalised to `https://a`, which did not re-parse.
        assert!(Environment::parse("A/\\").is_err());
        assert_eq!(
            base("https://api.mypurecloud.ie//"),
            "https://api.mypurecloud.ie"
        );
        assert_eq!(
            base("https://gw.example.com/prefix/"),
            "https://gw.example.com/prefix"
        );
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for s in [
            "",
            "  ",
            "my pure cloud",
            "ftp://x.y",
            "https://",
            "nodots",
            "http://a.b/?q=1",
        ] {
            let e = Environment::parse(s).expect_err(s);
            assert_eq!(e.input, s);
            assert!(!e.reason.is_empty());
        }
    }
}
