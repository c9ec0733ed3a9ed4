//! Who is calling: staff accounts (console sessions or API tokens) and players.
//!
//! Every endpoint but `/api/v1/health` takes a [`Caller`] (staff) or a [`Principal`] (staff or
//! a player logging in with its MQTT credentials) and says which roles it admits with
//! [`Caller::require`]. Anonymous calls get 401, the wrong role 403.
//!
//! Console sessions are a random cookie (`HttpOnly`, `SameSite=Strict`, `Secure` behind
//! TLS) whose SHA-256 is stored; state-changing calls made with the cookie must also send the
//! session's CSRF token in `X-CSRF-Token` (API tokens in `Authorization: Bearer` are not sent by
//! browsers on their own, so they need none). Failed logins are rate-limited per account name
//! and per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alerts::lifecycle::Actor;
pub use alerts::lifecycle::Role;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use content::protocol::PlayerId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{info, warn};

use crate::broker::random_token;
use crate::http::{ApiError, AppState};
use crate::store::{AuditEntry, NewToken, Store};

/// Every role: reading state.
pub const READ: &[Role] = &[
    Role::Admin,
    Role::Pr,
    Role::Approver,
    Role::Disaster,
    Role::Viewer,
];
/// Content, layouts, playlists and schedules (a `pr` account's changes may wait for approval).
pub const CONTENT: &[Role] = &[Role::Admin, Role::Pr, Role::Approver];
/// Approving or sending back `pr` accounts' content changes.
pub const APPROVE: &[Role] = &[Role::Admin, Role::Approver];
/// Emergency alerts.
pub const ALERTS: &[Role] = &[Role::Admin, Role::Disaster];
/// Accounts, tokens, players.
pub const ADMIN: &[Role] = &[Role::Admin];

pub const SESSION_COOKIE: &str = "signage_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
const SESSION_HOURS: i64 = 12;
const MIN_PASSWORD_CHARS: usize = 10;

/// An authenticated staff member (or an automation token acting with one role).
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The account name, or `token:{id}` for API tokens.
    pub account: String,
    pub role: Role,
    /// Who answers for the act: the account, or the account that created the token (the
    /// token itself when made on the command line).
    pub person: String,
}

impl Caller {
    /// 403 unless the caller's role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the {} role may not do this; it needs one of: {}",
                    crate::store::accounts::role_name(self.role),
                    roles
                        .iter()
                        .map(|r| crate::store::accounts::role_name(*r))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }

    /// An account acting for itself (a session, or the controller's own `system`).
    pub fn account(account: &str, role: Role) -> Caller {
        Caller {
            account: account.to_owned(),
            role,
            person: account.to_owned(),
        }
    }

    /// The caller as the alert lifecycle knows it.
    pub fn actor(&self) -> Actor {
        Actor::acting_for(&self.account, self.role, &self.person)
    }

    /// Appends an audit entry in the caller's name; a failing audit write is logged, never
    /// silently dropped.
    pub async fn audit(
        &self,
        store: &Store,
        action: &str,
        target: Option<&str>,
        outcome: &str,
        detail: Option<serde_json::Value>,
    ) {
        let entry = AuditEntry {
            actor: &self.account,
            role: Some(self.role),
            action,
            target,
            outcome,
            detail,
        };
        if let Err(e) = store.audit(&entry).await {
            warn!(%e, action, "cannot write the audit log");
        }
    }
}

/// Staff, or a player with its own credentials (manifests, content files, screenshots).
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    Staff(Caller),
    Player(PlayerId),
}

impl Principal {
    /// Staff with one of `roles`, or the player `id` itself.
    pub fn require_staff_or_player(&self, roles: &[Role], id: &str) -> Result<(), ApiError> {
        match self {
            Principal::Staff(caller) => caller.require(roles),
            Principal::Player(player) if player.as_str() == id => Ok(()),
            Principal::Player(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a player may read only its own data",
            )),
        }
    }

    /// Staff with one of `roles`, or any registered player.
    pub fn require_staff_or_any_player(&self, roles: &[Role]) -> Result<(), ApiError> {
        match self {
            Principal::Staff(caller) => caller.require(roles),
            Principal::Player(_) => Ok(()),
        }
    }
}

