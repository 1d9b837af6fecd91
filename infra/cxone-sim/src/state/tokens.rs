//! Access and refresh tokens: issued in pairs, access tokens expiring in
//! real time, refresh tokens used once.

use std::time::Instant;

use super::SimState;

impl SimState {
    /// Issues a fresh access/refresh pair.
    pub fn issue_tokens(&mut self) -> (String, String) {
        let access = uuid::Uuid::new_v4().simple().to_string();
        let refresh = uuid::Uuid::new_v4().simple().to_string();
        self.access_tokens
            .insert(access.clone(), Instant::now() + self.token_lifetime);
        self.refresh_tokens.insert(refresh.clone());
        (access, refresh)
    }

    /// Consumes a refresh token (single use).
    pub fn use_refresh_token(&mut self, t: &str) -> bool {
        self.refresh_tokens.remove(t)
    }

    /// Whether an access token is valid now (real time).
    pub fn token_valid(&mut self, t: &str) -> bool {
        let now = Instant::now();
        self.access_tokens.retain(|_, exp| *exp > now);
        self.access_tokens.contains_key(t)
    }

    /// Revokes every access and refresh token.
    pub fn revoke_all(&mut self) {
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }
}
