//! Checking each annotation's arguments into typed values.

use super::options::{expect_names, expect_str, pick, rule, unknown_field, Args};
use super::value::{RawAnnotation, Spanned, Value};
use crate::diagnostic::Diagnostics;
use crate::ir::{FieldType, Model, ScalarType};
use crate::span::Span;
use serde::Serialize;

/// A rule expression as written, with the span of its text inside the quotes.
/// Its grammar and types are checked by the policy compiler.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Read,
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The operations this policy allows, with `write` and `*` expanded.
    pub operations: Vec<Operation>,
    pub rule: Rule,
    /// With `fields`, the rule guards only these fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscribeKind {
    List,
    Item,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RealtimeEvent {
    Created,
    Updated,
    Deleted,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Realtime {
    pub subscribe: Vec<SubscribeKind>,
    pub broadcast: Vec<RealtimeEvent>,
    /// Who may subscribe, per kind; a kind without a rule is open to nobody.
    pub permissions: Vec<Permission>,
    /// Who may join a record's ephemeral channel (broadcast and presence, `Model:channel:<id>`),
    /// a rule on that record; no rule: the model has no channels.
    pub channel: Option<Rule>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub kind: SubscribeKind,
    pub rule: Rule,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    pub strategy: String,
    /// Access-token lifetime in seconds (`expiry: "7d"`; default 15 minutes).
    pub expiry_seconds: u64,
    pub refresh: bool,
    /// The field users log in with (default `email`) and the password field (default `password`).
    pub identity_field: String,
    pub password_field: String,
    /// Which users may open the admin studio (a rule on the caller alone, as an action's);
    /// none: only the admin key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub studio: Option<Rule>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchEngine {
    /// Chosen by the database: FTS5 on SQLite, tsvector on PostgreSQL.
    Auto,
    Fts5,
    Tsvector,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Search {
    pub fields: Vec<String>,
    pub weights: Vec<f64>,
    pub engine: SearchEngine,
    pub span: Span,
}

/// Checks one annotation and stores it on `model`.
pub(super) fn apply(raw: &RawAnnotation, model: &mut Model, d: &mut Diagnostics) {
    match raw.name.as_str() {
        "policy" => {
            if let Some(policy) = policy(raw, model, d) {
                model.annotations.policies.push(policy);
            }
        }
        "realtime" => {
            let value = realtime(raw, d);
            once(&mut model.annotations.realtime, value, raw, d);
        }
        "auth" => {
            let value = auth(raw, model, d);
            once(&mut model.annotations.auth, value, raw, d);
        }
        "search" => {
            let value = search(raw, model, d);
            once(&mut model.annotations.search, value, raw, d);
        }
        "service" => {
            if let Some(service) = super::service::service(raw, model, d) {
                model.annotations.services.push(service);
            }
        }
        other => {
            let mut report = d
                .warning("W0401", format!("unknown annotation `@@{other}`; it is kept as documentation"), raw.name_span)
                .label("not an ssot annotation");
            report = report.suggest(other, super::NAMES);
            drop(report);
        }
    }
}

fn once<T>(slot: &mut Option<T>, value: Option<T>, raw: &RawAnnotation, d: &mut Diagnostics) {
    if slot.is_some() {
        d.error("E0417", format!("`@@{}` is given twice on one model", raw.name), raw.span)
            .label("second one")
            .help("merge the two into one annotation");
        return;
    }
    *slot = value;
}

fn policy(raw: &RawAnnotation, model: &Model, d: &mut Diagnostics) -> Option<Policy> {
    let a = Args::read(raw, &["operation", "rule", "fields"], &["operation", "rule"], d);
    let example = "@@policy(\"read\", rule: \"authenticated\")";
    let op_value = a.required("operation", example, d);
    let rule_value = a.required("rule", example, d);
    let mut operations = Vec::new();
    if let Some(op_value) = op_value {
        let text = expect_str(op_value, "the operation", d)?;
        let span = op_value.inner_span();
        for part in text.split(',') {
            let part = part.trim();
            let options = [
                ("read", &[Operation::Read][..]),
                ("create", &[Operation::Create]),
                ("update", &[Operation::Update]),
                ("delete", &[Operation::Delete]),
                ("write", &[Operation::Create, Operation::Update]),
                ("*", &[Operation::Read, Operation::Create, Operation::Update, Operation::Delete]),
                ("all", &[Operation::Read, Operation::Create, Operation::Update, Operation::Delete]),
            ];
            for op in pick(part, span, &options, "operation", d)?.iter() {
                if !operations.contains(op) {
                    operations.push(*op);
                }
            }
        }
    }
    let rule = rule(rule_value?, "the rule", d)?;
    let fields = match a.get("fields") {
        None => None,
        Some(value) => {
            if operations.contains(&Operation::Delete) {
                d.error("E0418", "a field-level policy cannot cover `delete`", value.span)
                    .label("deleting removes the whole row")
                    .help("field-level policies apply to read, create and update");
            }
            let mut names = Vec::new();
            for (name, span) in expect_names(value, "`fields`", d) {
                match model.field(name) {
                    Some(f) if !f.is_relation() || operations == [Operation::Read] => names.push(name.to_string()),
                    Some(_) => {
                        d.error(
                            "E0419",
                            format!("`{name}` is a relation field; a write policy guards scalar fields"),
                            span,
                        )
                        .label("not a scalar field");
                    }
                    None => unknown_field(name, span, model, d),
                }
            }
            Some(names)
        }
    };
    Some(Policy { operations, rule, fields, span: raw.span })
}

fn realtime(raw: &RawAnnotation, d: &mut Diagnostics) -> Option<Realtime> {
    let a = Args::read(raw, &["subscribe", "broadcast", "permissions", "channel"], &[], d);
    let kinds = [("list", SubscribeKind::List), ("item", SubscribeKind::Item)];
    let events =
        [("created", RealtimeEvent::Created), ("updated", RealtimeEvent::Updated), ("deleted", RealtimeEvent::Deleted)];
    let subscribe = match a.get("subscribe") {
        Some(v) => expect_names(v, "`subscribe`", d)
            .into_iter()
            .filter_map(|(n, s)| pick(n, s, &kinds, "subscription kind", d))
            .collect(),
        None => vec![SubscribeKind::List, SubscribeKind::Item],
    };
    let broadcast = match a.get("broadcast") {
        Some(v) => {
            expect_names(v, "`broadcast`", d).into_iter().filter_map(|(n, s)| pick(n, s, &events, "event", d)).collect()
        }
        None => vec![RealtimeEvent::Created, RealtimeEvent::Updated, RealtimeEvent::Deleted],
    };
    let mut permissions = Vec::new();
    if let Some(value) = a.get("permissions") {
        match &value.value {
            Value::Object(entries) => {
                for (key, key_span, rule_value) in entries {
                    let Some(kind) = pick(key, *key_span, &kinds, "subscription kind", d) else {
                        continue;
                    };
                    if !subscribe.contains(&kind) {
                        d.error(
                            "E0421",
                            format!("a permission for `{key}`, which `subscribe` does not offer"),
                            *key_span,
                        )
                        .label("no such subscription on this model")
                        .help(format!("add \"{key}\" to `subscribe`, or remove this permission"));
                    }
                    if let Some(rule) = rule(rule_value, "a permission rule", d) {
                        permissions.push(Permission { kind, rule });
                    }
                }
            }
            _ => {
                d.error("E0414", "`permissions` must be an object", value.span)
                    .label(format!("found {}", value.describe()))
                    .help("for example: permissions: { list: \"authenticated\", item: \"authenticated\" }");
            }
        }
    }
    let channel = a.get("channel").and_then(|v| rule(v, "a channel rule", d));
    Some(Realtime { subscribe, broadcast, permissions, channel, span: raw.span })
}

/// `"15m"`, `"7d"`, `"3600"`, `"12h"`, `"30s"` to seconds.
/// A duration with a unit of `ms`, `s`, `m` or `h` (bare digits: seconds), in milliseconds.
pub(crate) fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_suffix("ms") {
        Some(number) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
            number.parse::<u64>().ok().filter(|ms| *ms > 0)
        }
        _ => parse_duration(text).and_then(|s| s.checked_mul(1000)),
    }
}

pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(factor).filter(|s| *s > 0)
}

fn auth(raw: &RawAnnotation, model: &Model, d: &mut Diagnostics) -> Option<Auth> {
    let a = Args::read(raw, &["strategy", "expiry", "refresh", "identity", "password", "studio"], &["strategy"], d);
    let strategy = match a.get("strategy") {
        Some(v) => {
            let s = expect_str(v, "the strategy", d)?;
            pick(s, v.inner_span(), &[("JWT", "JWT"), ("jwt", "JWT")], "auth strategy", d)?.to_string()
        }
        None => "JWT".to_string(),
    };
    let expiry_seconds = match a.get("expiry") {
        Some(v) => {
            let text = expect_str(v, "`expiry`", d)?;
            match parse_duration(text) {
                Some(seconds) => seconds,
                None => {
                    d.error("E0422", format!("`{text}` is not a duration"), v.inner_span())
                        .label("expected a number with a unit: s, m, h, d or w")
                        .help("for example \"15m\" or \"7d\"");
                    return None;
                }
            }
        }
        None => 15 * 60,
    };
    let refresh = match a.get("refresh") {
        Some(Spanned { value: Value::Bool(b), .. }) => *b,
        Some(other) => {
            d.error("E0414", "`refresh` must be `true` or `false`", other.span)
                .label(format!("found {}", other.describe()));
            false
        }
        None => true,
    };
    let mut field_option = |key: &str, default: &str| -> Option<String> {
        let (name, span) = match a.get(key) {
            Some(v) => (expect_str(v, &format!("`{key}`"), d)?.to_string(), v.inner_span()),
            None => (default.to_string(), raw.span),
        };
        match model.field(&name) {
            Some(f) if f.ty == (FieldType::Scalar { scalar: ScalarType::String }) => Some(name),
            Some(_) => {
                d.error("E0423", format!("the {key} field `{name}` must be a `String`"), span).label("wrong type");
                None
            }
            None => {
                d.error("E0424", format!("`@@auth` needs a `{name}` field on `{}`", model.name), span)
                    .label(format!("no `{name}` field"))
                    .help(format!("add `{name} String` to the model, or name the field with `{key}: \"...\"`"));
                None
            }
        }
    };
    let identity_field = field_option("identity", "email");
    let password_field = field_option("password", "password");
    let studio = match a.get("studio") {
        Some(v) => Some(rule(v, "the studio's rule", d)?),
        None => None,
    };
    Some(Auth {
        strategy,
        expiry_seconds,
        refresh,
        identity_field: identity_field?,
        password_field: password_field?,
        studio,
        span: raw.span,
    })
}

