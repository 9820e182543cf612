//! The `@@service` routes in the document: each action at `/api/actions/{name}` (its
//! security from its rule, the service's answer passed on, 502/504 when the service fails
//! or is silent) and the admin key's `/api/_services` endpoints (status, dead letters, enable).

use super::reference;
use serde_json::{json, Map, Value as Json};
use ssot_policy::eval::decided;
use ssot_policy::rules::Policies;

fn problem(description: &str) -> Json {
    json!({"description": description, "content": {"application/problem+json": {"schema": reference("Problem")}}})
}

fn refs(out: &mut Json, statuses: &[u16]) {
    for status in statuses.iter().chain(&[500, 503]) {
        out[status.to_string()] = json!({"$ref": format!("#/components/responses/Problem{status}")});
    }
}

pub fn paths(policies: &Policies, paths: &mut Map<String, Json>) {
    for action in &policies.actions {
        // As for the REST routes: optional credentials unless the rule alone refuses anonymous callers.
        let security = if decided(&action.rule, None) == Some(false) {
            json!([{"bearer": []}])
        } else {
            json!([{}, {"bearer": []}])
        };
        let mut responses = json!({
            "200": {"description": "the service's JSON answer (its own 2xx status)", "content": {"application/json": {"schema": {}}}},
            "4XX": problem("the service refused the action: its problem passed on, or `action_refused`"),
            "502": problem("`action_failed`: the service failed, could not be reached, or answered something not JSON"),
            "504": problem("`action_timeout`: the service did not answer within its timeout"),
        });
        refs(&mut responses, &[400, 401, 403, 413]);
        paths.insert(
            format!("/api/actions/{}", action.name),
            json!({"post": {"tags": ["actions"], "operationId": format!("action_{}", action.name), "security": security,
                "description": format!("Calls the action `{}` of the service `{}`: the body is forwarded as JSON with the caller's identity, signed.", action.name, action.service),
                "requestBody": {"required": false, "content": {"application/json": {"schema": {}}}},
                "responses": responses}}),
        );
    }
    if policies.services.is_empty() {
        return;
    }
    let admin = json!([{"bearer": []}]);
    let names = json!({"enum": policies.services});
    let name = json!({"name": "name", "in": "path", "required": true, "schema": names});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9]+$"}});
    let answer = |description: &str, schema: Json, problems: &[u16]| {
        let mut out = json!({"200": {"description": description, "content": {"application/json": {"schema": schema}}}});
        refs(&mut out, problems);
        out
    };
    let status = json!({"type": "object", "properties": {
        "name": {"type": "string"}, "model": {"type": "string"}, "cursor": {"type": "integer"}, "lag": {"type": "integer"},
        "leased": {"type": "boolean"}, "delivered": {"type": "integer"}, "retried": {"type": "integer"},
        "dead": {"type": "integer"}, "deadLetters": {"type": "integer"},
        "disabled": {"type": ["string", "null"], "description": "why it is disabled (its endpoint answered 410 Gone), or null"},
    }, "required": ["name", "model", "cursor", "lag", "leased", "delivered", "retried", "dead", "deadLetters", "disabled"]});
    let letter = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "eventId": {"type": "string"}, "seq": {"type": "integer"}, "error": {"type": "string"},
        "attempts": {"type": "integer"}, "at": {"type": "string"}, "payload": {},
    }, "required": ["id", "eventId", "seq", "error", "attempts", "at", "payload"]});
    let list = |items: Json| json!({"type": "object", "properties": {"data": {"type": "array", "items": items}}, "required": ["data"]});
    let replayed = json!({"type": "object", "properties": {"delivered": {"type": "integer"}, "failed": {"type": "integer"}}, "required": ["delivered", "failed"]});
    let dropped = json!({"type": "object", "properties": {"dropped": {"type": "integer"}}, "required": ["dropped"]});
    let take = json!({"name": "take", "in": "query", "required": false, "schema": {"type": "string", "pattern": "^[0-9]+$"}, "description": "at most this many (1 to 1000; default 100)"});
    let tags = json!(["services"]);
    paths.insert(
        "/api/_services".into(),
        json!({"get": {"tags": tags, "operationId": "servicesStatus", "security": admin,
        "responses": answer("each service's cursor, lag and counters", list(status), &[401, 403, 404])}}),
    );
    paths.insert(
        "/api/_services/{name}/dead".into(),
        json!({
            "get": {"tags": tags, "operationId": "servicesDeadLetters", "security": admin, "parameters": [name, take],
                "responses": answer("the service's dead letters, oldest first", list(letter), &[400, 401, 403, 404])},
            "delete": {"tags": tags, "operationId": "servicesDropDeadLetters", "security": admin, "parameters": [name],
                "responses": answer("how many were dropped", dropped.clone(), &[401, 403, 404])},
        }),
    );
    paths.insert("/api/_services/{name}/dead/replay".into(), json!({"post": {"tags": tags, "operationId": "servicesReplayDeadLetters", "security": admin, "parameters": [name],
        "responses": answer("each dead letter sent once more", replayed.clone(), &[401, 403, 404])}}));
    paths.insert("/api/_services/{name}/dead/{id}".into(), json!({"delete": {"tags": tags, "operationId": "servicesDropDeadLetter", "security": admin, "parameters": [name, id],
        "responses": answer("dropped", dropped, &[400, 401, 403, 404])}}));
    paths.insert("/api/_services/{name}/dead/{id}/replay".into(), json!({"post": {"tags": tags, "operationId": "servicesReplayDeadLetter", "security": admin, "parameters": [name, id],
        "responses": answer("sent once more", replayed, &[400, 401, 403, 404])}}));
    let enabled = json!({"type": "object", "properties": {"enabled": {"type": "boolean"}}, "required": ["enabled"]});
    paths.insert("/api/_services/{name}/enable".into(), json!({"post": {"tags": tags, "operationId": "servicesEnable", "security": admin, "parameters": [name],
        "responses": answer("delivering again from the log's end (false: it was not disabled)", enabled, &[401, 403, 404])}}));
}
