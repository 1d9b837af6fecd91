//! The operator API's routing table: which route a request is for, and the
//! parts of the request every route reads.
//!
//! Every route exists twice: under `/campaigns...` (and `/`) for scripts,
//! signed with IAM (SigV4), and under `/ui/...` for the dashboard in a
//! browser, behind the JWT authorizer (a browser cannot sign SigV4). Both
//! reach the same handlers; the actor is the IAM principal or the signed-in
//! person (`jwt:<email>`).

use chrono::{DateTime, Utc};
use lambda_http::Request;

use shared::api_error::{parse_skill_id, ApiError};
use shared::gateway::Envelope;

/// Largest body the API accepts, in bytes (every route but the contact upload).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest contact upload, in bytes: API Gateway's own payload limit (10 MB),
/// which answers 413 itself above it.
pub const MAX_CONTACTS_BODY_BYTES: usize = 10 * 1024 * 1024;
/// The function's name, as actor when no principal is known.
pub const FUNCTION_NAME: &str = "campaign-api";
/// The path prefix of the routes the dashboard calls (JWT-authorised).
pub const UI_PREFIX: &str = "ui";

/// The routes this function serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /` or `GET /dashboard`: the dashboard page.
    Dashboard,
    /// `GET /dashboard/app.js`, `/dashboard/app.css`, `/dashboard/config.json`:
    /// the page's script, stylesheet and sign-in settings (no data).
    DashboardAsset(DashboardAsset),
    /// `GET /campaigns`: every configured campaign with its health summary.
    ListCampaigns,
    /// `GET /campaigns/{skillId}/health`.
    Health,
    /// `GET /campaigns/{skillId}/config`.
    GetConfig,
    /// `PUT /campaigns/{skillId}/config`.
    PutConfig,
    /// `POST /campaigns/{skillId}/pause`.
    Pause,
    /// `POST /campaigns/{skillId}/resume`.
    Resume,
    /// `POST /campaigns/{skillId}/failback`.
    Failback,
    /// `PUT /campaigns/{skillId}/pacing` (`?dryRun=true` simulates only).
    PutPacing,
    /// `GET /campaigns/{skillId}/audit?from&to&kind&limit&cursor`.
    Audit,
    /// `POST /campaigns`: provisions a new campaign (skill, settings, DNC,
    /// schedule, disabled config).
    ProvisionCampaign,
    /// `POST /campaigns/{skillId}/contacts`: consent-checked contact intake.
    UploadContacts,
    /// `GET /campaigns/{skillId}/contacts/uploads/{uploadId}`: where an
    /// upload stands.
    UploadStatus,
}

/// The dashboard's files other than the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DashboardAsset {
    /// `app.js`.
    Script,
    /// `app.css`.
    Style,
    /// `config.json`: where the page signs people in.
    Config,
}

impl Route {
    /// Whether the route names a campaign (`{skillId}` in its path).
    pub fn has_skill(self) -> bool {
        !matches!(
            self,
            Route::Dashboard
                | Route::DashboardAsset(_)
                | Route::ListCampaigns
                | Route::ProvisionCampaign
        )
    }

    /// The largest body the route accepts, in bytes.
    pub fn max_body_bytes(self) -> usize {
        match self {
            Route::UploadContacts => MAX_CONTACTS_BODY_BYTES,
            _ => MAX_BODY_BYTES,
        }
    }
}

/// A request, parsed from API Gateway's event.
#[derive(Debug)]
pub struct ApiRequest {
    /// Which route.
    pub route: Route,
    /// The campaign (0 for routes without one).
    pub skill_id: i64,
    /// Whether it came through the dashboard's `/ui` routes.
    pub via_ui: bool,
    /// API Gateway's request time (`requestContext.timeEpoch`).
    pub time: DateTime<Utc>,
    /// The IAM principal, the signed-in person, or the function's name.
    pub actor: String,
    /// The request id.
    pub request_id: String,
    /// The rest of the envelope: body, query, idempotency key.
    pub envelope: Envelope,
    /// The `Content-Type` header's media type, lower case, without parameters.
    pub content_type: Option<String>,
}

impl ApiRequest {
    /// Raw body bytes.
    pub fn body(&self) -> &[u8] {
        &self.envelope.body
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.envelope.query_param(name)
    }
}

