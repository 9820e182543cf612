//! The generated client: `createClient(options)` returns a `$Client`, the runtime's
//! `SsotClient` with one typed delegate per model (`client.post`, shaped like Prisma
//! Client's), and `$models`, the facts the runtime cannot guess (each model's id fields).
//!
//! A delegate's name is its model's with the first letter in lower case (`UserProfile` →
//! `userProfile`). The runtime's own members start with `$` (and `auth`), which no model's
//! can; a model whose name would still meet one (`Auth`, or `then`, which would make the
//! client look like a promise) gets `Model` appended (`authModel`); `client.$model('Auth')`
//! reaches every model by its name.

use ssot_schema::ir::{Model, ModelKindIr, Schema};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Names a delegate must not take: the runtime client's members without `$`, and names
/// JavaScript gives a meaning to on every object.
const TAKEN: &[&str] = &["auth", "constructor", "then", "toString", "valueOf", "hasOwnProperty", "toJSON", "__proto__"];

/// The fields that identify a row in URLs and in the cache: the primary key, else the
/// first unique made of required fields (as the server decides).
fn id_fields(model: &Model) -> Vec<&str> {
    if let Some(key) = &model.primary_key {
        return key.fields.iter().map(|f| f.as_str()).collect();
    }
    if let Some(field) = model.fields.iter().find(|f| f.is_id) {
        return vec![field.name.as_ref()];
    }
    let required = |name: &str| {
        model.fields.iter().any(|f| f.name.as_str() == name && f.arity == ssot_schema::ir::Arity::Required)
    };
    if let Some(field) = model.fields.iter().find(|f| f.is_unique && f.arity == ssot_schema::ir::Arity::Required) {
        return vec![field.name.as_ref()];
    }
    model
        .uniques
        .iter()
        .find(|u| u.fields.iter().all(|f| required(f)))
        .map(|u| u.fields.iter().map(|f| f.as_str()).collect())
        .unwrap_or_default()
}

/// Each served model's delegate name, in the schema's order.
pub(crate) fn delegate_names(schema: &Schema) -> Vec<(&Model, String)> {
    let mut used: BTreeSet<String> = TAKEN.iter().map(|s| s.to_string()).collect();
    let mut names = Vec::new();
    for model in schema.models.iter().filter(|m| !m.ignored && m.kind != ModelKindIr::Type) {
        let mut chars = model.name.chars();
        let Some(first) = chars.next() else { continue };
        let mut name: String = first.to_lowercase().chain(chars).collect();
        if used.contains(&name) {
            name.push_str("Model");
        }
        if used.insert(name.clone()) {
            names.push((model, name));
        }
    }
    names
}

/// The client's part of `ssot.ts`.
pub(super) fn client(out: &mut String, schema: &Schema) {
    let delegates = delegate_names(schema);
    out.push_str("\n/** Each model's id fields, which the runtime's cache and `where` by id need. */\n");
    out.push_str("export const $models: { [model: string]: $ModelMeta } = {\n");
    for (model, _) in &delegates {
        let ids: Vec<String> = id_fields(model).iter().map(|f| super::quote(f)).collect();
        let _ = writeln!(out, "  {}: {{ id: [{}] }},", super::quote(&model.name), ids.join(", "));
    }
    out.push_str("};\n");
    out.push_str(
        "\n/**\n * The schema's client: the runtime's `SsotClient` with a delegate per model (`findMany`, `findUnique`, \
         `create`,\n * `update`, `delete`, `count`, the bulk writes, `subscribe`, `channel`), typed by `$Schema`.\n */\n",
    );
    out.push_str("export class $Client extends $SsotClient<$Schema> {\n");
    for (model, name) in &delegates {
        let _ = writeln!(
            out,
            "  readonly {name}: $ModelDelegate<$Schema[{0}], $Schema> = this.$model({0});",
            super::quote(&model.name)
        );
    }
    out.push_str("}\n");
    out.push_str(
        "\n/** A client of this schema's server (`createClient({ url, token, transport })`, see the runtime's `ClientOptions`). */\n\
         export function createClient(options: $ClientOptions): $Client {\n\
         \x20 return new $Client({ ...options, models: { ...$models, ...options.models } });\n\
         }\n",
    );
}
