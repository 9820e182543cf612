//! The OpenAPI 3.1 document of a schema's REST API: every route, parameter and body,
//! with a JSON Schema per model (as returned, as created, as updated). Served at
//! `GET /api/openapi.json`; `ssot generate --target openapi` writes the same document.
//!
//! It lives beside the routes it describes, so that the two change together.

use serde_json::{json, Map, Value as Json};
use ssot_access::AuthModel;
use ssot_schema::ir::ScalarType;
use ssot_store::entity::{Entities, Entity, Kind, ScalarField};

fn scalar_schema(es: &Entities, field: &ScalarField) -> Json {
    let one = match field.kind {
        Kind::Enum(e) => json!({"$ref": format!("#/components/schemas/{}", es.enums[e].name)}),
        Kind::Scalar(scalar) => match scalar {
            ScalarType::String => json!({"type": "string"}),
            ScalarType::Int => json!({"type": "integer", "format": "int32"}),
            ScalarType::BigInt => json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}),
            ScalarType::Float => json!({"type": "number", "format": "double"}),
            ScalarType::Decimal => json!({"type": "string", "format": "decimal", "pattern": "^[-+]?[0-9]*\\.?[0-9]+$"}),
            ScalarType::Boolean => json!({"type": "boolean"}),
            ScalarType::DateTime => json!({"type": "string", "format": "date-time"}),
            ScalarType::Json => json!({}),
            ScalarType::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        },
    };
    let schema = if field.list { json!({"type": "array", "items": one}) } else { one };
    if field.optional {
        json!({"anyOf": [schema, {"type": "null"}]})
    } else {
        schema
    }
}

/// `password`: the write-only field of this model (the `@@auth` model's password), never returned.
fn model_schemas(es: &Entities, entity: &Entity, password: Option<usize>, out: &mut Map<String, Json>) {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut create = Map::new();
    let mut create_required = Vec::new();
    for (i, f) in entity.fields.iter().enumerate() {
        let schema = scalar_schema(es, f);
        if Some(i) == password {
            create.insert(f.name.clone(), merge(schema, json!({"writeOnly": true, "minLength": 8})));
        } else {
            properties.insert(f.name.clone(), schema.clone());
            required.push(f.name.clone());
            create.insert(f.name.clone(), schema);
        }
        if !f.optional && !f.list && f.default.is_none() && !f.updated_at {
            create_required.push(f.name.clone());
        }
    }
    let mut updates = create.clone();
    for r in &entity.relations {
        let target = &es.entities[r.target].name;
        let one = json!({"$ref": format!("#/components/schemas/{target}")});
        let related =
            if r.list { json!({"type": "array", "items": one}) } else { json!({"anyOf": [one, {"type": "null"}]}) };
        // Related rows appear only when selected or included.
        properties.insert(r.name.clone(), related);
        let nested = json!({"type": "object", "description": format!("nested write to `{target}`: create, connect (and on update: disconnect, set)")});
        create.insert(r.name.clone(), nested.clone());
        updates.insert(r.name.clone(), nested);
    }
    out.insert(
        entity.name.clone(),
        json!({"type": "object", "properties": properties, "required": required, "description": format!("A `{}` record (relations only when selected or included).", entity.name)}),
    );
    out.insert(
        format!("{}Create", entity.name),
        json!({"type": "object", "properties": create, "required": create_required, "additionalProperties": false}),
    );
    out.insert(
        format!("{}Update", entity.name),
        json!({"type": "object", "properties": updates, "additionalProperties": false}),
    );
    out.insert(
        format!("{}List", entity.name),
        json!({
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{}", entity.name)}},
                "meta": {"$ref": "#/components/schemas/ListMeta"},
            },
            "required": ["data", "meta"],
        }),
    );
}

fn json_param(name: &str, description: &str) -> Json {
    json!({"name": name, "in": "query", "required": false, "description": description, "content": {"application/json": {"schema": {}}}})
}

