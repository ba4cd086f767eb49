//! The 11 REST operations under `/api/v2/webchat/guest/conversations`.

use crate::auth::{bearer_token, verify_keyed};
use crate::conv::{Conversation, ConversationState, GuestWriteError, NewConversation};
use crate::error::ApiError;
use crate::jwt::Claims;
use crate::state::{RateInfo, Shared};
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use guest_chat_model::*;
use http::{HeaderMap, HeaderValue, StatusCode};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

const BASE: &str = "/api/v2/webchat/guest/conversations";

// Header values as constants: `from_static` checks its argument each time it runs.
#[allow(clippy::declare_interior_mutable_const)]
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    let protected = Router::new()
        .route(&format!("{BASE}/{{cid}}/members"), get(list_members))
        .route(
            &format!("{BASE}/{{cid}}/members/{{mid}}"),
            get(get_member).delete(delete_member),
        )
        .route(
            &format!("{BASE}/{{cid}}/members/{{mid}}/messages"),
            post(send_message),
        )
        .route(
            &format!("{BASE}/{{cid}}/members/{{mid}}/typing"),
            post(typing),
        )
        .route(&format!("{BASE}/{{cid}}/messages"), get(list_messages))
        .route(
            &format!("{BASE}/{{cid}}/messages/{{msgid}}"),
            get(get_message),
        )
        .route(&format!("{BASE}/{{cid}}/mediarequests"), get(list_media))
        .route(
            &format!("{BASE}/{{cid}}/mediarequests/{{rid}}"),
            get(get_media).patch(patch_media),
        )
        .route_layer(AuthLayer(shared.clone()));
    Router::new()
        .route(BASE, post(create))
        .merge(protected)
        .method_not_allowed_fallback(|| async { ApiError::not_found() })
        .with_state(shared)
}

/// What the auth layer hands to the handlers.
#[derive(Clone)]
pub(crate) struct AuthCtx {
    pub claims: Arc<Claims>,
    pub conv: Arc<Conversation>,
}

fn path_conversation(path: &str) -> std::borrow::Cow<'_, str> {
    let rest = path
        .strip_prefix(BASE)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or("");
    let seg = rest.split('/').next().unwrap_or("");
    if !seg.bytes().any(|b| b == b'%') {
        // Nothing to decode (and a `&str` is valid UTF-8): as decoding it answers.
        return std::borrow::Cow::Borrowed(seg);
    }
    percent_encoding::percent_decode_str(seg).decode_utf8_lossy()
}

/// The guest's credentials on every route but create: JWT (cached verification), rate limit,
/// the conversation of the path; the handlers get an [`AuthCtx`]. A hand-written layer rather
/// than `axum::middleware::from_fn`, which boxes every request's future and clones the inner
/// service for it.
#[derive(Clone)]
struct AuthLayer(Arc<Shared>);

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            shared: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
struct AuthService<S> {
    shared: Arc<Shared>,
    inner: S,
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = WithRate<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match authorize(&self.shared, req.headers(), req.uri().path()) {
            Ok((ctx, rate)) => {
                req.extensions_mut().insert(ctx);
                WithRate::Inner {
                    fut: self.inner.call(req),
                    rate: Some(rate),
                }
            }
            Err(refused) => {
                let (resp, rate) = *refused;
                WithRate::answered(resp, rate)
            }
        }
    }
}

/// The auth layer's checks of a request: its context and rate count, or its answer (with
/// the rate count when it was counted).
fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    path: &str,
) -> Result<(AuthCtx, RateInfo), Refused> {
    let s = &shared.settings;
    // The token is borrowed from the request (no copy of its hundreds of bytes).
    let checked = bearer_token(headers).and_then(|token| {
        // One hash of the token keys both the verified-token cache and the rate limiter.
        let key = shared.signer.token_key(token);
        let claims = verify_keyed(shared, token, key)?;
        let rate = shared
            .limiter
            .hit_hashed(key, s.rate_requests, s.rate_window);
        Ok((claims, rate))
    });
    let (claims, rate) = checked.map_err(|e| Box::new((e.into_response(), None)))?;
    if rate.exceeded {
        let resp = too_many_requests(rate.reset_secs).into_response();
        return Err(Box::new((resp, Some(rate))));
    }
    let cid = path_conversation(path);
    if claims.data.conv != *cid {
        return Err(Box::new((
            ApiError::not_authorized().into_response(),
            Some(rate),
        )));
    }
    match shared.store.get(&cid) {
        None => Err(Box::new((
            ApiError::not_found().into_response(),
            Some(rate),
        ))),
        Some(conv) => {
            conv.touch();
            Ok((AuthCtx { claims, conv }, rate))
        }
    }
}

