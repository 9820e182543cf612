//! The routes: per model its REST routes, the `@@auth` routes, `$batch`, health and
//! metrics. Each operation declares its security (optional unless the rules alone refuse
//! an anonymous caller), its JSON-encoded query parameters, its body, and exactly the
//! problem answers it can give.

use super::args::{skip, take};
use super::{reference, rows};
use serde_json::{json, Map, Value as Json};
use ssot_policy::eval::decided;
use ssot_policy::rules::{AuthModel, Op, Policies};
use ssot_schema::ir::ScalarType;
use ssot_shape::limits::{MAX_BATCH_OPERATIONS, MAX_PASSWORDS_PER_REQUEST, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH};
use ssot_shape::{Kind, Shape};

/// A search as typed. The server reads a larger language (phrases in quotes, `-"phrase"`,
/// any letters and punctuation: docs/search.md); the pattern states a part of it that is
/// always valid (1 to 16 words of ASCII letters and digits, the first one not excluded),
/// so what the document admits the server runs.
pub fn search_text() -> Json {
    json!({"type": "string", "maxLength": 256, "pattern": "^ *[A-Za-z0-9]+( +-?[A-Za-z0-9]+){0,15} *$"})
}

/// A query parameter holding a JSON value (URL-encoded).
fn json_param(name: &str, required: bool, schema: Json, description: &str) -> Json {
    json!({"name": name, "in": "query", "required": required, "description": format!("{description}; a JSON value, URL-encoded"), "content": {"application/json": {"schema": schema}}})
}