fn unauthorised() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "log in first: a console session, or `Authorization: Bearer TOKEN` \
         (create one with `signage-controller token create --role ROLE`)",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"signage\""),
    );
    response
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `Authorization: Basic` as (user, password).
pub fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn staff(parts: &Parts, store: &Store) -> Result<Option<Caller>, Response> {
    if let Some(token) = bearer(&parts.headers) {
        return match store.check_token(token).await {
            Ok(Some((id, role, creator))) => {
                let account = format!("token:{id}");
                // A token made on the command line answers for itself.
                let person = creator.unwrap_or_else(|| account.clone());
                Ok(Some(Caller {
                    account,
                    role,
                    person,
                }))
            }
            Ok(None) => Err(unauthorised()),
            Err(e) => Err(ApiError::internal(e).into_response()),
        };
    }
    let Some(session_id) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = match store.session(&session_id).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(unauthorised()),
        Err(e) => return Err(ApiError::internal(e).into_response()),
    };
    if !is_safe(&parts.method) {
        let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent != Some(session.csrf.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token header (the console sends it; see GET /api/v1/session)",
            )
            .into_response());
        }
    }
    Ok(Some(Caller::account(&session.account, session.role)))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        staff(parts, &state.store).await?.ok_or_else(unauthorised)
    }
}

/// Enforces the endpoint table before any handler or body extractor runs, so a caller
/// without the role gets 403 whatever it sends (not a 400/422 that would reveal the body's
/// schema), and a route that is missing from the table is refused rather than left open.
pub async fn enforce(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use crate::openapi::Access;
    let Some(matched) = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    if !matched.starts_with("/api/") {
        return next.run(request).await;
    }
    let Some(row) = crate::openapi::row(request.method().as_str(), &matched) else {
        tracing::error!(method = %request.method(), path = %matched, "route missing from the endpoint table; refused");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "this endpoint is not in the access table (a bug: please report it)",
        )
        .into_response();
    };
    let roles = match row.access {
        Access::Open | Access::Player => return next.run(request).await,
        Access::StaffOrPlayer(roles) => {
            if basic_auth(request.headers()).is_some() {
                // The handler's `Principal` checks the player's credentials.
                return next.run(request).await;
            }
            roles
        }
        Access::Staff(roles) | Access::Feed(roles) => roles,
    };
    let (mut parts, body) = request.into_parts();
    let caller = match staff(&parts, &state.store).await {
        Ok(Some(caller)) => caller,
        Ok(None) => return unauthorised(),
        Err(response) => return response,
    };
    if let Err(e) = caller.require(roles) {
        return e.into_response();
    }
    if matches!(row.access, Access::Feed(_)) && !state.alerts.config().jma.is_feed(&caller) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "not a JMA feed credential: list this API token's id in alerts.jma.feed_tokens, or use an admin's token",
        )
        .into_response();
    }
    parts.extensions.insert(caller);
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some((user, password)) = basic_auth(&parts.headers) {
            return match state.store.verify_player(&user, &password).await {
                Ok(true) => Ok(Principal::Player(user.parse().map_err(|_| unauthorised())?)),
                Ok(false) => {
                    warn!(player = %user.chars().take(64).collect::<String>(), "refused player HTTP login: bad credentials");
                    Err(unauthorised())
                }
                Err(e) => Err(ApiError::internal(e).into_response()),
            };
        }
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Principal::Staff(caller.clone()));
        }
        staff(parts, &state.store)
            .await?
            .map(Principal::Staff)
            .ok_or_else(unauthorised)
    }
}

/// Login attempts per key (account name, client address) in a sliding window. An attempt is
/// counted before the password is checked, so parallel guesses cannot slip past the limit
/// while argon2 runs; a success takes its attempt back. Past the limit each further attempt
/// waits twice as long as the one before, up to a cap: short for an account (disaster staff
/// are slowed, never locked out, by someone guessing their password from elsewhere), long for
/// an address (the guesser itself).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<String, Vec<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(300);
/// Per account name: guessing one password.
const MAX_FAILURES: usize = 5;
/// Per client address: higher, since a whole office may share one address behind NAT.
const MAX_FAILURES_PER_ADDRESS: usize = 20;
const ACCOUNT_WAIT_CAP: Duration = Duration::from_secs(40);
const ADDRESS_WAIT_CAP: Duration = WINDOW;
/// Keys tracked at most: names are chosen by whoever calls, so they cannot fill memory.
const MAX_KEYS: usize = 10_000;
/// Longest account name a login may carry.
pub const MAX_ACCOUNT_NAME: usize = 64;

fn limit_for(key: &str) -> (usize, Duration) {
    if key.starts_with("ip:") {
        (MAX_FAILURES_PER_ADDRESS, ADDRESS_WAIT_CAP)
    } else {
        (MAX_FAILURES, ACCOUNT_WAIT_CAP)
    }
}