/// A request the auth layer answered itself, with its rate count when it was counted.
type Refused = Box<(Response, Option<RateInfo>)>;

/// The rate-limit headers of a counted request.
fn add_rate_headers(resp: &mut Response, rate: &RateInfo) {
    for (k, v) in rate.headers() {
        resp.headers_mut().insert(k, v);
    }
}

pin_project_lite::pin_project! {
    /// [`AuthService`]'s answer: the route's, or its own, with the rate-limit headers.
    #[project = WithRateProj]
    enum WithRate<F> {
        Inner { #[pin] fut: F, rate: Option<RateInfo> },
        Answered { resp: Option<Response>, rate: Option<RateInfo> },
    }
}

impl<F> WithRate<F> {
    fn answered(resp: Response, rate: Option<RateInfo>) -> Self {
        WithRate::Answered {
            resp: Some(resp),
            rate,
        }
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for WithRate<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (resp, rate) = match self.project() {
            WithRateProj::Inner { fut, rate } => {
                let Ok(resp) = std::task::ready!(fut.poll(cx));
                (resp, rate.take())
            }
            WithRateProj::Answered { resp, rate } => {
                // Polled again after it completed: a bug of the caller; answer a 500.
                let resp = resp
                    .take()
                    .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response());
                (resp, rate.take())
            }
        };
        let mut resp = resp;
        if let Some(rate) = rate {
            add_rate_headers(&mut resp, &rate);
        }
        Poll::Ready(Ok(resp))
    }
}

/// Reads a JSON body with the size limit and content-type rules. `Ok(None)` = no body.
async fn read_json<T: serde::de::DeserializeOwned>(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<T>, ApiError> {
    let max = shared.settings.max_request_bytes;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ApiError::too_large(max));
    }
    let bytes = body_bytes(body, max)
        .await
        .ok_or_else(|| ApiError::too_large(max))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if let Some(ct) = headers.get(http::header::CONTENT_TYPE) {
        // Compared ignoring ASCII case (a lower-cased copy, without the copy).
        let ct = ct.to_str().unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().as_bytes();
        let suffix = mime.len().checked_sub(5).and_then(|at| mime.get(at..));
        if !mime.eq_ignore_ascii_case(b"application/json")
            && !suffix.is_some_and(|s| s.eq_ignore_ascii_case(b"+json"))
        {
            return Err(ApiError::unsupported_media());
        }
    }
    decode_json(&bytes)
}

/// What `axum::body::to_bytes(body, limit)` answers (`None` for its error: over `limit`, or
/// the body failed), without its buffer list for the usual body of one frame.
async fn body_bytes(mut body: Body, limit: usize) -> Option<bytes::Bytes> {
    use axum::body::HttpBody as _;
    let mut first: Option<bytes::Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut left = limit;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        // Trailers are dropped, as `to_bytes` drops them.
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        left = left.checked_sub(data.len())?;
        match &first {
            None => first = Some(data),
            Some(head) => {
                if joined.is_empty() {
                    joined.extend_from_slice(head);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Some(if joined.is_empty() {
        first.unwrap_or_default()
    } else {
        joined.into()
    })
}

/// A non-empty request body as JSON; a decoding error is a 400 that quotes serde's reason.
fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, ApiError> {
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiError::bad_request_detail(e.to_string()))
}

/// Query string -> map, `+` as space, empty values dropped (treated as absent).
fn query_map(raw: Option<String>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    if let Some(q) = raw {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if !v.is_empty() {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
    }
    map
}

fn int_param(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_query(v, name, "an integer")),
    }
}

fn host_of(headers: &HeaderMap, shared: &Shared) -> String {
    headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| shared.local_addr.to_string(), str::to_owned)
}

fn missing(code: &str, message: &str) -> ApiError {
    ApiError::new(400, code, message)
}

fn blank(v: Option<&String>) -> bool {
    v.is_none_or(|s| s.trim().is_empty())
}