fn ok(description: &str, schema: Json) -> Json {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The answers of an operation: `answers` (status → answer) and a problem for each of
/// `problems`, each a reference to `#/components/responses/Problem{status}`.
fn responses(answers: Json, problems: &[u16]) -> Json {
    let mut out = answers;
    for status in problems.iter().chain(&[500, 503]) {
        out[status.to_string()] = json!({"$ref": format!("#/components/responses/Problem{status}")});
    }
    out
}

/// `components.responses`: the problem answer of each status an operation may give.
pub fn problem_responses() -> Json {
    let mut out = Map::new();
    for status in [400u16, 401, 403, 404, 409, 413, 422, 429, 500, 503] {
        let description = match status {
            400 => "invalid input: `errors` names each path and reason",
            401 => "no valid credentials: a token that does not verify or whose session ended, or an anonymous caller no policy admits",
            403 => "a policy refuses the operation, or a field (`errors` name it)",
            404 => "no such row, or one the caller may not read",
            409 => "a unique constraint or a foreign key (`errors` name the fields)",
            413 => "the body is larger than 1 MiB",
            422 => "relation filters nested too deep or too many (`code` names the limit)",
            429 => "too many attempts: `Retry-After` says how many seconds to wait",
            500 => "a database failure or a bug (the cause is logged, not shown)",
            _ => "the query ran past its time budget (`query_timeout`), or the server is shutting down",
        };
        out.insert(
            format!("Problem{status}"),
            json!({"description": description, "content": {"application/problem+json": {"schema": reference("Problem")}}}),
        );
    }
    Json::Object(out)
}

fn body(schema: Json) -> Json {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// `[{bearer}]`, or also `{}` (no credentials) where a policy may admit anonymous callers
/// to `op`: unless the rules refuse every anonymous caller whatever the row, as the server
/// does before it reads the request (no rule for `op`, or rules that the caller alone
/// decides against: `authenticated`, `auth.id == authorId`). What the server refuses
/// then, it refuses with 401, which every operation declares.
fn security(policies: &Policies, model: usize, op: Op) -> Json {
    let open = policies.rule(model, op).is_some_and(|rule| decided(rule, None) != Some(false));
    if open {
        json!([{}, {"bearer": []}])
    } else {
        json!([{"bearer": []}])
    }
}

/// The `{id}` path parameter: the `@id`, or its parts joined by `,`.
fn id_param(es: &Shape, model: usize) -> Json {
    let entity = &es.entities[model];
    let names: Vec<&str> = entity.id.iter().map(|&f| entity.fields[f].name.as_str()).collect();
    let schema = match entity.id.as_slice() {
        [f] if entity.fields[*f].kind == Kind::Scalar(ScalarType::Int) => {
            json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        [_] => json!({"type": "string", "minLength": 1}),
        parts => {
            json!({"type": "string", "pattern": format!("^[^,]*{}$", ",[^,]*".repeat(parts.len().saturating_sub(1)))})
        }
    };
    json!({"name": "id", "in": "path", "required": true, "schema": schema, "description": format!("{} (joined by `,` when compound, each part percent-encoded); a value that cannot be one names no row (404)", names.join(", "))})
}

pub fn model(es: &Shape, policies: &Policies, model: usize, paths: &mut Map<String, Json>) {
    let entity = &es.entities[model];
    let name = &entity.name;
    let schema = |suffix: &str| reference(&format!("{name}{suffix}"));
    let list_of = |s: Json| json!({"anyOf": [s, {"type": "array", "items": s}]});
    let shape = vec![
        json_param("select", false, schema("Select"), "the fields and relations to return"),
        json_param("include", false, schema("Include"), "relations to add to every scalar field (with `select`: added to it, and a relation in both takes its arguments from `include`)"),
    ];
    let where_ = |required| json_param("where", required, schema("Where"), "a `where` filter");
    let mut list_params = vec![
        where_(false),
        json_param("orderBy", false, list_of(schema("OrderBy")), "an order, or a list of them"),
        json_param("take", false, take(), "rows to return"),
        json_param("skip", false, skip(), "rows to skip"),
        json_param("cursor", false, schema("Unique"), "a unique selector: the page starts at that row"),
    ];
    list_params.extend(shape.clone());
    // `/search` takes the list's options and `q`; a list takes `search` (`@@search` only).
    let mut search_params = vec![
        json!({"name": "q", "in": "query", "required": true, "schema": search_text(), "description": "the words to look for, as typed (plain text, not JSON; see docs/search.md for phrases and exclusions)"}),
        json_param(
            "highlight",
            false,
            json!({"type": "boolean"}),
            "`meta.highlights`: per row, the matching fields' snippets",
        ),
    ];
    search_params.extend(list_params.iter().cloned());
    if !entity.searched.is_empty() {
        list_params.push(json_param(
            "search",
            false,
            search_text(),
            "a full-text search: rows matching it, by relevance without `orderBy`",
        ));
    }
    let base = format!("/api/{}", entity.resource);
    let tag = json!([name]);
    let sec = |op: Op| security(policies, model, op);
    let count = reference("Count");
    let row = |description: &str| ok(description, schema(""));
    let op = |id: String, security: Json, params: Vec<Json>, answers: Json, problems: &[u16]| json!({"tags": tag, "operationId": id, "security": security, "parameters": params, "responses": responses(answers, problems)});
    let with_body = |mut op: Json, schema: Json| {
        op["requestBody"] = body(schema);
        op
    };
    paths.insert(
        base.clone(),
        json!({
            "get": op(format!("list{name}"), sec(Op::Read), list_params, json!({"200": ok("a page of rows", schema("List"))}), &[400, 401, 403, 422]),
            "post": with_body(op(format!("create{name}"), sec(Op::Create), shape.clone(), json!({"201": row("the created row, as the caller may read it (only its id when they may not)")}), &[400, 401, 403, 422, 404, 409, 413]), schema("Create")),
        }),
    );
    paths.insert(
        format!("{base}/query"),
        json!({"post": with_body(op(format!("query{name}"), sec(Op::Read), vec![], json!({"200": ok("a page of rows", schema("List"))}), &[400, 401, 403, 422, 413]), schema("Find"))}),
    );
    if !entity.searched.is_empty() {
        paths.insert(
            format!("{base}/search"),
            json!({"get": op(format!("search{name}"), sec(Op::Read), search_params, json!({"200": ok("the matching rows, by relevance without `orderBy`", schema("List"))}), &[400, 401, 403, 422])}),
        );
    }
    paths.insert(
        format!("{base}/count"),
        json!({"get": op(format!("count{name}"), sec(Op::Read), vec![where_(false)], json!({"200": ok("how many rows match", count.clone())}), &[400, 401, 403, 422])}),
    );
    let mut rows = json!({"type": "array", "items": schema("Create")});
    // Each row of the `@@auth` model sets a password, and a request hashes at most so many.
    if policies.auth.as_ref().is_some_and(|a| a.model == model) {
        rows["maxItems"] = json!(MAX_PASSWORDS_PER_REQUEST);
    }
    let update_many = json!({"type": "object", "properties": {"where": schema("Where"), "data": schema("UpdateMany")}, "required": ["where", "data"], "additionalProperties": false});
    paths.insert(
        format!("{base}/bulk"),
        json!({
            "post": with_body(op(format!("createMany{name}"), sec(Op::Create), vec![], json!({"200": ok("rows created", count.clone())}), &[400, 401, 403, 422, 404, 409, 413]), json!({"anyOf": [{"type": "object", "properties": {"data": rows}, "required": ["data"], "additionalProperties": false}, rows]})),
            "patch": with_body(op(format!("updateMany{name}"), sec(Op::Update), vec![], json!({"200": ok("rows updated", count.clone())}), &[400, 401, 403, 422, 409, 413]), update_many),
            "delete": op(format!("deleteMany{name}"), sec(Op::Delete), vec![where_(true)], json!({"200": ok("rows deleted", count)}), &[400, 401, 403, 422, 409]),
        }),
    );
    let with_id = |params: &[Json]| {
        let mut all = vec![id_param(es, model)];
        all.extend(params.iter().cloned());
        all
    };
    let update = |id: String| {
        with_body(
            op(
                id,
                sec(Op::Update),
                with_id(&shape),
                json!({"200": row("the updated row, as the caller may read it")}),
                &[400, 401, 403, 422, 404, 409, 413],
            ),
            schema("Update"),
        )
    };
    paths.insert(
        format!("{base}/{{id}}"),
        json!({
            "get": op(format!("get{name}"), sec(Op::Read), with_id(&shape), json!({"200": row("the row")}), &[400, 401, 403, 422, 404]),
            "patch": update(format!("update{name}")),
            "put": update(format!("replace{name}")),
            "delete": op(format!("delete{name}"), sec(Op::Delete), with_id(&shape), json!({"200": row("the deleted row, as it was")}), &[400, 401, 403, 422, 404, 409]),
        }),
    );
}

/// `/api/auth/*`, for the `@@auth` model.
pub fn auth(
    es: &Shape,
    policies: &Policies,
    auth: &AuthModel,
    schemas: &mut Map<String, Json>,
    paths: &mut Map<String, Json>,
) {
    let entity = &es.entities[auth.model];
    let name = &entity.name;
    let identity = &entity.fields[auth.identity].name;
    let password = &entity.fields[auth.password].name;
    schemas.insert(
        "Session".into(),
        json!({"type": "object", "properties": {
            "accessToken": {"type": "string", "description": "a JWT: send it as `Authorization: Bearer <accessToken>`"},
            "tokenType": {"const": "Bearer"},
            "expiresIn": {"type": "integer", "minimum": 0, "description": "seconds"},
            "refreshToken": {"type": "string", "description": "when `@@auth` has `refresh: true`; used once"},
            "sessionId": {"type": "string", "description": "the session these tokens belong to (the access token's `sid`)"},
            "user": reference(name),
        }, "required": ["accessToken", "tokenType", "expiresIn", "sessionId", "user"], "additionalProperties": false}),
    );
    // Inline (not a `$ref`): Schemathesis finds a sign-up flow only in an inline body.
    let signup = rows::signup(es, policies, auth);
    let session = |description: &str| ok(description, reference("Session"));
    let refresh = body(
        json!({"type": "object", "properties": {"refreshToken": {"type": "string"}}, "required": ["refreshToken"]}),
    );
    let credentials = body(json!({"type": "object", "properties": {
        identity.clone(): {"type": "string", "maxLength": 254, "description": "an e-mail address is compared without surrounding spaces and case"},
        password.clone(): {"type": "string", "writeOnly": true},
    }, "required": [identity, password]}));
    let anonymous = json!([{}]);
    let tag = json!(["auth"]);
    let post = |id: &str, request: Json, answers: Json, problems: &[u16]| json!({"post": {"tags": tag, "operationId": id, "security": anonymous, "requestBody": request, "responses": responses(answers, problems)}});
    paths.insert(
        "/api/auth/signup".into(),
        post("signup", body(signup), json!({"201": session("the new user, signed in")}), &[400, 403, 409, 413, 429]),
    );
    paths.insert(
        "/api/auth/login".into(),
        post("login", credentials, json!({"200": session("signed in")}), &[400, 401, 413, 429]),
    );
    paths.insert(
        "/api/auth/refresh".into(),
        post(
            "refresh",
            refresh.clone(),
            json!({"200": session("the next tokens (the refresh token rotates)")}),
            &[400, 401, 413],
        ),
    );
    let user_only = json!([{"bearer": []}]);
    let optional_refresh = json!({"required": false, "content": {"application/json": {"schema":
        {"type": "object", "properties": {"refreshToken": {"type": "string"}}, "additionalProperties": false}}}});
    paths.insert(
        "/api/auth/logout".into(),
        json!({"post": {"tags": tag, "operationId": "logout", "security": [{}, {"bearer": []}],
            "description": "Ends the session the access token names and/or the one the refresh token belongs to.",
            "requestBody": optional_refresh,
            "responses": responses(json!({"204": {"description": "the sessions named are over"}}), &[400, 401, 413])}}),
    );
    paths.insert(
        "/api/auth/me".into(),
        json!({"get": {"tags": tag, "operationId": "me", "security": user_only, "responses": responses(json!({"200": ok("the signed-in user", reference(name))}), &[401, 404])}}),
    );
    paths.insert(
        "/api/auth/password".into(),
        json!({"post": {"tags": tag, "operationId": "changePassword", "security": user_only,
            "description": "Changes the caller's password; every session opened before ends (this one too): use the new tokens.",
            "requestBody": body(json!({"type": "object", "properties": {
                "currentPassword": {"type": "string", "writeOnly": true},
                "newPassword": {"type": "string", "writeOnly": true, "minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH},
            }, "required": ["currentPassword", "newPassword"]})),
            "responses": responses(json!({"200": session("a new session")}), &[400, 401, 403, 413, 429])}}),
    );
    let session_item = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"},
        "expiresAt": {"type": "string", "format": "date-time"}, "current": {"type": "boolean"},
    }, "required": ["id", "createdAt", "expiresAt", "current"], "additionalProperties": false});
    let user_id = json!({"name": "userId", "in": "query", "required": false, "schema": {"type": "string"},
        "description": "with the admin key: whose sessions (required then); a user may name only themself"});
    paths.insert(
        "/api/auth/sessions".into(),
        json!({
            "get": {"tags": tag, "operationId": "listSessions", "security": user_only, "parameters": [user_id],
                "responses": responses(json!({"200": ok("the live sessions, newest first", json!({"type": "object", "properties": {"data": {"type": "array", "items": session_item}}, "required": ["data"], "additionalProperties": false}))}), &[400, 401, 403])},
            "delete": {"tags": tag, "operationId": "endSessions", "security": user_only, "parameters": [user_id],
                "responses": responses(json!({"200": ok("how many sessions ended", reference("Count"))}), &[400, 401, 403])},
        }),
    );
    paths.insert(
        "/api/auth/sessions/{id}".into(),
        json!({"delete": {"tags": tag, "operationId": "endSession", "security": user_only,
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": responses(json!({"204": {"description": "the session is over"}}), &[401, 404])}}),
    );
}

/// `$batch`, `/healthz` and `/metrics`.
pub fn service(paths: &mut Map<String, Json>) {
    let operation = json!({"type": "object", "properties": {
        "method": {"enum": ["GET", "POST", "PATCH", "PUT", "DELETE"]},
        "path": {"type": "string", "pattern": "^/api/", "description": "a REST route, with its query string"},
        "body": {},
    }, "required": ["method", "path"], "additionalProperties": false});
    let results = json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {"status": {"type": "integer"}, "body": {}}, "required": ["status"], "additionalProperties": false}}}, "required": ["results"], "additionalProperties": false});
    paths.insert(
        "/api/$batch".into(),
        json!({"post": {"operationId": "batch", "security": [{}, {"bearer": []}], "description": "Several REST operations in one transaction, all or nothing; the answer to a failing one is its problem.",
            "requestBody": body(json!({"type": "object", "properties": {"operations": {"type": "array", "maxItems": MAX_BATCH_OPERATIONS, "items": operation}}, "required": ["operations"], "additionalProperties": false})),
            "responses": responses(json!({"200": ok("every result, in order", results)}), &[400, 401, 403, 404, 409, 413])}}),
    );
    paths.insert("/healthz".into(), json!({"get": {"operationId": "health", "security": [{}], "responses": {
        "200": ok("the server and its database answer", json!({"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"], "additionalProperties": false})),
        "503": {"description": "the database does not answer", "content": {"application/problem+json": {"schema": reference("Problem")}}},
    }}}));
    paths.insert("/metrics".into(), json!({"get": {"operationId": "metrics", "security": [{}], "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}));
}