fn ok(description: &str, schema: Json) -> Json {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn problems() -> Json {
    let problem = json!({"description": "a problem (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    json!({"400": problem, "401": problem, "403": problem, "404": problem, "409": problem, "413": problem, "429": problem})
}

fn body(schema: Json) -> Json {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn model_paths(entity: &Entity, paths: &mut Map<String, Json>) {
    let name = &entity.name;
    let schema = |suffix: &str| json!({"$ref": format!("#/components/schemas/{name}{suffix}")});
    let count = json!({"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]});
    let shape = [json_param("select", "fields and relations to return"), json_param("include", "relations to add")];
    let mut list_params = vec![
        json_param("where", "a Prisma `where` filter"),
        json_param("orderBy", "an order, or a list of them"),
        json_param("take", "rows to return (default 100, at most 1000)"),
        json_param("skip", "rows to skip"),
        json_param("cursor", "a unique selector: the page starts at that row"),
    ];
    list_params.extend(shape.clone());
    let base = format!("/api/{}", entity.resource);
    let tag = json!([name]);
    paths.insert(
        base.clone(),
        json!({
            "get": {"tags": tag, "operationId": format!("list{name}"), "parameters": list_params, "responses": merge(json!({"200": ok("a page of rows", schema("List"))}), problems())},
            "post": {"tags": tag, "operationId": format!("create{name}"), "parameters": shape, "requestBody": body(schema("Create")), "responses": merge(json!({"201": ok("the created row", schema(""))}), problems())},
        }),
    );
    paths.insert(
        format!("{base}/query"),
        json!({"post": {"tags": tag, "operationId": format!("query{name}"), "requestBody": body(json!({"type": "object", "properties": {"where": {}, "orderBy": {}, "take": {"type": "integer"}, "skip": {"type": "integer"}, "cursor": {}, "select": {}, "include": {}}})), "responses": merge(json!({"200": ok("a page of rows", schema("List"))}), problems())}}),
    );
    paths.insert(
        format!("{base}/count"),
        json!({"get": {"tags": tag, "operationId": format!("count{name}"), "parameters": [json_param("where", "a Prisma `where` filter")], "responses": merge(json!({"200": ok("how many rows match", count.clone())}), problems())}}),
    );
    paths.insert(
        format!("{base}/bulk"),
        json!({
            "post": {"tags": tag, "operationId": format!("createMany{name}"), "requestBody": body(json!({"type": "object", "properties": {"data": {"type": "array", "items": schema("Create")}}, "required": ["data"]})), "responses": merge(json!({"200": ok("rows created", count.clone())}), problems())},
            "patch": {"tags": tag, "operationId": format!("updateMany{name}"), "requestBody": body(json!({"type": "object", "properties": {"where": {}, "data": schema("Update")}, "required": ["where", "data"]})), "responses": merge(json!({"200": ok("rows updated", count.clone())}), problems())},
            "delete": {"tags": tag, "operationId": format!("deleteMany{name}"), "requestBody": body(json!({"type": "object", "properties": {"where": {}}, "required": ["where"]})), "responses": merge(json!({"200": ok("rows deleted", count)}), problems())},
        }),
    );
    let id_names: Vec<&str> = entity.id.iter().map(|&f| entity.fields[f].name.as_str()).collect();
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": format!("{} (joined by `,` when compound, each part percent-encoded)", id_names.join(", "))});
    let with_id = |mut params: Vec<Json>| {
        params.insert(0, id.clone());
        params
    };
    paths.insert(
        format!("{base}/{{id}}"),
        json!({
            "get": {"tags": tag, "operationId": format!("get{name}"), "parameters": with_id(shape.to_vec()), "responses": merge(json!({"200": ok("the row", schema(""))}), problems())},
            "patch": {"tags": tag, "operationId": format!("update{name}"), "parameters": with_id(shape.to_vec()), "requestBody": body(schema("Update")), "responses": merge(json!({"200": ok("the updated row", schema(""))}), problems())},
            "put": {"tags": tag, "operationId": format!("replace{name}"), "parameters": with_id(shape.to_vec()), "requestBody": body(schema("Update")), "responses": merge(json!({"200": ok("the updated row", schema(""))}), problems())},
            "delete": {"tags": tag, "operationId": format!("delete{name}"), "parameters": with_id(shape.to_vec()), "responses": merge(json!({"200": ok("the deleted row", schema(""))}), problems())},
        }),
    );
}

fn merge(mut a: Json, b: Json) -> Json {
    if let (Some(a), Json::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// `/api/auth/*`, for the `@@auth` model.
fn auth_paths(es: &Entities, auth: &AuthModel, schemas: &mut Map<String, Json>, paths: &mut Map<String, Json>) {
    let entity = &es.entities[auth.model];
    let name = &entity.name;
    let identity = &entity.fields[auth.identity].name;
    let password = &entity.fields[auth.password].name;
    schemas.insert(
        "Session".into(),
        json!({"type": "object", "properties": {
            "accessToken": {"type": "string", "description": "a JWT: send it as `Authorization: Bearer <accessToken>`"},
            "tokenType": {"const": "Bearer"},
            "expiresIn": {"type": "integer", "description": "seconds"},
            "refreshToken": {"type": "string", "description": "when `@@auth` has `refresh: true`; used once"},
            "user": {"$ref": format!("#/components/schemas/{name}")},
        }, "required": ["accessToken", "tokenType", "expiresIn", "user"]}),
    );
    let session = |description: &str| ok(description, json!({"$ref": "#/components/schemas/Session"}));
    let refresh = body(
        json!({"type": "object", "properties": {"refreshToken": {"type": "string"}}, "required": ["refreshToken"]}),
    );
    let credentials = body(
        json!({"type": "object", "properties": {identity.clone(): {"type": "string"}, password.clone(): {"type": "string", "writeOnly": true}}, "required": [identity, password]}),
    );
    let tag = json!(["auth"]);
    paths.insert("/api/auth/signup".into(), json!({"post": {"tags": tag, "operationId": "signup", "security": [], "requestBody": body(json!({"$ref": format!("#/components/schemas/{name}Create")})), "responses": merge(json!({"201": session("the new user, signed in")}), problems())}}));
    paths.insert("/api/auth/login".into(), json!({"post": {"tags": tag, "operationId": "login", "security": [], "requestBody": credentials, "responses": merge(json!({"200": session("signed in")}), problems())}}));
    paths.insert("/api/auth/refresh".into(), json!({"post": {"tags": tag, "operationId": "refresh", "security": [], "requestBody": refresh.clone(), "responses": merge(json!({"200": session("the next tokens (the refresh token rotates)")}), problems())}}));
    paths.insert("/api/auth/logout".into(), json!({"post": {"tags": tag, "operationId": "logout", "security": [], "requestBody": refresh, "responses": merge(json!({"204": {"description": "the session's refresh tokens are revoked"}}), problems())}}));
    paths.insert("/api/auth/me".into(), json!({"get": {"tags": tag, "operationId": "me", "responses": merge(json!({"200": ok("the signed-in user", json!({"$ref": format!("#/components/schemas/{name}")}))}), problems())}}));
}

/// The whole document; `auth` is the `@@auth` model, when there is one.
pub fn document(es: &Entities, auth: Option<&AuthModel>) -> Json {
    let mut schemas = Map::new();
    for e in &es.enums {
        let values: Vec<&str> = e.values.iter().map(|(api, _)| api.as_str()).collect();
        schemas.insert(e.name.clone(), json!({"type": "string", "enum": values}));
    }
    for (i, entity) in es.entities.iter().enumerate() {
        let password = auth.filter(|a| a.model == i).map(|a| a.password);
        model_schemas(es, entity, password, &mut schemas);
    }
    schemas.insert(
        "ListMeta".into(),
        json!({"type": "object", "properties": {"total": {"type": "integer"}, "skip": {"type": "integer"}, "take": {"type": "integer"}, "hasMore": {"type": "boolean"}, "seq": {"type": "integer", "description": "the change-log position the rows were read at"}}, "required": ["total", "skip", "take", "hasMore", "seq"]}),
    );
    schemas.insert(
        "Problem".into(),
        json!({"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "code": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}, "required": ["path", "message"]}}}, "required": ["type", "title", "status", "detail", "code", "errors"]}),
    );
    let mut paths = Map::new();
    for entity in &es.entities {
        model_paths(entity, &mut paths);
    }
    if let Some(auth) = auth {
        auth_paths(es, auth, &mut schemas, &mut paths);
    }
    paths.insert(
        "/api/$batch".into(),
        json!({"post": {"operationId": "batch", "requestBody": body(json!({"type": "object", "properties": {"operations": {"type": "array", "maxItems": 100, "items": {"type": "object", "properties": {"method": {"type": "string"}, "path": {"type": "string"}, "body": {}}, "required": ["method", "path"]}}}, "required": ["operations"]})), "responses": merge(json!({"200": ok("every result, in order; nothing written when one fails", json!({"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties": {"status": {"type": "integer"}, "body": {}}}}}}))}), problems())}}),
    );
    paths.insert("/healthz".into(), json!({"get": {"operationId": "health", "security": [], "responses": {"200": ok("the server and its database answer", json!({"type": "object"})), "503": {"description": "the database does not answer"}}}}));
    paths.insert("/metrics".into(), json!({"get": {"operationId": "metrics", "security": [], "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}));
    json!({
        "openapi": "3.1.0",
        "info": {"title": "ssot API", "version": env!("CARGO_PKG_VERSION"), "description": "Generated by ssot from the schema."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
}