fn validate_create(req: &CreateWebChatConversationRequest) -> Result<(), ApiError> {
    const P: &str = "chat.error.notnull.createconversationrequest";
    if blank(req.organization_id.as_ref()) {
        return Err(ApiError::constraint("organizationId may not be null"));
    }
    if blank(req.deployment_id.as_ref()) {
        return Err(missing(
            "chat.error.pattern.createconversationrequest.deploymentid",
            "The deploymentid property may not be null.",
        ));
    }
    let rt = req.routing_target.as_ref().ok_or_else(|| {
        missing(
            &format!("{P}.routingtarget"),
            "The routingtarget property may not be null.",
        )
    })?;
    let target_ok = rt
        .target_type
        .as_ref()
        .is_some_and(|t| *t == TargetType::Queue)
        && !blank(rt.target_address.as_ref());
    if !target_ok {
        return Err(missing(
            "chat.error.createconversationrequest.routingtarget",
            "The routing target is not valid.",
        ));
    }
    if req
        .member_info
        .as_ref()
        .is_none_or(|m| blank(m.display_name.as_ref()))
    {
        return Err(missing(
            &format!("{P}.memberinfo.displayname"),
            "The displayname property may not be null.",
        ));
    }
    if let Some(jc) = &req.journey_context {
        let j = |suffix: &str, what: &str| {
            missing(
                &format!("{P}.journeycontext.{suffix}"),
                &format!("The {what} property may not be null."),
            )
        };
        let customer = jc.customer.as_ref().ok_or_else(|| {
            missing(
                &format!("{P}.journeycontext.customer"),
                "The customer may not be null.",
            )
        })?;
        if blank(customer.id.as_ref()) {
            return Err(j("customer.customerid", "customerid"));
        }
        if blank(customer.id_type.as_ref()) {
            return Err(j("customer.customeridtype", "customeridtype"));
        }
        if let Some(s) = &jc.customer_session {
            if blank(s.id.as_ref()) {
                return Err(j("customersession.sessionid", "sessionid"));
            }
            if blank(s.r#type.as_ref()) {
                return Err(j("customersession.sessionidtype", "sessionidtype"));
            }
        }
        if let Some(a) = &jc.triggering_action {
            if blank(a.id.as_ref()) {
                return Err(j("triggeringaction.actionid", "actionid"));
            }
            let map = a.action_map.as_ref();
            if map.is_none_or(|m| blank(m.id.as_ref())) {
                return Err(j("triggeringaction.actionmapid", "actionmapid"));
            }
            if map.is_none_or(|m| m.version.is_none()) {
                return Err(j("triggeringaction.actionmapversion", "actionmapversion"));
            }
        }
    }
    Ok(())
}

fn check_config(shared: &Shared, req: &CreateWebChatConversationRequest) -> Result<(), ApiError> {
    let cfg = &shared.config;
    let org = req.organization_id.as_deref().unwrap_or("");
    let dep = req.deployment_id.as_deref().unwrap_or("");
    let listed = |list: &[String], v: &str| list.iter().any(|x| x == v);
    if !cfg.organizations.is_empty() && !listed(&cfg.organizations, org) {
        return Err(ApiError::chat(
            400,
            "chat.error.bad.request",
            "Error occurred due to invalid request.",
            "Unknown organization",
        ));
    }
    if !cfg.deployments.is_empty() && !listed(&cfg.deployments, dep) {
        return Err(ApiError::chat(
            400,
            "chat.error.bad.request",
            "Error occurred due to invalid request.",
            "Unknown deployment",
        ));
    }
    if listed(&cfg.disabled_deployments, dep) {
        return Err(missing(
            "chat.deployment.disabled",
            "The web chat deployment is currently disabled.",
        ));
    }
    if listed(&cfg.auth_deployments, dep) {
        match req.member_auth_token.as_deref() {
            None => {
                return Err(missing(
                    "chat.deployment.require.auth",
                    "The deployment requires the customer member to be authenticated.",
                ))
            }
            Some(t) if t.trim().is_empty() || t == "bad" => {
                return Err(missing(
                    "chat.deployment.bad.auth",
                    "The customer member authentication has failed.",
                ))
            }
            Some(_) => {}
        }
    }
    let queue = req
        .routing_target
        .as_ref()
        .and_then(|r| r.target_address.as_deref())
        .unwrap_or("");
    if !cfg.queues.is_empty() && !listed(&cfg.queues, queue) {
        return Err(missing(
            "chat.error.invalid.queue",
            "The specified queue is not valid.",
        ));
    }
    Ok(())
}

/// The per-client create limit and the cap on kept conversations: a refused create gets 429
/// with `Retry-After`, as the service's rate limiter answers (docs/protocol.md section 6).
fn admit_create(shared: &Shared, client: std::net::IpAddr) -> Result<(), ApiError> {
    let s = &shared.settings;
    let rate = shared
        .create_limiter
        .hit(&client.to_string(), s.create_requests, s.create_window);
    if rate.exceeded {
        let mut e = too_many_requests(rate.reset_secs);
        for (name, value) in rate.headers() {
            e = e.header(name, value);
        }
        return Err(e);
    }
    if shared.store.len() >= s.max_conversations {
        tracing::warn!(
            max = s.max_conversations,
            "conversation cap reached: refusing a create (ended and abandoned chats are forgotten in time)"
        );
        return Err(ApiError::new(
            429,
            "too.many.requests.retry.after",
            format!(
                "Rate limit exceeded the maximum. Retry the request in [{FULL_RETRY_SECS}] seconds"
            ),
        )
        .header(
            http::header::RETRY_AFTER,
            HeaderValue::from(FULL_RETRY_SECS),
        ));
    }
    Ok(())
}

