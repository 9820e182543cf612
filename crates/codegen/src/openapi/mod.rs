//! The OpenAPI 3.1 document of a schema's REST API: `ssot generate --target openapi`
//! writes it as `openapi.json`, and `ssot serve` serves the same bytes at
//! `GET /api/openapi.json`.
//!
//! It is meant to be exact, since clients (and the TypeScript SDK) are generated from it:
//! what it allows the server accepts, what the server accepts it allows, and every answer
//! the server can give is declared with its schema. `rows` holds the schemas of rows and
//! write bodies, `args` those of read arguments, `paths` the routes, their parameters,
//! security (optional unless the rules alone refuse an anonymous caller) and problem
//! answers. The input is the API's shape (`ssot-shape`) and the compiled rules
//! (`ssot-policy`), no database fact: the document is the same whatever database serves
//! the schema, and is built without one. The limits it states are the ones the server
//! enforces (`ssot_shape::limits`).

mod args;
mod paths;
mod rows;
mod services;

use serde_json::{json, Map, Value as Json};
use ssot_policy::rules::{CompileError, Policies};
use ssot_schema::ir::{ScalarType, Schema};
use ssot_shape::{Kind, ScalarField, Shape};

/// Where the login identity is an e-mail address, every body that sets it (sign-up, login,
/// the user model's creates and updates: the objects that name both the identity and the
/// password) says so, with the length limit the server checks.
fn email_identity(node: &mut Json, identity: &str, password: &str) {
    fn mark(schema: &mut Json) {
        match schema {
            Json::Object(object) if object.get("type") == Some(&Json::String("string".into())) => {
                object.insert("format".into(), Json::String("email".into()));
                object.insert("maxLength".into(), Json::from(254));
            }
            Json::Object(object) => object.values_mut().for_each(mark),
            Json::Array(items) => items.iter_mut().for_each(mark),
            _ => {}
        }
    }
    match node {
        Json::Object(object) => {
            if let Some(Json::Object(properties)) = object.get_mut("properties") {
                if properties.contains_key(password) {
                    if let Some(schema) = properties.get_mut(identity) {
                        mark(schema);
                    }
                }
            }
            object.values_mut().for_each(|v| email_identity(v, identity, password));
        }
        Json::Array(items) => items.iter_mut().for_each(|v| email_identity(v, identity, password)),
        _ => {}
    }
}

/// `#/components/schemas/{name}`.
fn reference(name: &str) -> Json {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A scalar field's value: as the server reads it (`input`) or answers it. Optional
/// fields take and show `null`.
fn value_schema(es: &Shape, field: &ScalarField, input: bool) -> Json {
    let one = match field.kind {
        Kind::Enum(e) => reference(&es.enums[e].name),
        Kind::Scalar(scalar) => match scalar {
            ScalarType::String => json!({"type": "string"}),
            ScalarType::Int => {
                json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
            }
            ScalarType::BigInt if input => json!({"anyOf": [
                {"type": "string", "pattern": "^-?[0-9]{1,18}$"},
                {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX},
            ], "format": "int64", "description": "a 64-bit integer: a string of digits (or a number)"}),
            ScalarType::BigInt => json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}),
            ScalarType::Float => json!({"type": "number", "format": "double"}),
            ScalarType::Decimal if input => json!({"anyOf": [
                {"type": "string", "pattern": "^-?[0-9]{1,15}(\\.[0-9]{1,15})?$"},
                {"type": "number", "minimum": -1e15, "maximum": 1e15},
            ], "format": "decimal", "description": "a decimal: a string such as \"12.50\" (or a number)"}),
            ScalarType::Decimal => json!({"type": "string", "format": "decimal", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}),
            ScalarType::Boolean => json!({"type": "boolean"}),
            ScalarType::DateTime if input => {
                json!({"type": "string", "format": "date-time", "description": "ISO-8601; an offset, a space for `T`, no offset (UTC) or a bare date are accepted"})
            }
            ScalarType::DateTime => {
                json!({"type": "string", "format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"})
            }
            ScalarType::Json => json!({}),
            ScalarType::Bytes => {
                json!({"type": "string", "contentEncoding": "base64", "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"})
            }
        },
    };
    let schema = if field.list { json!({"type": "array", "items": one}) } else { one };
    if field.optional && !matches!(field.kind, Kind::Scalar(ScalarType::Json)) {
        json!({"anyOf": [schema, {"type": "null"}]})
    } else {
        schema
    }
}

