//! The dashboard: one HTML page, its script and stylesheet (embedded from
//! `dashboard/`), and `config.json`, which tells the page where supervisors
//! sign in. None of them carries campaign data: the page reads everything
//! from the `/ui/...` routes with the signed-in person's token.
//!
//! Every answer carries a strict `Content-Security-Policy` (no inline script
//! or style, no framing, network only to this origin and the token
//! endpoint), `X-Content-Type-Options: nosniff` and `Referrer-Policy:
//! no-referrer`.
//!
//! Sign-in settings come from the environment (set by `template.yaml` on the
//! function that serves the page): [`ENV_AUTHORIZE_URL`],
//! [`ENV_TOKEN_URL`], [`ENV_CLIENT_ID`], optionally [`ENV_LOGOUT_URL`] and
//! [`ENV_SCOPES`]. Without them (local runs) `config.json` answers
//! `{"auth": null}` and the page calls `/ui/...` without a token.

use lambda_http::http::{HeaderName, HeaderValue};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

use crate::api::{json_response, with_type};
use crate::routes::{ApiRequest, DashboardAsset, Route};

/// The page.
const INDEX_HTML: &str = include_str!("dashboard/index.html");
/// The page's script.
const APP_JS: &str = include_str!("dashboard/app.js");
/// The page's stylesheet.
const APP_CSS: &str = include_str!("dashboard/app.css");

/// OAuth 2.0 authorization endpoint (e.g. Cognito's `https://DOMAIN/oauth2/authorize`).
pub const ENV_AUTHORIZE_URL: &str = "DASHBOARD_AUTHORIZE_URL";
/// OAuth 2.0 token endpoint (e.g. `https://DOMAIN/oauth2/token`).
pub const ENV_TOKEN_URL: &str = "DASHBOARD_TOKEN_URL";
/// The app client's id (a public client: no secret).
pub const ENV_CLIENT_ID: &str = "DASHBOARD_CLIENT_ID";
/// Optional sign-out endpoint (Cognito's `https://DOMAIN/logout`).
pub const ENV_LOGOUT_URL: &str = "DASHBOARD_LOGOUT_URL";
/// Optional scopes (default [`DEFAULT_SCOPES`]).
pub const ENV_SCOPES: &str = "DASHBOARD_SCOPES";
/// The scopes asked for: an ID token with the person's email.
pub const DEFAULT_SCOPES: &str = "openid email profile";

/// Where the page signs people in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    /// Authorization endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// Sign-out endpoint, if any.
    pub logout_url: Option<String>,
    /// The app client's id.
    pub client_id: String,
    /// Space-separated scopes.
    pub scopes: String,
}

impl SignIn {
    /// The settings from `var` (the environment in production); `None`
    /// unless the authorization and token endpoints and the client id are
    /// all set (local mode).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Some(Self {
            authorize_url: get(ENV_AUTHORIZE_URL)?,
            token_url: get(ENV_TOKEN_URL)?,
            logout_url: get(ENV_LOGOUT_URL),
            client_id: get(ENV_CLIENT_ID)?,
            scopes: get(ENV_SCOPES).unwrap_or_else(|| DEFAULT_SCOPES.to_owned()),
        })
    }

    /// The settings from the process environment.
    pub fn from_env() -> Option<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// `config.json`'s `auth` object.
    fn to_json(&self) -> Value {
        json!({"authorizeUrl": self.authorize_url, "tokenUrl": self.token_url,
               "logoutUrl": self.logout_url, "clientId": self.client_id, "scopes": self.scopes})
    }
}

/// The origin (`scheme://host[:port]`) of `url`, when it is an `https` URL
/// or an `http` one on the loopback interface (safe in a CSP source list).
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let safe_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let loopback = host.starts_with("localhost") || host.starts_with("127.0.0.1");
    match scheme {
        "https" if safe_host => Some(format!("https://{host}")),
        "http" if safe_host && loopback => Some(format!("http://{host}")),
        _ => None,
    }
}

/// The Content-Security-Policy: scripts and styles from this origin only,
/// `fetch` to this origin and the token endpoint, no framing, no plugins.
pub fn content_security_policy(sign_in: Option<&SignIn>) -> String {
    let token_origin = sign_in
        .and_then(|s| origin(&s.token_url))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'{token_origin}; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// The dashboard's answer for `request` (the page, `app.js`, `app.css` or
/// `config.json`), with the security headers.
pub fn page(request: &ApiRequest) -> Response<Body> {
    let sign_in = SignIn::from_env();
    let mut response = match request.route {
        Route::DashboardAsset(DashboardAsset::Script) => {
            with_type(200, APP_JS.to_owned(), "text/javascript; charset=utf-8")
        }
        Route::DashboardAsset(DashboardAsset::Style) => {
            with_type(200, APP_CSS.to_owned(), "text/css; charset=utf-8")
        }
        Route::DashboardAsset(DashboardAsset::Config) => {
            json_response(200, &json!({"auth": sign_in.as_ref().map(SignIn::to_json)}))
        }
        _ => with_type(200, INDEX_HTML.to_owned(), "text/html; charset=utf-8"),
    };
    let csp = content_security_policy(sign_in.as_ref());
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", csp.as_str()),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-cache"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn sign_in_needs_both_endpoints_and_the_client() {
        assert_eq!(SignIn::from_vars(vars(&[])), None);
        assert_eq!(
            SignIn::from_vars(vars(&[(ENV_AUTHORIZE_URL, "https://a/oauth2/authorize")])),
            None
        );
        let s = SignIn::from_vars(vars(&[
            (
                ENV_AUTHORIZE_URL,
                "https://auth.example.com/oauth2/authorize",
            ),
            (ENV_TOKEN_URL, "https://auth.example.com/oauth2/token"),
            (ENV_CLIENT_ID, "abc123"),
        ]))
        .unwrap();
        assert_eq!(s.scopes, DEFAULT_SCOPES);
        assert_eq!(s.logout_url, None);
        let csp = content_security_policy(Some(&s));
        assert!(
            csp.contains("connect-src 'self' https://auth.example.com;"),
            "{csp}"
        );
    }

    #[test]
    fn the_policy_forbids_inline_code_and_framing() {
        let csp = content_security_policy(None);
        assert!(csp.contains("script-src 'self';"));
        assert!(csp.contains("style-src 'self';"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe"));
        assert_eq!(origin("http://evil.example.com/x"), None);
        assert_eq!(origin("https://a b/x"), None);
        assert_eq!(
            origin("http://127.0.0.1:9000/token").as_deref(),
            Some("http://127.0.0.1:9000")
        );
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains("style="));
        // No inline event handlers (` onclick=` and the like).
        let handlers = INDEX_HTML.split(" on").skip(1).filter(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0);
        // Every <script> has a src and no body.
        for part in INDEX_HTML.split("<script").skip(1) {
            assert!(part.trim_start().starts_with("src="), "{part}");
            assert!(part.contains("></script>"));
        }
        assert!(APP_JS.contains("/ui"));
        assert!(!APP_CSS.is_empty());
    }
}