/// `Retry-After` of a create refused because the conversation cap is reached.
const FULL_RETRY_SECS: u64 = 30;

async fn create(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<CreateWebChatConversationResponse>, ApiError> {
    admit_create(&shared, client.ip())?;
    if !shared.config.allowed_origins.is_empty() {
        if let Some(origin) = headers.get(http::header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !shared.config.allowed_origins.iter().any(|o| o == origin) {
                return Err(ApiError::new(
                    403,
                    "origin.not.allowed",
                    "Not allowed to create an ACD chat conversation from an external customer.",
                ));
            }
        }
    }
    let req: CreateWebChatConversationRequest = read_json(&shared, &headers, body)
        .await?
        .ok_or_else(|| ApiError::bad_request_detail("A request body is required"))?;
    validate_create(&req)?;
    check_config(&shared, &req)?;
    let info = req.member_info.clone().unwrap_or_default();
    let guest_id = uuid::Uuid::new_v4().to_string();
    let guest = WebChatMemberInfo {
        id: Some(guest_id.clone()),
        display_name: info.display_name,
        first_name: info.first_name,
        last_name: info.last_name,
        email: info.email,
        phone_number: info.phone_number,
        avatar_image_url: info.avatar_image_url,
        role: Some(Role::Customer),
        join_date: Some(Timestamp::now()),
        authenticated_guest: Some(req.member_auth_token.is_some()),
        custom_fields: info.custom_fields,
        state: Some(MemberState::Connected),
        ..Default::default()
    };
    let conv = Conversation::new(
        NewConversation {
            org_id: req.organization_id.clone().unwrap_or_default(),
            deployment_id: req.deployment_id.clone().unwrap_or_default(),
            queue_name: req
                .routing_target
                .as_ref()
                .and_then(|r| r.target_address.clone())
                .unwrap_or_default(),
            guest,
            agent_mode_name: shared.agent_plan().mode.name(),
            expires_at: expiry(shared.settings.jwt_lifetime + FORGET_AFTER_EXPIRY),
        },
        &shared.cancel,
    );
    let lifetime = i64::try_from(shared.settings.jwt_lifetime.as_secs()).unwrap_or(i64::MAX);
    let jwt = shared
        .signer
        .sign(&conv.id, &conv.deployment_id, &guest_id, &conv.org_id, lifetime)
        .map_err(|_| ApiError::new(500, "internal.server.error", "The server encountered an unexpected condition which prevented it from fulfilling the request."))?;
    shared.store.insert(conv.clone());
    if shared.settings.activate_without_stream {
        shared.activate(&conv);
    }
    let host = host_of(&headers, &shared);
    Ok(Json(CreateWebChatConversationResponse {
        id: Some(conv.id.clone()),
        event_stream_uri: Some(format!("{}://{host}/chat/jwt/{jwt}", shared.ws_scheme())),
        jwt: Some(jwt),
        member: Some(WebChatMemberInfo {
            id: Some(guest_id),
            ..Default::default()
        }),
    }))
}

const MEMBER_NOT_FOUND: &str = "The web chat conversation member was not found.";
const MESSAGE_NOT_FOUND: &str = "The web chat conversation message was not found.";
const MEDIA_NOT_FOUND: &str = "The media request was not found.";

fn bool_param(q: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match q.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ApiError::invalid_query(&v, name, "true, false")),
    }
}

async fn list_members(
    Extension(ctx): Extension<AuthCtx>,
    RawQuery(raw): RawQuery,
) -> Result<Json<WebChatMemberInfoEntityList>, ApiError> {
    let q = query_map(raw);
    let page_size = int_param(&q, "pageSize")?.unwrap_or(25);
    let page_number = int_param(&q, "pageNumber")?.unwrap_or(1);
    let exclude = bool_param(&q, "excludeDisconnectedMembers")?;
    if !(1..=500).contains(&page_size) {
        return Err(ApiError::constraint("pageSize must be between 1 and 500"));
    }
    if page_number < 1 {
        return Err(ApiError::constraint("pageNumber must be greater than 0"));
    }
    let all: Vec<WebChatMemberInfo> = ctx
        .conv
        .lock()
        .members
        .iter()
        .filter(|m| !exclude || m.state != Some(MemberState::Disconnected))
        .cloned()
        .collect();
    let total = all.len() as i64;
    let page_count = ((total + page_size - 1) / page_size).max(1);
    let start = usize::try_from((page_number - 1).saturating_mul(page_size)).unwrap_or(usize::MAX);
    let entities: Vec<_> = all
        .into_iter()
        .skip(start)
        .take(usize::try_from(page_size).unwrap_or(25))
        .collect();
    let cid = &ctx.conv.id;
    let uri = |n: i64| {
        let mut u = format!("{BASE}/{cid}/members?pageSize={page_size}&pageNumber={n}");
        if exclude {
            u.push_str("&excludeDisconnectedMembers=true");
        }
        u
    };
    Ok(Json(WebChatMemberInfoEntityList {
        entities: Some(entities),
        page_size: i32::try_from(page_size).ok(),
        page_number: i32::try_from(page_number).ok(),
        total: Some(total),
        first_uri: Some(uri(1)),
        last_uri: Some(uri(page_count)),
        self_uri: Some(uri(page_number)),
        previous_uri: (page_number > 1).then(|| uri(page_number - 1)),
        next_uri: (page_number < page_count).then(|| uri(page_number + 1)),
        page_count: i32::try_from(page_count).ok(),
    }))
}