/// The document of a checked schema, as [`text`] writes it.
pub fn generate(schema: &Schema) -> Result<String, CompileError> {
    let shape = Shape::new(schema);
    let policies = Policies::compile(schema, &shape)?;
    Ok(text(&shape, &policies))
}

/// The document as `openapi.json` holds it and `GET /api/openapi.json` serves it:
/// pretty-printed, keys in the order they were written, a newline at the end.
pub fn text(es: &Shape, policies: &Policies) -> String {
    // `{:#}` is `serde_json::to_string_pretty`'s form (two spaces), and cannot fail.
    format!("{:#}\n", document(es, policies))
}

/// The whole document for `es` under `policies` (which name the `@@auth` model).
pub fn document(es: &Shape, policies: &Policies) -> Json {
    let auth = policies.auth.as_ref();
    let mut schemas = Map::new();
    for e in &es.enums {
        let values: Vec<&str> = e.values.iter().map(String::as_str).collect();
        schemas.insert(e.name.clone(), json!({"type": "string", "enum": values}));
    }
    for (model, entity) in es.entities.iter().enumerate() {
        rows::schemas(es, model, auth, &mut schemas);
        args::schemas(es, entity, rows::password(auth, model), &mut schemas);
    }
    let count = |description: &str| json!({"type": "object", "properties": {"count": {"type": "integer", "minimum": 0, "description": description}}, "required": ["count"], "additionalProperties": false});
    schemas.insert("Count".into(), count("how many rows"));
    schemas.insert(
        "ListMeta".into(),
        json!({"type": "object", "properties": {
            "total": {"type": "integer", "minimum": 0, "description": "every row matching `where` (ignoring `skip`, `take` and `cursor`)"},
            "skip": {"type": "integer", "minimum": 0},
            "take": {"type": "integer"},
            "hasMore": {"type": "boolean"},
            "seq": {"type": "integer", "minimum": 0, "description": "the change-log position the rows were read at"},
            "capped": {"type": "boolean", "const": true, "description": "a search matched more rows than it considers (1,000): `total` counts those, and only they are ranked and paged"},
            "highlights": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}}, "description": "with a search's `highlight`: per row of `data`, in order, `{field: snippet}` for each readable searched field that matches; HTML-escaped, matches in `<mark>`"},
        }, "required": ["total", "skip", "take", "hasMore", "seq"], "additionalProperties": false}),
    );
    schemas.insert(
        "Problem".into(),
        json!({"type": "object", "description": "RFC 9457", "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"enum": ["invalid_json", "invalid_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict", "payload_too_large", "rate_limited", "internal", "unavailable", "session_ended", "wrong_password", "relation_filter_depth", "relation_filter_count", "query_timeout", "cancelled", "origin_not_allowed"]},
            "errors": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}, "required": ["path", "message"], "additionalProperties": false}},
        }, "required": ["type", "title", "status", "detail", "code", "errors"], "additionalProperties": false}),
    );
    // `/api/auth/*` first: a client (or Schemathesis) looking for the sign-up flow finds
    // it before `POST /api/users`.
    let mut paths = Map::new();
    if let Some(auth) = auth {
        paths::auth(es, policies, auth, &mut schemas, &mut paths);
    }
    for model in 0..es.entities.len() {
        paths::model(es, policies, model, &mut paths);
    }
    paths::service(&mut paths);
    services::paths(policies, &mut paths);
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {"title": "ssot API", "version": env!("CARGO_PKG_VERSION"), "description": "Generated by ssot from the schema. Query-string arguments are JSON values, URL-encoded (`take=10`, `where={\"published\":true}`). Errors are `application/problem+json`."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "responses": paths::problem_responses(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a user's access token (`/api/auth/login`), an identity provider's token, or the admin key"}}},
    });
    if let Some(auth) = auth {
        let fields = &es.entities[auth.model].fields;
        let (identity, password) = (&fields[auth.identity].name, &fields[auth.password].name);
        if identity.to_ascii_lowercase().contains("email") {
            email_identity(&mut document, identity, password);
        }
    }
    document
}
