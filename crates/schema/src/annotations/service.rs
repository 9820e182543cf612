//! `@@service`: an external HTTP service the model's changes are delivered to (signed
//! webhooks) and that may expose actions. This module owns the option checks and the
//! typed [`Service`]; the rules it carries (`filter`, each action's rule) are compiled by
//! `ssot-policy` like every rule, and delivery is `ssot-services`'.

use super::options::{expect_names, expect_str, pick, rule, unknown_field, Args};
use super::typed::{parse_duration_ms, RealtimeEvent, Rule};
use super::value::{RawAnnotation, Spanned, Value};
use crate::diagnostic::Diagnostics;
use crate::ir::{FieldType, Model};
use crate::span::Span;
use serde::Serialize;

/// A setting given literally or read from the environment when the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Setting {
    Literal(String),
    Env(String),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub name: String,
    /// Who may call it: a rule on the caller alone (`auth != null`, `auth.role == "admin"`).
    pub rule: Rule,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// `webhook` (the only provider so far).
    pub provider: String,
    /// Unique in the schema; the cursor, the dead letters and the admin endpoints go by it.
    /// Default: the model's name in lower case.
    pub name: String,
    pub url: Setting,
    /// The signing secret: always `env("...")`, never in the schema.
    pub secret: String,
    pub events: Vec<RealtimeEvent>,
    /// Which changes are delivered: a rule over the row (the new row; a delete's old one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Rule>,
    /// The row's fields the payload carries; `None`: every field no field rule guards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// Attempts after the first before an event is dead-lettered.
    pub retries: u32,
    pub timeout_ms: u64,
    pub headers: Vec<(String, Setting)>,
    pub actions: Vec<Action>,
    pub span: Span,
}

pub(super) const DEFAULT_RETRIES: u32 = 8;
pub(super) const DEFAULT_TIMEOUT_MS: u64 = 10_000;
const MAX_RETRIES: f64 = 100.0;
const OPTIONS: [&str; 11] =
    ["provider", "name", "url", "secret", "events", "filter", "fields", "retries", "timeout", "headers", "actions"];
const EXAMPLE: &str = "@@service(\"webhook\", url: env(\"HOOK_URL\"), secret: env(\"HOOK_SECRET\"))";

pub(super) fn service(raw: &RawAnnotation, model: &Model, d: &mut Diagnostics) -> Option<Service> {
    let a = Args::read(raw, &OPTIONS, &["provider"], d);
    let provider = match a.required("provider", EXAMPLE, d) {
        Some(v) => expect_str(v, "the provider", d)
            .and_then(|s| pick(s, v.inner_span(), &[("webhook", "webhook")], "service provider", d)),
        None => None,
    };
    let name = match a.get("name") {
        Some(v) => expect_str(v, "the service's name", d).and_then(|s| checked_name(s, v, "service name", d)),
        None => Some(model.name.as_str().to_lowercase()),
    };
    let url = a.required("url", EXAMPLE, d).and_then(|v| setting(v, "`url`", d));
    let secret = a.required("secret", EXAMPLE, d).and_then(|v| secret(v, d));
    let mut events = vec![RealtimeEvent::Created, RealtimeEvent::Updated, RealtimeEvent::Deleted];
    if let Some(value) = a.get("events") {
        let options = [
            ("created", RealtimeEvent::Created),
            ("updated", RealtimeEvent::Updated),
            ("deleted", RealtimeEvent::Deleted),
        ];
        events = expect_names(value, "`events`", d)
            .into_iter()
            .filter_map(|(n, s)| pick(n, s, &options, "event", d))
            .collect();
        events.dedup();
    }
    let filter = a.get("filter").and_then(|v| rule(v, "the filter", d));
    let fields = a.get("fields").map(|value| {
        let mut out = Vec::new();
        for (name, span) in expect_names(value, "`fields`", d) {
            match model.field(name) {
                Some(f) if !matches!(f.ty, FieldType::Relation { .. }) => out.push(name.to_string()),
                Some(_) => {
                    d.error("E0431", format!("`{name}` is a relation; a payload carries the row's own fields"), span)
                        .label("relation field");
                }
                None => unknown_field(name, span, model, d),
            }
        }
        out
    });
    let retries = match a.get("retries") {
        Some(v) => match v.value {
            Value::Number(n) if (0.0..=MAX_RETRIES).contains(&n) && n.fract() == 0.0 => n as u32,
            _ => {
                d.error("E0432", "`retries` must be a whole number from 0 to 100", v.span)
                    .label(format!("found {}", v.describe()));
                DEFAULT_RETRIES
            }
        },
        None => DEFAULT_RETRIES,
    };
    let timeout_ms = match a.get("timeout") {
        Some(v) => expect_str(v, "`timeout`", d).and_then(|s| {
            let ms = parse_duration_ms(s);
            if ms.is_none() {
                d.error("E0422", format!("`{s}` is not a duration"), v.span)
                    .label("write a duration such as \"500ms\", \"10s\" or \"1m\"");
            }
            ms
        }),
        None => Some(DEFAULT_TIMEOUT_MS),
    }
    .unwrap_or(DEFAULT_TIMEOUT_MS);
    let headers = a.get("headers").map(|v| headers(v, d)).unwrap_or_default();
    let actions = a.get("actions").map(|v| actions(v, d)).unwrap_or_default();
    Some(Service {
        provider: provider?.to_string(),
        name: name?,
        url: url?,
        secret: secret?,
        events,
        filter,
        fields,
        retries,
        timeout_ms,
        headers,
        actions,
        span: raw.span,
    })
}