fn find_member(conv: &Conversation, mid: &str) -> Option<WebChatMemberInfo> {
    conv.lock()
        .members
        .iter()
        .find(|m| m.id.as_deref() == Some(mid))
        .cloned()
}

async fn get_member(
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, mid)): Path<(String, String)>,
) -> Result<Json<WebChatMemberInfo>, ApiError> {
    find_member(&ctx.conv, &mid)
        .map(Json)
        .ok_or_else(|| ApiError::chat_not_found(MEMBER_NOT_FOUND))
}

/// Member-scoped writes: the path member must be the JWT's `sub`.
fn own_member(ctx: &AuthCtx, mid: &str) -> Result<(), ApiError> {
    if ctx.claims.data.sub != mid {
        if find_member(&ctx.conv, mid).is_none() {
            return Err(ApiError::chat_not_found(MEMBER_NOT_FOUND));
        }
        return Err(ApiError::not_authorized());
    }
    Ok(())
}

fn write_error(e: GuestWriteError) -> ApiError {
    match e {
        GuestWriteError::ConversationState => ApiError::conversation_state(),
        GuestWriteError::MemberState => ApiError::member_state(),
    }
}

async fn delete_member(
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, mid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    own_member(&ctx, &mid)?;
    ctx.conv.end_by_guest().map_err(write_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn send_message(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, mid)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    guest_send(&shared, &ctx, &mid, &parts.headers, body).await
}

/// `POST .../members/{mid}/messages` once authorized.
async fn guest_send(
    shared: &Shared,
    ctx: &AuthCtx,
    mid: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    own_member(ctx, mid)?;
    let req: Option<CreateWebChatMessageRequest> = read_json(shared, headers, body).await?;
    let (text, body_type) = message_request(req)?;
    let reply = ctx
        .conv
        .guest_message(text, body_type, shared.settings.activate_without_stream)
        .map_err(write_error)?;
    Ok(match reply {
        Ok(json) => json_bytes(json),
        // As `Json` answers a value it cannot serialise.
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            e.to_string(),
        )
            .into_response(),
    })
}

/// The member id of a guest message post's path, when the router would route it to
/// [`send_message`] and neither path segment is percent-encoded (the router's decoded
/// parameters are then the segments themselves).
fn plain_message_post(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(BASE)?.strip_prefix('/')?;
    let (cid, rest) = rest.split_once('/')?;
    let mid = rest.strip_prefix("members/")?.strip_suffix("/messages")?;
    // `cid` ends at the first '/'; the rest of the path is fixed text without '%'. (Byte
    // searches: `memchr`.)
    let plain = !cid.is_empty()
        && !mid.is_empty()
        && !mid.as_bytes().contains(&b'/')
        && !path.as_bytes().contains(&b'%');
    plain.then_some(mid)
}

/// Whether [`fast_send`] may answer this request: a guest message post with a plain path
/// ([`plain_message_post`]) while no REST fault is set. Then the member id's place in the path.
pub(crate) fn fast_send_applies(shared: &Shared, req: &Request) -> Option<MemberAt> {
    if req.method() != http::Method::POST {
        return None;
    }
    let path = req.uri().path();
    let mid = plain_message_post(path)?;
    // The member id ends the path but for "/messages".
    let start = path.len().checked_sub("/messages".len() + mid.len())?;
    shared
        .faults
        .borrow()
        .rest_off()
        .then_some(MemberAt(start..start + mid.len()))
}

/// Where the member id is in a guest message post's path ([`fast_send_applies`]).
pub(crate) struct MemberAt(std::ops::Range<usize>);