/// How long after its last attempt a key with `attempts` recent attempts must wait.
fn wait_for(attempts: usize, limit: usize, cap: Duration) -> Duration {
    if attempts < limit {
        return Duration::ZERO;
    }
    let doublings = (attempts - limit).min(16) as u32;
    Duration::from_secs(5 << doublings).min(cap)
}

impl LoginLimiter {
    /// Counts an attempt for `keys`, or says how many seconds to wait first.
    pub(crate) fn begin(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let mut attempts = self.attempts.lock().expect("limiter lock");
        attempts.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < WINDOW);
            !times.is_empty()
        });
        let wait = keys
            .iter()
            .filter_map(|k| {
                let times = attempts.get(k)?;
                let (limit, cap) = limit_for(k);
                let since = now.duration_since(*times.last()?);
                wait_for(times.len(), limit, cap).checked_sub(since)
            })
            .filter(|left| !left.is_zero())
            .max();
        if let Some(left) = wait {
            return Err(left.as_secs().max(1));
        }
        for k in keys {
            if attempts.len() < MAX_KEYS || attempts.contains_key(k) || k.starts_with("ip:") {
                attempts.entry(k.clone()).or_default().push(now);
            }
        }
        Ok(())
    }

    /// The attempt was right: the account's count is forgotten, the address's attempt taken
    /// back.
    pub(crate) fn succeeded(&self, keys: &[String]) {
        let mut attempts = self.attempts.lock().expect("limiter lock");
        for k in keys {
            if k.starts_with("ip:") {
                if let Some(times) = attempts.get_mut(k) {
                    times.pop();
                }
            } else {
                attempts.remove(k);
            }
        }
    }
}

/// A refused login's account name as logs show it: a short digest, since people type
/// passwords into the name field too.
fn logged_name(name: &str) -> String {
    use sha2::Digest;
    format!(
        "#{}",
        &hex::encode(sha2::Sha256::digest(name.as_bytes()))[..12]
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/session", get(session))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{name}", put(update_user))
        .route("/api/v1/tokens", get(tokens).post(create_token))
        .route("/api/v1/tokens/{id}/revoke", post(revoke_token))
        .route("/api/v1/audit", get(audit_log))
}

#[derive(Deserialize)]
struct Login {
    account: String,
    password: String,
}

#[derive(Serialize)]
struct SessionView {
    account: String,
    role: Role,
    /// Send this in `X-CSRF-Token` with every state-changing request made with the cookie.
    csrf: Option<String>,
    /// Whether this account's content changes wait for an approver.
    approval: bool,
}

/// Who the client is as far as the network says: its address (see [`crate::client_ip`];
/// loopback when the server runs without connect info, as in unit tests) and whether a
/// trusted proxy says it came over HTTPS.
pub(crate) struct Client {
    pub ip: IpAddr,
    pub https: bool,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let proxies = &state.trusted_proxies;
        Ok(Client {
            ip: proxies.client(peer, &parts.headers),
            https: proxies.forwarded_https(peer, &parts.headers),
        })
    }
}