fn search(raw: &RawAnnotation, model: &Model, d: &mut Diagnostics) -> Option<Search> {
    let a = Args::read(raw, &["fields", "weights", "engine"], &["fields"], d);
    let fields_value = a.required("fields", "@@search(fields: [\"title\", \"content\"])", d)?;
    let mut fields = Vec::new();
    for (name, span) in expect_names(fields_value, "`fields`", d) {
        match model.field(name) {
            Some(f) if f.ty == (FieldType::Scalar { scalar: ScalarType::String }) => fields.push(name.to_string()),
            Some(_) => {
                d.error("E0425", format!("`{name}` is not a `String` field, so it cannot be searched"), span)
                    .label("full-text search needs text");
            }
            None => unknown_field(name, span, model, d),
        }
    }
    if fields_value_is_empty(fields_value) {
        d.error("E0426", "`@@search` needs at least one field", fields_value.span).label("empty list");
    }
    let mut weights = Vec::new();
    if let Some(value) = a.get("weights") {
        let items: Vec<&Spanned> = match &value.value {
            Value::List(items) => items.iter().collect(),
            _ => vec![value],
        };
        for item in &items {
            match item.value {
                Value::Number(n) if n > 0.0 => weights.push(n),
                _ => {
                    d.error("E0427", "weights must be positive numbers", item.span)
                        .label(format!("found {}", item.describe()));
                }
            }
        }
        let field_count = expect_names(fields_value, "`fields`", &mut Diagnostics::default()).len();
        if items.len() != field_count {
            d.error("E0428", format!("{} weights for {} fields", items.len(), field_count), value.span)
                .label("give one weight per field, in the same order")
                .secondary(fields_value.span, "the fields");
        }
    }
    let engine = match a.get("engine") {
        Some(v) => {
            let name = match &v.value {
                Value::Str(s) | Value::Name(s) => s.as_str(),
                _ => "",
            };
            let engines =
                [("auto", SearchEngine::Auto), ("fts5", SearchEngine::Fts5), ("tsvector", SearchEngine::Tsvector)];
            pick(name, v.inner_span(), &engines, "search engine", d)?
        }
        None => SearchEngine::Auto,
    };
    Some(Search { fields, weights, engine, span: raw.span })
}

fn fields_value_is_empty(value: &Spanned) -> bool {
    matches!(&value.value, Value::List(items) if items.is_empty())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Some(604_800));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("3600"), Some(3600));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("7 days"), None);
        assert_eq!(super::parse_duration_ms("250ms"), Some(250));
        assert_eq!(super::parse_duration_ms("10s"), Some(10_000));
        assert_eq!(super::parse_duration_ms("0ms"), None);
    }
}