/// A request [`fast_send_applies`] to, answered as the router and its layers answer it
/// (auth and rate headers, the route, CORS, the common headers, the router's
/// `Content-Length`), without the routing, the boxed per-layer services and futures, and the
/// extractors.
pub(crate) async fn fast_send(shared: &Shared, req: Request, member: MemberAt) -> Response {
    let cors = crate::cors::ActualRequest::of(&req);
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let mut resp = match authorize(shared, &parts.headers, path) {
        Ok((ctx, rate)) => {
            let mid = path.get(member.0).unwrap_or_default();
            let mut resp = guest_send(shared, &ctx, mid, &parts.headers, body)
                .await
                .into_response();
            add_rate_headers(&mut resp, &rate);
            resp
        }
        Err(refused) => {
            let (mut resp, rate) = *refused;
            if let Some(rate) = rate {
                add_rate_headers(&mut resp, &rate);
            }
            resp
        }
    };
    cors.apply(&mut resp);
    let mut resp = crate::server::common_headers(resp);
    set_content_length(&mut resp);
    resp
}

/// As the router does to every answer: a `Content-Length` when the body's size is known.
fn set_content_length(resp: &mut Response) {
    use axum::body::HttpBody as _;
    if resp.headers().contains_key(http::header::CONTENT_LENGTH) {
        return;
    }
    if let Some(size) = resp.body().size_hint().exact() {
        resp.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(size));
    }
}

/// Headers of a guest REST answer: the route's, the rate limit's, CORS and the common ones.
const ANSWER_HEADERS: usize = 16;

/// A JSON body's 200 answer, as `Json` makes it, with room for all the headers it will get.
fn json_bytes(body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    let headers = resp.headers_mut();
    headers.reserve(ANSWER_HEADERS);
    headers.insert(http::header::CONTENT_TYPE, APPLICATION_JSON);
    resp
}

/// The message POST's body rules: `body` present and at most [`MAX_MESSAGE_CHARS`] long,
/// `bodyType` absent (standard), `standard` or `notice`.
fn message_request(
    req: Option<CreateWebChatMessageRequest>,
) -> Result<(String, BodyType), ApiError> {
    let req = req.unwrap_or_default();
    let text = req.body.ok_or_else(|| {
        ApiError::new(
            400,
            "chat.error.notnull.createconversationmessagerequest.body",
            "The request body may not be null.",
        )
    })?;
    if guest_chat_model::message_length(&text) > MAX_MESSAGE_CHARS {
        return Err(ApiError::constraint(format!(
            "body: size must be between 0 and {MAX_MESSAGE_CHARS}"
        )));
    }
    let body_type = req.body_type.unwrap_or(BodyType::Standard);
    if !matches!(body_type, BodyType::Standard | BodyType::Notice) {
        return Err(ApiError::new(
            400,
            "invalid.value",
            format!(
                "Value [{}] is not valid for field type [bodyType]. Allowable values are: standard, notice",
                body_type.as_str()
            ),
        ));
    }
    Ok((text, body_type))
}

/// The create and message POSTs' body checks without a server (the `fuzz/` targets and
/// their regression tests): decoding, then the same validation the handlers run, in order.
/// `Err` carries the HTTP status and the error body the emulator would answer with.
pub(crate) fn check_create_body(bytes: &[u8]) -> Result<(), (u16, Box<ErrorBody>)> {
    let req = if bytes.is_empty() {
        None
    } else {
        decode_json::<CreateWebChatConversationRequest>(bytes).map_err(ApiError::into_parts)?
    };
    let req = req
        .ok_or_else(|| ApiError::bad_request_detail("A request body is required"))
        .map_err(ApiError::into_parts)?;
    validate_create(&req).map_err(ApiError::into_parts)
}

/// See [`check_create_body`]; an empty body is the service's "body may not be null".
pub(crate) fn check_message_body(bytes: &[u8]) -> Result<(), (u16, Box<ErrorBody>)> {
    let req = if bytes.is_empty() {
        None
    } else {
        decode_json::<CreateWebChatMessageRequest>(bytes).map_err(ApiError::into_parts)?
    };
    message_request(req).map(drop).map_err(ApiError::into_parts)
}

async fn typing(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, mid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WebChatTyping>, ApiError> {
    own_member(&ctx, &mid)?;
    // No body is expected; anything sent is size-checked and otherwise ignored.
    let max = shared.settings.max_request_bytes;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ApiError::too_large(max));
    }
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| ApiError::too_large(max))?;
    ctx.conv
        .guest_typing(shared.settings.activate_without_stream)
        .map(Json)
        .map_err(write_error)
}

/// `maxResults` (default 100) and whether `sortOrder` is descending.
fn page_params(q: &HashMap<String, String>) -> Result<(usize, bool), ApiError> {
    let max = match int_param(q, "maxResults")? {
        None => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::constraint("maxResults must be between 1 and 100")),
    };
    let descending = match q.get("sortOrder").map(|s| s.trim().to_ascii_lowercase()) {
        None => false,
        Some(s) if s == "ascending" => false,
        Some(s) if s == "descending" => true,
        Some(s) => {
            return Err(ApiError::invalid_query(
                &s,
                "sortOrder",
                "ascending, descending",
            ))
        }
    };
    Ok((max, descending))
}

