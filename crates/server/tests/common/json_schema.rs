//! A small JSON Schema check, enough for the schemas `ssot_codegen::openapi` writes:
//! local `$ref`, `type`, `properties`, `required`, `additionalProperties: false`,
//! `items`, `anyOf`, `allOf`, `not`, `enum`, `const`, number and length bounds,
//! `minProperties`/`maxProperties`. (`pattern` and `format` are not checked.)

use serde_json::Value as Json;

/// Every way `value` breaks `schema`, as `path: reason` lines; empty when it conforms.
/// `document` is the whole OpenAPI document, for `#/...` references.
pub fn violations(document: &Json, schema: &Json, value: &Json) -> Vec<String> {
    let mut out = Vec::new();
    check(document, schema, value, "$", &mut out);
    out
}

fn type_matches(name: &str, value: &Json) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn check(document: &Json, schema: &Json, value: &Json, path: &str, out: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else { return };
    if let Some(Json::String(r)) = schema.get("$ref") {
        let pointer = r.strip_prefix('#').unwrap_or(r);
        match document.pointer(pointer) {
            Some(target) => check(document, target, value, path, out),
            None => out.push(format!("{path}: dangling $ref {r}")),
        }
    }
    match schema.get("type") {
        Some(Json::String(t)) if !type_matches(t, value) => out.push(format!("{path}: not of type {t}: {value}")),
        Some(Json::Array(ts)) if !ts.iter().any(|t| t.as_str().is_some_and(|t| type_matches(t, value))) => {
            out.push(format!("{path}: none of the types {ts:?}: {value}"))
        }
        _ => {}
    }
    if let Some(Json::Array(options)) = schema.get("enum") {
        if !options.contains(value) {
            out.push(format!("{path}: {value} is not one of {options:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            out.push(format!("{path}: {value} is not {c}"));
        }
    }
    if let Some(Json::Array(all)) = schema.get("allOf") {
        for s in all {
            check(document, s, value, path, out);
        }
    }
    if let Some(Json::Array(any)) = schema.get("anyOf") {
        if !any.iter().any(|s| violations_at(document, s, value, path).is_empty()) {
            let reasons: Vec<String> = any.iter().flat_map(|s| violations_at(document, s, value, path)).collect();
            out.push(format!("{path}: matches no branch of anyOf: {}", reasons.join("; ")));
        }
    }
    if let Some(not) = schema.get("not") {
        if violations_at(document, not, value, path).is_empty() {
            out.push(format!("{path}: matches a `not`"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema.get("minimum").and_then(Json::as_f64).is_some_and(|min| n < min) {
            out.push(format!("{path}: {n} is below the minimum"));
        }
        if schema.get("maximum").and_then(Json::as_f64).is_some_and(|max| n > max) {
            out.push(format!("{path}: {n} is above the maximum"));
        }
    }
    if let Some(s) = value.as_str() {
        let length = s.chars().count() as u64;
        if schema.get("minLength").and_then(Json::as_u64).is_some_and(|min| length < min) {
            out.push(format!("{path}: shorter than minLength"));
        }
        if schema.get("maxLength").and_then(Json::as_u64).is_some_and(|max| length > max) {
            out.push(format!("{path}: longer than maxLength"));
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(document, item_schema, item, &format!("{path}[{i}]"), out);
            }
        }
        if schema.get("maxItems").and_then(Json::as_u64).is_some_and(|max| items.len() as u64 > max) {
            out.push(format!("{path}: more than maxItems"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Json::as_object);
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => check(document, s, v, &format!("{path}.{key}"), out),
                None if schema.get("additionalProperties") == Some(&Json::Bool(false)) => {
                    out.push(format!("{path}: unexpected property `{key}`"))
                }
                None => {}
            }
        }
        for name in schema.get("required").and_then(Json::as_array).into_iter().flatten() {
            if let Some(name) = name.as_str() {
                if !object.contains_key(name) {
                    out.push(format!("{path}: missing required `{name}`"));
                }
            }
        }
        let count = object.len() as u64;
        if schema.get("minProperties").and_then(Json::as_u64).is_some_and(|min| count < min) {
            out.push(format!("{path}: fewer than minProperties"));
        }
        if schema.get("maxProperties").and_then(Json::as_u64).is_some_and(|max| count > max) {
            out.push(format!("{path}: more than maxProperties"));
        }
    }
}

fn violations_at(document: &Json, schema: &Json, value: &Json, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(document, schema, value, path, &mut out);
    out
}
