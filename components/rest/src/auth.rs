//! Credentials on each request: bearer tokens, API keys, basic auth, and OAuth 2 client
//! credentials (a token fetched once, kept until it expires, and fetched anew on a 401).

use base64::Engine;
use hygge_component_sdk::Failure;
use hygge_rest_config::{Auth, KeyLocation};
use wasip2::clocks::monotonic_clock;

use crate::http::{Client, Request};
use crate::url::{Url, encode};

/// Seconds before its stated expiry that a token is fetched anew.
const EXPIRY_MARGIN_SECS: u64 = 30;

/// The config's `auth:` and a cached OAuth token.
pub struct Authenticator {
    auth: Option<Auth>,
    /// The token and when it expires (monotonic nanoseconds), if it says.
    token: Option<(String, Option<u64>)>,
}

impl Authenticator {
    /// Credentials from `auth:`.
    pub fn new(auth: Option<Auth>) -> Authenticator {
        Authenticator { auth, token: None }
    }

    /// `url` and `headers` with the credentials added.
    ///
    /// # Errors
    /// An auth error when an OAuth token cannot be had.
    pub fn apply(
        &mut self,
        client: &mut Client,
        url: Url,
        headers: &mut Vec<(String, String)>,
    ) -> Result<Url, Failure> {
        let Some(auth) = &self.auth else {
            return Ok(url);
        };
        match auth {
            Auth::Bearer { token } => {
                headers.push(("authorization".into(), format!("Bearer {token}")))
            }
            Auth::ApiKey {
                name,
                key,
                location: KeyLocation::Header,
            } => headers.push((name.clone(), key.clone())),
            Auth::ApiKey {
                name,
                key,
                location: KeyLocation::Query,
            } => return Ok(url.with_params([(name.as_str(), key.clone())])),
            Auth::Basic { username, password } => {
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                headers.push(("authorization".into(), format!("Basic {pair}")));
            }
            Auth::Oauth2ClientCredentials { .. } => {
                let token = self.oauth_token(client)?;
                headers.push(("authorization".into(), format!("Bearer {token}")));
            }
        }
        Ok(url)
    }

    /// After a 401: forgets the OAuth token so the next [`apply`](Self::apply) fetches
    /// another. Whether a retry can help (only with OAuth).
    pub fn forget_token(&mut self) -> bool {
        matches!(self.auth, Some(Auth::Oauth2ClientCredentials { .. }))
            && self.token.take().is_some()
    }

    fn oauth_token(&mut self, client: &mut Client) -> Result<String, Failure> {
        let now = monotonic_clock::now();
        if let Some((token, expires)) = &self.token
            && expires.is_none_or(|at| at > now)
        {
            return Ok(token.clone());
        }
        let Some(Auth::Oauth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
        }) = &self.auth
        else {
            return Err(Failure::internal(
                "an OAuth token was asked for without OAuth",
            ));
        };
        let url = Url::parse(token_url).ok_or_else(|| {
            Failure::config(format!(
                "auth.token_url `{token_url}` is not an http(s) URL"
            ))
        })?;
        let mut form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            encode(client_id),
            encode(client_secret)
        );
        if let Some(scope) = scope {
            form.push_str(&format!("&scope={}", encode(scope)));
        }
        let headers = [
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("accept".to_string(), "application/json".to_string()),
        ];
        let response = client.send(&Request {
            post: true,
            url: url.clone(),
            headers: &headers,
            body: Some(&form),
        })?;
        if !(200..300).contains(&response.status) {
            return Err(Failure::auth(format!(
                "the token endpoint {} answered {} to client `{client_id}`: {}",
                url.shown(),
                response.status,
                response.snippet()
            )));
        }
        let answer: serde_json::Value = serde_json::from_slice(&response.body).map_err(|e| {
            Failure::auth(format!(
                "the token endpoint {} answered with something other than JSON: {e}",
                url.shown()
            ))
        })?;
        let token = answer
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                Failure::auth(format!(
                    "the token endpoint {} answered without an `access_token`",
                    url.shown()
                ))
            })?
            .to_string();
        let expires = answer
            .get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .map(|secs| now + secs.saturating_sub(EXPIRY_MARGIN_SECS) * 1_000_000_000);
        self.token = Some((token.clone(), expires));
        Ok(token)
    }
}