async fn list_messages(
    Extension(ctx): Extension<AuthCtx>,
    RawQuery(raw): RawQuery,
) -> Result<Json<WebChatMessageEntityList>, ApiError> {
    let q = query_map(raw);
    let (max, descending) = page_params(&q)?;
    let messages = ctx.conv.rest_messages();
    let index_of = |name: &str| -> Result<Option<usize>, ApiError> {
        match q.get(name) {
            None => Ok(None),
            Some(id) => messages
                .iter()
                .position(|m| m.id.as_deref() == Some(id.as_str()))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid_query(id, name, "the id of a message of this conversation")
                }),
        }
    };
    let after = index_of("after")?;
    let before = index_of("before")?;
    let lo = after.map_or(0, |i| i + 1);
    let hi = before.unwrap_or(messages.len());
    let range: &[WebChatMessage] = if lo < hi { &messages[lo..hi] } else { &[] };
    // From the start of the range after an `after` cursor (or ascending with no cursor),
    // otherwise the end of the range: pages are always adjacent to their cursor.
    let from_start = after.is_some() || (before.is_none() && !descending);
    let page: Vec<WebChatMessage> = if from_start {
        range.iter().take(max).cloned().collect()
    } else {
        range[range.len().saturating_sub(max)..].to_vec()
    };
    let (first_idx, last_idx) = match (page.first(), page.last()) {
        (Some(f), Some(l)) => (
            messages.iter().position(|m| m.id == f.id),
            messages.iter().position(|m| m.id == l.id),
        ),
        _ => (None, None),
    };
    let cid = &ctx.conv.id;
    let order = if descending {
        "descending"
    } else {
        "ascending"
    };
    let mk = |key: &str, id: &str| {
        let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        format!("{BASE}/{cid}/messages?{key}={id}&sortOrder={order}&maxResults={max}")
    };
    let newer = last_idx.filter(|i| i + 1 < messages.len()).and(page.last());
    let older = first_idx.filter(|i| *i > 0).and(page.first());
    let newer_uri = newer
        .and_then(|m| m.id.as_deref())
        .map(|id| mk("after", id));
    let older_uri = older
        .and_then(|m| m.id.as_deref())
        .map(|id| mk("before", id));
    let mut entities = page;
    let (next, previous_page) = if descending {
        entities.reverse();
        (older_uri, newer_uri)
    } else {
        (newer_uri, older_uri)
    };
    let mut self_uri = format!("{BASE}/{cid}/messages?sortOrder={order}&maxResults={max}");
    for key in ["after", "before"] {
        if let Some(v) = q.get(key) {
            let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
            self_uri.push_str(&format!("&{key}={v}"));
        }
    }
    Ok(Json(WebChatMessageEntityList {
        page_size: i32::try_from(max).ok(),
        entities: Some(entities),
        previous_page,
        next,
        self_uri: Some(self_uri),
    }))
}

async fn get_message(
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, msgid)): Path<(String, String)>,
) -> Result<Json<WebChatMessage>, ApiError> {
    let stored = ctx
        .conv
        .lock()
        .messages
        .iter()
        .find(|m| m.id() == msgid)
        .cloned();
    stored
        .map(|m| Json(ctx.conv.rest_message(&m)))
        .ok_or_else(|| ApiError::chat_not_found(MESSAGE_NOT_FOUND))
}

async fn list_media(
    Extension(ctx): Extension<AuthCtx>,
) -> Json<WebChatGuestMediaRequestEntityList> {
    Json(WebChatGuestMediaRequestEntityList {
        entities: Some(ctx.conv.lock().media.clone()),
    })
}

async fn get_media(
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, rid)): Path<(String, String)>,
) -> Result<Json<WebChatGuestMediaRequest>, ApiError> {
    ctx.conv
        .lock()
        .media
        .iter()
        .find(|m| m.id.as_deref() == Some(rid.as_str()))
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::chat_not_found(MEDIA_NOT_FOUND))
}