/// Names go into URLs, event ids and SQL parameters: letters, digits, `-` and `_`.
fn checked_name(name: &str, value: &Spanned, what: &str, d: &mut Diagnostics) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        d.error("E0433", format!("`{name}` is not a valid {what}"), value.span)
            .label("use letters, digits, `-` and `_` (at most 64)");
        return None;
    }
    Some(name.to_string())
}

fn setting(value: &Spanned, what: &str, d: &mut Diagnostics) -> Option<Setting> {
    match &value.value {
        Value::Str(s) => Some(Setting::Literal(s.clone())),
        Value::Env(var) => Some(Setting::Env(var.clone())),
        _ => {
            d.error("E0414", format!("{what} must be a string or env(\"...\")"), value.span)
                .label(format!("found {}", value.describe()));
            None
        }
    }
}

fn secret(value: &Spanned, d: &mut Diagnostics) -> Option<String> {
    match &value.value {
        Value::Env(var) => Some(var.clone()),
        _ => {
            d.error("E0434", "the secret must come from the environment", value.span)
                .label(format!("found {}", value.describe()))
                .help("write `secret: env(\"HOOK_SECRET\")`: a secret in the schema is a secret in the repository");
            None
        }
    }
}

fn headers(value: &Spanned, d: &mut Diagnostics) -> Vec<(String, Setting)> {
    let Value::Object(entries) = &value.value else {
        d.error("E0414", "`headers` must be an object", value.span).label(format!("found {}", value.describe()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, span, v) in entries {
        let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid {
            d.error("E0433", format!("`{key}` is not a valid header name"), *span).label("letters, digits, `-`, `_`");
            continue;
        }
        if let Some(s) = setting(v, "a header's value", d) {
            out.push((key.clone(), s));
        }
    }
    out
}

fn actions(value: &Spanned, d: &mut Diagnostics) -> Vec<Action> {
    let Value::Object(entries) = &value.value else {
        d.error("E0414", "`actions` must be an object of rules", value.span)
            .label(format!("found {}", value.describe()))
            .help("for example: actions: { invite: \"auth != null\" }");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, span, v) in entries {
        let key_value = Spanned { value: Value::Str(key.clone()), span: *span };
        let name = checked_name(key, &key_value, "action name", d);
        if let (Some(name), Some(rule)) = (name, rule(v, "an action's rule", d)) {
            out.push(Action { name, rule });
        }
    }
    out
}
