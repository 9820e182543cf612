//! The generated client: `createClient(options)` returns a `$Client`, the runtime's
//! `SsotClient` with one typed delegate per model (`client.post`, shaped like Prisma
//! Client's), and `$models`, the facts the runtime cannot guess (each model's id fields,
//! REST path and relation names), for the models the API serves (`ssot_shape`).
//!
//! A delegate's name is its model's with the first letter in lower case (`UserProfile` →
//! `userProfile`). The runtime's own members start with `$` (and `auth`), which no model's
//! can; a model whose name would still meet one (`Auth`, or `then`, which would make the
//! client look like a promise) gets `Model` appended (`authModel`); `client.$model('Auth')`
//! reaches every model by its name.

use ssot_shape::{Entity, Shape};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Names a delegate must not take: the runtime client's members without `$`, and names
/// JavaScript gives a meaning to on every object.
const TAKEN: &[&str] = &["auth", "constructor", "then", "toString", "valueOf", "hasOwnProperty", "toJSON", "__proto__"];

/// Each served model's delegate name, in the schema's order.
pub(crate) fn delegate_names(api: &Shape) -> Vec<(&Entity, String)> {
    let mut used: BTreeSet<String> = TAKEN.iter().map(|s| s.to_string()).collect();
    let mut names = Vec::new();
    for entity in &api.entities {
        let mut chars = entity.name.chars();
        let Some(first) = chars.next() else { continue };
        let mut name: String = first.to_lowercase().chain(chars).collect();
        if used.contains(&name) {
            name.push_str("Model");
        }
        if used.insert(name.clone()) {
            names.push((entity, name));
        }
    }
    names
}

/// The client's part of `ssot.ts`.
pub(super) fn client(out: &mut String, schema: &ssot_schema::ir::Schema, api: &Shape) {
    let delegates = delegate_names(api);
    let actions = super::action_names(schema);
    let names: Vec<String> = actions.iter().map(|a| super::quote(a)).collect();
    let union = if names.is_empty() { "never".to_string() } else { names.join(" | ") };
    let _ = writeln!(
        out,
        "\n/** The `@@service` actions' names (`client.$actions`). */\nexport type $ActionName = {union};"
    );
    out.push_str("\n/** Each model's id fields, REST path and relations, which the runtime's cache and HTTP transport need. */\n");
    out.push_str("export const $models: { [model: string]: $ModelMeta } = {\n");
    for (entity, _) in &delegates {
        let ids: Vec<String> = entity.id.iter().map(|&i| super::quote(&entity.fields[i].name)).collect();
        let relations: Vec<String> = entity.relations.iter().map(|r| super::quote(&r.name)).collect();
        let _ = writeln!(
            out,
            "  {}: {{ id: [{}], path: {}, relations: [{}] }},",
            super::quote(&entity.name),
            ids.join(", "),
            super::quote(&format!("/api/{}", entity.resource)),
            relations.join(", ")
        );
    }
    out.push_str("};\n");
    out.push_str(
        "\n/**\n * The schema's client: the runtime's `SsotClient` with a delegate per model (`findMany`, `findUnique`, \
         `create`,\n * `update`, `delete`, `count`, the bulk writes, `subscribe`, `channel`), typed by `$Schema`.\n */\n",
    );
    out.push_str("export class $Client extends $SsotClient<$Schema> {\n");
    for (entity, name) in &delegates {
        let _ = writeln!(
            out,
            "  readonly {name}: $ModelDelegate<$Schema[{0}], $Schema> = this.$model({0});",
            super::quote(&entity.name)
        );
    }
    out.push_str("  /** Each `@@service` action by name: `client.$actions.invite(data)` resolves with the service's answer (`$action`). */\n");
    out.push_str("  readonly $actions = {\n");
    for (action, quoted) in actions.iter().zip(&names) {
        let _ = writeln!(
            out,
            "    {quoted}: <R = $Json>(data?: $Json, options?: $CallOptions): Promise<R> => this.$action<R>({}, data, options),",
            super::quote(action)
        );
    }
    out.push_str("  };\n");
    out.push_str("}\n");
    out.push_str(
        "\n/** A client of this schema's server (`createClient({ url, token, transport })`, see the runtime's `ClientOptions`). */\n\
         export function createClient(options: $ClientOptions): $Client {\n\
         \x20 return new $Client({ ...options, models: { ...$models, ...options.models } });\n\
         }\n",
    );
}