async fn patch_media(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<AuthCtx>,
    Path((_cid, rid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WebChatGuestMediaRequest>, ApiError> {
    let req: WebChatGuestMediaRequest = read_json(&shared, &headers, body)
        .await?
        .ok_or_else(|| ApiError::bad_request_detail("A request body is required"))?;
    let mut inner = ctx.conv.lock();
    let ended = inner.state == ConversationState::Ended;
    let media = inner
        .media
        .iter_mut()
        .find(|m| m.id.as_deref() == Some(rid.as_str()))
        .ok_or_else(|| ApiError::chat_not_found(MEDIA_NOT_FOUND))?;
    if ended {
        return Err(ApiError::conversation_state());
    }
    let state = req
        .state
        .ok_or_else(|| ApiError::constraint("state may not be null"))?;
    if !matches!(
        state,
        MediaRequestState::Accepted | MediaRequestState::Declined | MediaRequestState::Errored
    ) {
        return Err(ApiError::new(
            400,
            "invalid.value",
            format!(
                "Value [{}] is not valid for field type [state]. Allowable values are: ACCEPTED, DECLINED, ERRORED",
                state.as_str()
            ),
        ));
    }
    media.state = Some(state);
    Ok(Json(media.clone()))
}

/// When a conversation created now is forgotten: when its JWT expires (a lifetime too
/// large for the clock means never, in practice).
/// How long after its JWT's lifetime a conversation is forgotten. The JWT's `exp` is in whole
/// seconds and is checked as `exp < now` (in whole seconds), so a token issued at 12.9 s with a
/// 1 s lifetime (`exp` = 13) is still accepted until 14.0 s: up to a second after `lifetime`. The
/// conversation must outlive every accepted use of its JWT, or a call in that second would get
/// 404 `not.found` instead of 401 `credentials.expired`; two seconds cover that with a margin.
const FORGET_AFTER_EXPIRY: std::time::Duration = std::time::Duration::from_secs(2);

fn expiry(lifetime: std::time::Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(lifetime)
        .or_else(|| now.checked_add(std::time::Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// The service's 429 for a rate limit, with `Retry-After` (the rate-limit headers are added
/// by the caller).
fn too_many_requests(reset_secs: u64) -> ApiError {
    ApiError::new(
        429,
        "too.many.requests.retry.after",
        format!("Rate limit exceeded the maximum. Retry the request in [{reset_secs}] seconds"),
    )
    .header(http::header::RETRY_AFTER, HeaderValue::from(reset_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_is_read_as_axum_reads_it() {
        use futures::StreamExt;
        let frames = |parts: &[&'static str]| {
            let parts: Vec<Result<bytes::Bytes, std::io::Error>> = parts
                .iter()
                .map(|p| Ok(bytes::Bytes::from_static(p.as_bytes())))
                .collect();
            futures::stream::iter(parts)
        };
        let cases: [&[&'static str]; 6] = [
            &[],
            &[""],
            &["{\"body\":\"hi\"}"],
            &["", "ab", "", "cd"],
            &["abc", ""],
            &["0123456789", "0123456789", "x"],
        ];
        for parts in cases {
            for limit in [0, 3, 4, 20, 21, 64] {
                let ours = body_bytes(Body::from_stream(frames(parts)), limit).await;
                let theirs = axum::body::to_bytes(Body::from_stream(frames(parts)), limit).await;
                assert_eq!(ours, theirs.ok(), "{parts:?} {limit}");
            }
        }
        let failing = futures::stream::iter([
            Ok(bytes::Bytes::from_static(b"ab")),
            Err(std::io::Error::other("reset")),
        ]);
        assert_eq!(
            body_bytes(Body::from_stream(failing.boxed()), 64).await,
            None
        );
    }

    #[test]
    fn only_plain_message_post_paths_are_answered_directly() {
        let path = |rest: &str| format!("{BASE}{rest}");
        assert_eq!(
            plain_message_post(&path("/c-1/members/m-1/messages")),
            Some("m-1")
        );
        for rest in [
            "/c-1/members/m-1/messages/",
            "/c-1/members//messages",
            "//members/m-1/messages",
            "/c-1/members/m/1/messages",
            "/c%31/members/m-1/messages",
            "/c-1/members/m%31/messages",
            "/c-1/members/m-1/typing",
            "/c-1/member/m-1/messages",
            "x/c-1/members/m-1/messages",
        ] {
            assert_eq!(plain_message_post(&path(rest)), None, "{rest}");
        }
    }

    #[tokio::test]
    async fn a_json_reply_is_the_json_extractors_reply() {
        let msg = WebChatMessage {
            id: Some("m1".into()),
            body: Some("a \"quoted\" line\nand é".into()),
            body_type: Some(BodyType::Standard),
            ..Default::default()
        };
        let ours = json_bytes(serde_json::to_vec(&msg).expect("serialised"));
        let theirs = Json(&msg).into_response();
        assert_eq!(ours.status(), theirs.status());
        assert_eq!(ours.headers(), theirs.headers());
        let ours = axum::body::to_bytes(ours.into_body(), 1 << 16).await;
        let theirs = axum::body::to_bytes(theirs.into_body(), 1 << 16).await;
        assert_eq!(ours.expect("body"), theirs.expect("body"));
    }
}