async fn login(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    if body.account.is_empty() || body.account.len() > MAX_ACCOUNT_NAME {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("an account name has 1 to {MAX_ACCOUNT_NAME} bytes"),
        ));
    }
    let keys = [format!("account:{}", body.account), format!("ip:{ip}")];
    if let Err(wait) = state.login_limiter.begin(&keys) {
        warn!(account = %logged_name(&body.account), %ip, "login refused: too many failures");
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins; try again in {wait} s"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }
    let role = state
        .store
        .check_password(&body.account, &body.password)
        .await
        .map_err(ApiError::internal)?;
    let Some(role) = role else {
        // The audit names a real account someone tried; anything else (a password typed
        // into the name field, say) only as a digest.
        let actor = match state.store.account_exists(&body.account).await {
            Ok(true) => body.account.clone(),
            _ => logged_name(&body.account),
        };
        let _ = state
            .store
            .audit(&AuditEntry {
                actor: &actor,
                role: None,
                action: "login",
                target: None,
                outcome: "refused",
                detail: None,
            })
            .await;
        warn!(account = %logged_name(&body.account), %ip, "login refused: wrong account or password");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong account or password",
        ));
    };
    state.login_limiter.succeeded(&keys);
    let session_id = random_token();
    let csrf = random_token();
    state
        .store
        .create_session(
            &session_id,
            &body.account,
            &csrf,
            chrono::Duration::hours(SESSION_HOURS),
        )
        .await
        .map_err(ApiError::internal)?;
    let caller = Caller::account(&body.account, role);
    caller.audit(&state.store, "login", None, "ok", None).await;
    info!(account = %body.account, "logged in");
    let secure = state.secure_cookies || https;
    let cookie = format!(
        "{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut response = Json(SessionView {
        account: body.account,
        role,
        csrf: Some(csrf),
        approval: state.content_approval && role == Role::Pr,
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(session_id) = cookie(&headers, SESSION_COOKIE) {
        state
            .store
            .delete_session(&session_id)
            .await
            .map_err(ApiError::internal)?;
    }
    caller.audit(&state.store, "logout", None, "ok", None).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("signage_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

async fn session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<SessionView>, ApiError> {
    let csrf = match cookie(&headers, SESSION_COOKIE) {
        Some(id) => state
            .store
            .session(&id)
            .await
            .map_err(ApiError::internal)?
            .map(|s| s.csrf),
        None => None,
    };
    Ok(Json(SessionView {
        approval: state.content_approval && caller.role == Role::Pr,
        account: caller.account,
        role: caller.role,
        csrf,
    }))
}

/// Account names: what people type, and what the audit log shows.
pub fn check_account_name(name: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "account name {:?}: use 2-64 characters of a-z A-Z 0-9 . - _ @",
            name.chars().take(64).collect::<String>()
        ))
    }
}

pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Err(format!(
            "passwords need at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else {
        Ok(())
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

async fn users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<crate::store::Account>>, ApiError> {
    caller.require(ADMIN)?;
    Ok(Json(
        state.store.accounts().await.map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    role: Role,
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(ADMIN)?;
    check_account_name(&body.name).map_err(bad_request)?;
    check_password_strength(&body.password).map_err(bad_request)?;
    let exists = state
        .store
        .accounts()
        .await
        .map_err(ApiError::internal)?
        .iter()
        .any(|a| a.name == body.name);
    if exists {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("account {} exists; change it with PUT", body.name),
        ));
    }
    state
        .store
        .upsert_account(&body.name, body.role, &body.password)
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(
            &state.store,
            "user.create",
            Some(&body.name),
            "ok",
            Some(json!({ "role": body.role })),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": body.name, "role": body.role })),
    ))
}

#[derive(Deserialize)]
struct UserChange {
    role: Option<Role>,
    disabled: Option<bool>,
    password: Option<String>,
}

async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<UserChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(ADMIN)?;
    if let Some(password) = &body.password {
        check_password_strength(password).map_err(bad_request)?;
    }
    if name == caller.account
        && (body.disabled == Some(true) || body.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(bad_request(
            "an administrator cannot lock themselves out; ask another administrator".into(),
        ));
    }
    let found = state
        .store
        .update_account(&name, body.role, body.disabled, body.password.as_deref())
        .await
        .map_err(ApiError::internal)?;
    if !found {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no account {name}"),
        ));
    }
    caller
        .audit(
            &state.store,
            "user.update",
            Some(&name),
            "ok",
            Some(json!({ "role": body.role, "disabled": body.disabled, "password_changed": body.password.is_some() })),
        )
        .await;
    Ok(Json(json!({ "name": name })))
}

async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<crate::store::TokenInfo>>, ApiError> {
    caller.require(ADMIN)?;
    Ok(Json(
        state.store.tokens().await.map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
struct TokenRequest {
    role: Role,
    #[serde(default)]
    label: String,
    /// Days until the token stops working (1-3650); absent: until revoked.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<TokenRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(ADMIN)?;
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(chrono::Utc::now() + chrono::Duration::days(days.into())),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "expires_in_days must be between 1 and 3650",
            ));
        }
    };
    let token = random_token();
    let id = state
        .store
        .create_token(
            &token,
            &NewToken {
                role: body.role,
                label: body.label.chars().take(100).collect(),
                created_by: caller.account.clone(),
                expires_at,
            },
        )
        .await
        .map_err(ApiError::internal)?;
    caller
        .audit(
            &state.store,
            "token.create",
            Some(&id),
            "ok",
            Some(json!({ "role": body.role })),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "role": body.role, "token": token })),
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(ADMIN)?;
    if !state
        .store
        .revoke_token(&id)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no live token {id}"),
        ));
    }
    caller
        .audit(&state.store, "token.revoke", Some(&id), "ok", None)
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