/// Which route `method` on the path's `segments` (without the `/ui` prefix) is.
fn route_of(method: &str, segments: &[&str]) -> Result<Route, Option<&'static str>> {
    // Err(None): no such path; Err(Some(allowed)): the path exists, not the method.
    let (route, allowed) = match segments {
        [""] | ["dashboard"] => (Route::Dashboard, "GET"),
        ["dashboard", "app.js"] => (Route::DashboardAsset(DashboardAsset::Script), "GET"),
        ["dashboard", "app.css"] => (Route::DashboardAsset(DashboardAsset::Style), "GET"),
        ["dashboard", "config.json"] => (Route::DashboardAsset(DashboardAsset::Config), "GET"),
        ["campaigns"] => match method {
            "POST" => return Ok(Route::ProvisionCampaign),
            _ => (Route::ListCampaigns, "GET, POST"),
        },
        ["campaigns", _, "health"] => (Route::Health, "GET"),
        ["campaigns", _, "config"] => match method {
            "PUT" => return Ok(Route::PutConfig),
            _ => (Route::GetConfig, "GET, PUT"),
        },
        ["campaigns", _, "pause"] => (Route::Pause, "POST"),
        ["campaigns", _, "resume"] => (Route::Resume, "POST"),
        ["campaigns", _, "failback"] => (Route::Failback, "POST"),
        ["campaigns", _, "pacing"] => (Route::PutPacing, "PUT"),
        ["campaigns", _, "audit"] => (Route::Audit, "GET"),
        ["campaigns", _, "contacts"] => (Route::UploadContacts, "POST"),
        ["campaigns", _, "contacts", "uploads", _] => (Route::UploadStatus, "GET"),
        _ => return Err(None),
    };
    if allowed.split(", ").any(|m| m == method) {
        Ok(route)
    } else {
        Err(Some(allowed))
    }
}

/// Parses API Gateway's request into an [`ApiRequest`] (routing included):
/// 404 for an unknown path, 405 for a method the path does not take, 400
/// for a bad `{skillId}` or a missing request time, 413 for a large body.
pub fn parse_request(request: &Request) -> Result<ApiRequest, ApiError> {
    let envelope = Envelope::of(request);
    let time = envelope.require_time()?;
    let method = envelope.method.as_str();
    let path = envelope.path.as_str();
    let mut segments = envelope.segments();
    let via_ui = segments.first() == Some(&UI_PREFIX);
    if via_ui {
        segments.remove(0);
        if segments.is_empty() {
            segments.push("");
        }
    }
    let route = route_of(method, &segments).map_err(|allowed| match allowed {
        Some(allowed) => ApiError::method_not_allowed(format!(
            "{method} is not allowed on {path} (allowed: {allowed})"
        )),
        None => ApiError::not_found(format!("no route for {method} {path}")),
    })?;
    let skill_id = if route.has_skill() {
        // `{skillId}` from the path parameters when API Gateway gives them,
        // else the segment after `campaigns`.
        match envelope.raw_skill_id.as_str() {
            raw if !via_ui => parse_skill_id(raw)?,
            _ => parse_skill_id(segments.get(1).copied().unwrap_or_default())?,
        }
    } else {
        0
    };
    if envelope.body.len() > route.max_body_bytes() {
        return Err(ApiError::too_large(route.max_body_bytes()));
    }
    let content_type = request
        .headers()
        .get(lambda_http::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    Ok(ApiRequest {
        route,
        skill_id,
        via_ui,
        time,
        actor: envelope.actor_or(FUNCTION_NAME),
        request_id: envelope.request_id.clone(),
        envelope,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_its_methods() {
        for (method, path, route) in [
            ("GET", &[""][..], Route::Dashboard),
            ("GET", &["dashboard"], Route::Dashboard),
            (
                "GET",
                &["dashboard", "app.js"],
                Route::DashboardAsset(DashboardAsset::Script),
            ),
            (
                "GET",
                &["dashboard", "app.css"],
                Route::DashboardAsset(DashboardAsset::Style),
            ),
            (
                "GET",
                &["dashboard", "config.json"],
                Route::DashboardAsset(DashboardAsset::Config),
            ),
            ("GET", &["campaigns"], Route::ListCampaigns),
            ("GET", &["campaigns", "1", "health"], Route::Health),
            ("GET", &["campaigns", "1", "config"], Route::GetConfig),
            ("PUT", &["campaigns", "1", "config"], Route::PutConfig),
            ("POST", &["campaigns", "1", "pause"], Route::Pause),
            ("POST", &["campaigns", "1", "resume"], Route::Resume),
            ("POST", &["campaigns", "1", "failback"], Route::Failback),
            ("PUT", &["campaigns", "1", "pacing"], Route::PutPacing),
            ("GET", &["campaigns", "1", "audit"], Route::Audit),
            ("POST", &["campaigns"], Route::ProvisionCampaign),
            (
                "POST",
                &["campaigns", "1", "contacts"],
                Route::UploadContacts,
            ),
        ] {
            assert_eq!(route_of(method, path), Ok(route), "{method} {path:?}");
        }
        assert_eq!(
            route_of("DELETE", &["campaigns", "1", "config"]),
            Err(Some("GET, PUT"))
        );
        assert_eq!(
            route_of("GET", &["campaigns", "1", "pause"]),
            Err(Some("POST"))
        );
        assert_eq!(route_of("GET", &["campaigns", "1", "nope"]), Err(None));
        assert_eq!(route_of("GET", &["nope"]), Err(None));
        assert_eq!(route_of("PUT", &["campaigns"]), Err(Some("GET, POST")));
        assert_eq!(
            route_of("GET", &["campaigns", "1", "contacts"]),
            Err(Some("POST"))
        );
        assert_eq!(Route::UploadContacts.max_body_bytes(), 10 * 1024 * 1024);
        assert_eq!(Route::PutConfig.max_body_bytes(), MAX_BODY_BYTES);
        assert!(!Route::ProvisionCampaign.has_skill());
    }
}