/// Administrators and disaster staff read the audit log (alerts are audited there too).
async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<crate::store::AuditRecord>>, ApiError> {
    caller.require(&[Role::Admin, Role::Disaster])?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .store
            .audit_log(query.before, limit)
            .await
            .map_err(ApiError::internal)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_bearer_and_basic_are_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; signage_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer tok"),
        );
        assert_eq!(bearer(&headers), Some("tok"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic a2l0YS0xOnNlY3JldA=="),
        );
        assert_eq!(
            basic_auth(&headers),
            Some(("kita-1".to_string(), "secret".to_string()))
        );
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn the_limiter_counts_before_checking_and_slows_progressively() {
        let limiter = LoginLimiter::default();
        let keys = ["account:a".to_string(), "ip:127.0.0.1".to_string()];
        for _ in 0..MAX_FAILURES {
            assert_eq!(limiter.begin(&keys), Ok(()));
        }
        // The sixth attempt right away waits; it was not counted.
        assert!(matches!(limiter.begin(&keys), Err(4..=5)));
        // Another account from the same address is not slowed yet...
        let other = ["account:b".to_string(), keys[1].clone()];
        assert_eq!(limiter.begin(&other), Ok(()));
        // ...until the address itself tried too often (password spraying).
        for n in 0..MAX_FAILURES_PER_ADDRESS {
            let name = [format!("account:c{n}"), keys[1].clone()];
            let _ = limiter.begin(&name);
        }
        assert!(
            limiter
                .begin(&["account:d".to_string(), keys[1].clone()])
                .is_err()
        );
        // A success forgets the account's count.
        limiter.succeeded(&keys);
        assert!(limiter.begin(&keys[..1]).is_ok());
    }

    #[test]
    fn waits_double_up_to_a_short_cap_for_accounts_and_a_long_one_for_addresses() {
        let waits: Vec<u64> = (0..30)
            .map(|n| wait_for(n, MAX_FAILURES, ACCOUNT_WAIT_CAP).as_secs())
            .collect();
        assert!(waits[..MAX_FAILURES].iter().all(|w| *w == 0));
        assert_eq!(&waits[MAX_FAILURES..MAX_FAILURES + 4], &[5, 10, 20, 40]);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*waits.last().unwrap(), ACCOUNT_WAIT_CAP.as_secs());
        assert_eq!(
            wait_for(1000, MAX_FAILURES_PER_ADDRESS, ADDRESS_WAIT_CAP),
            ADDRESS_WAIT_CAP
        );
    }

    #[test]
    fn refused_names_are_logged_as_digests() {
        let logged = logged_name("my-secret-password");
        assert!(!logged.contains("secret"), "{logged}");
        assert_eq!(logged, logged_name("my-secret-password"));
        assert_ne!(logged, logged_name("yamada"));
    }

    #[test]
    fn roles_are_checked_and_names_validated() {
        let viewer = Caller::account("v", Role::Viewer);
        assert!(viewer.require(READ).is_ok());
        assert!(viewer.require(CONTENT).is_err());
        assert!(check_account_name("yamada.t").is_ok());
        assert!(check_account_name("a b").is_err());
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("long enough pass").is_ok());
    }

    async fn client_of(state: &AppState, peer: &str, forwarded: &str) -> (IpAddr, bool) {
        let request = axum::http::Request::get("/api/v1/login")
            .header("x-forwarded-for", forwarded)
            .header("x-forwarded-proto", "https")
            .extension(ConnectInfo(peer.parse::<SocketAddr>().unwrap()))
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        let Client { ip, https } = Client::from_request_parts(&mut parts, state).await.unwrap();
        (ip, https)
    }

    #[tokio::test]
    async fn the_login_limiter_counts_the_forwarded_client_only_behind_a_trusted_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = crate::http::test_state(dir.path()).await;
        let spoofed = "198.51.100.7";
        assert_eq!(
            client_of(&state, "203.0.113.9:5000", spoofed).await,
            ("203.0.113.9".parse().unwrap(), false)
        );
        state.trusted_proxies = std::sync::Arc::new(
            crate::client_ip::TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap(),
        );
        assert_eq!(
            client_of(&state, "10.0.0.2:5000", spoofed).await,
            (spoofed.parse().unwrap(), true)
        );
        assert_eq!(
            client_of(&state, "203.0.113.9:5000", spoofed).await,
            ("203.0.113.9".parse().unwrap(), false)
        );
    }
}
