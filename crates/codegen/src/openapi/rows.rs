//! The schemas of a model's rows: as answered (`{M}`, `{M}List`), as created
//! (`{M}Create`, and `{M}{Relation}Create` for a nested create that the relation
//! completes), as updated (`{M}Update`), and the sign-up body of the `@@auth` model.

use super::args::closed;
use super::{reference, value_schema};
use serde_json::{json, Map, Value as Json};
use ssot_policy::eval::decided;
use ssot_policy::rules::{AuthModel, Op, Policies};
use ssot_schema::ir::ScalarType;
use ssot_shape::limits::{MAX_PASSWORDS_PER_REQUEST, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH};
use ssot_shape::{Entity, Kind, Link, RelationField, Shape};

/// The write-only field of `model`: the `@@auth` model's password, never returned.
pub fn password(auth: Option<&AuthModel>, model: usize) -> Option<usize> {
    auth.filter(|a| a.model == model).map(|a| a.password)
}

pub fn schemas(es: &Shape, model: usize, auth: Option<&AuthModel>, out: &mut Map<String, Json>) {
    let entity = &es.entities[model];
    let password = password(auth, model);
    let name = &entity.name;
    // Any field may be missing from a row: `select` leaves it out, and so does a field
    // rule on a row where it fails. Relations are there when selected or included.
    let mut properties = Map::new();
    for (i, f) in entity.fields.iter().enumerate() {
        if Some(i) != password {
            properties.insert(f.name.clone(), value_schema(es, f, false));
        }
    }
    for r in &entity.relations {
        let one = reference(&es.entities[r.target].name);
        let related =
            if r.list { json!({"type": "array", "items": one}) } else { json!({"anyOf": [one, {"type": "null"}]}) };
        properties.insert(r.name.clone(), related);
    }
    out.insert(
        name.clone(),
        json!({"type": "object", "properties": properties, "additionalProperties": false, "description": format!("A `{name}` record: every scalar field, unless `select` names some or a field rule hides one on this row; relations when selected or included.")}),
    );
    out.insert(
        format!("{name}List"),
        json!({"type": "object", "properties": {"data": {"type": "array", "items": reference(name)}, "meta": reference("ListMeta")}, "required": ["data", "meta"], "additionalProperties": false}),
    );
    out.insert(format!("{name}Create"), create(es, model, auth, &[]));
    out.insert(format!("{name}Update"), update(es, model, auth, true));
    out.insert(format!("{name}UpdateMany"), update(es, model, auth, false));
    for r in &entity.relations {
        if let Some(without) = completed_fields(es, model, r) {
            let schema = create(es, r.target, auth, &without);
            out.insert(format!("{name}{}Create", capitalized(&r.name)), schema);
        }
    }
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The target's fields a nested create through `r` sets itself (its foreign key, and the
/// relations that hold it), or `None` when the relation does not complete the row
/// (this model holds the key: the nested row is created first, whole).
fn completed_fields(es: &Shape, model: usize, r: &RelationField) -> Option<Vec<String>> {
    let target = &es.entities[r.target];
    match &r.link {
        Link::Owns { .. } => None,
        Link::Inverse { remote, .. } => {
            let mut names: Vec<String> = remote.iter().map(|&f| target.fields[f].name.clone()).collect();
            for back in &target.relations {
                if back.target == model && matches!(&back.link, Link::Owns { local, .. } if local == remote) {
                    names.push(back.name.clone());
                }
            }
            Some(names)
        }
        Link::Join { .. } => Some(Vec::new()),
    }
}

/// `{M}Create`: every field (required: those without a default), nested writes through
/// relations; `without` are set by the relation a nested create comes through.
fn create(es: &Shape, model: usize, auth: Option<&AuthModel>, without: &[String]) -> Json {
    let entity = &es.entities[model];
    let password = password(auth, model);
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (i, f) in entity.fields.iter().enumerate().filter(|(_, f)| !without.contains(&f.name)) {
        let schema = value_schema(es, f, true);
        let schema = if Some(i) == password { secret(schema) } else { schema };
        properties.insert(f.name.clone(), schema);
        if !f.optional && !f.list && f.default.is_none() && !f.updated_at {
            required.push(f.name.clone());
        }
    }
    let mut either = Vec::new();
    for r in entity.relations.iter().filter(|r| !without.contains(&r.name)) {
        properties.insert(r.name.clone(), nested_write(es, entity, r, false, auth));
        // A required foreign key is given as itself or through its relation.
        if let Link::Owns { local, .. } = &r.link {
            let keys: Vec<String> = local.iter().map(|&f| entity.fields[f].name.clone()).collect();
            if keys.iter().any(|k| required.contains(k)) {
                required.retain(|k| !keys.contains(k));
                either.push(json!({"anyOf": [{"required": keys}, {"required": [r.name]}]}));
            }
        }
    }
    let schema =
        json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false});
    exclusive_links(entity, schema, either)
}

/// `schema`, and: a relation the row holds the key of is set either through the relation
/// or by its foreign-key fields, never both; and every one of `also`.
fn exclusive_links(entity: &Entity, schema: Json, also: Vec<Json>) -> Json {
    let mut all = vec![schema];
    for r in &entity.relations {
        if let Link::Owns { local, .. } = &r.link {
            for &f in local {
                all.push(json!({"not": {"required": [r.name, entity.fields[f].name]}}));
            }
        }
    }
    all.extend(also);
    if all.len() == 1 {
        all.pop().unwrap_or_default()
    } else {
        json!({"allOf": all})
    }
}

fn secret(schema: Json) -> Json {
    let mut schema = schema;
    schema["writeOnly"] = json!(true);
    schema["description"] = json!(format!(
        "write-only; hashed before it is stored (a request sets at most {MAX_PASSWORDS_PER_REQUEST} passwords)"
    ));
    schema["minLength"] = json!(MIN_PASSWORD_LENGTH);
    schema["maxLength"] = json!(MAX_PASSWORD_LENGTH);
    schema
}

/// `{M}Update`: any field, a value or an operator; nested writes through relations
/// (`relations`; a bulk update, `{M}UpdateMany`, takes scalar fields only).
fn update(es: &Shape, model: usize, auth: Option<&AuthModel>, relations: bool) -> Json {
    let entity = &es.entities[model];
    let password = password(auth, model);
    let mut properties = Map::new();
    for (i, f) in entity.fields.iter().enumerate() {
        let value = value_schema(es, f, true);
        let value = if Some(i) == password { secret(value) } else { value };
        let numeric = matches!(
            f.kind,
            Kind::Scalar(ScalarType::Int | ScalarType::BigInt | ScalarType::Float | ScalarType::Decimal)
        );
        let mut ops = vec![("set".to_string(), value.clone())];
        if numeric && !f.list {
            ops.extend(
                ["increment", "decrement", "multiply", "divide"].iter().map(|op| (op.to_string(), value.clone())),
            );
        }
        let operator = json!({"allOf": [closed(ops), {"minProperties": 1, "maxProperties": 1}]});
        // A `Json` field takes the JSON value itself, objects included.
        // The password takes the new password itself (it is hashed before the write).
        let plain = Some(i) == password;
        let schema = if plain || matches!(f.kind, Kind::Scalar(ScalarType::Json)) {
            value
        } else {
            json!({"anyOf": [value, operator]})
        };
        properties.insert(f.name.clone(), schema);
    }
    for r in entity.relations.iter().filter(|_| relations) {
        properties.insert(r.name.clone(), nested_write(es, entity, r, true, auth));
    }
    let schema = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if relations {
        exclusive_links(entity, schema, Vec::new())
    } else {
        schema
    }
}

/// A nested write through `r`: on the side holding the foreign key exactly one of
/// `create`, `connect`, `connectOrCreate` (and `disconnect` on update); on the other side
/// `create` and `connect`, one or a list (and `disconnect`, `set` on update).
/// Users (the `@@auth` model) are created by sign-up or `POST` on their resource, not
/// nested: the document offers only `connect` to them (the server takes nested creates
/// too, but each sets a password, and a request hashes at most 10).
fn nested_write(es: &Shape, entity: &Entity, r: &RelationField, updating: bool, auth: Option<&AuthModel>) -> Json {
    let creates = auth.is_none_or(|a| a.model != r.target);
    let target = &es.entities[r.target].name;
    let unique = reference(&format!("{target}Unique"));
    let one_or_many = |schema: Json| {
        if r.list {
            json!({"anyOf": [schema, {"type": "array", "items": schema}]})
        } else {
            schema
        }
    };
    let description = format!("a nested write to `{target}`");
    match &r.link {
        Link::Owns { .. } => {
            let create = reference(&format!("{target}Create"));
            let mut ops = vec![
                ("create".to_string(), create.clone()),
                ("connect".to_string(), unique.clone()),
                (
                    "connectOrCreate".to_string(),
                    json!({"type": "object", "properties": {"where": unique, "create": create}, "required": ["where", "create"], "additionalProperties": false}),
                ),
            ];
            ops.retain(|(op, _)| creates || op == "connect");
            if updating && r.optional {
                ops.push(("disconnect".to_string(), json!({"const": true})));
            }
            json!({"allOf": [closed(ops), {"minProperties": 1, "maxProperties": 1}], "description": description})
        }
        Link::Inverse { .. } | Link::Join { .. } => {
            let create = reference(&format!("{}{}Create", entity.name, capitalized(&r.name)));
            let mut ops =
                vec![("create".to_string(), one_or_many(create)), ("connect".to_string(), one_or_many(unique.clone()))];
            ops.retain(|(op, _)| creates || op == "connect");
            // Rows that hold a required foreign key to this one cannot be let go.
            let required_key = match &r.link {
                Link::Inverse { remote, .. } => remote.iter().any(|&f| !es.entities[r.target].fields[f].optional),
                _ => false,
            };
            if updating && !required_key {
                ops.push(("disconnect".to_string(), one_or_many(unique.clone())));
                ops.push(("set".to_string(), one_or_many(unique)));
            }
            json!({"allOf": [closed(ops), {"minProperties": 1}], "description": description})
        }
    }
}

/// The body of `POST /api/auth/signup`: the user's own fields that an anonymous caller may
/// set (as the server's sign-up checks them); no relations. A field a rule guards is
/// offered where the rule certainly admits an anonymous caller.
pub fn signup(es: &Shape, policies: &Policies, auth: &AuthModel) -> Json {
    let entity = &es.entities[auth.model];
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (f, field) in entity.fields.iter().enumerate() {
        let own = f == auth.identity || f == auth.password;
        if !own {
            if entity.id.contains(&f) && field.default.is_some() {
                continue;
            }
            let rule = policies.field_rule(auth.model, f, Op::Create);
            let explicit = rule.is_some();
            let open = rule.is_none_or(|rule| decided(rule, None) == Some(true));
            if (policies.privileged(auth.model, f) && !explicit) || !open {
                continue;
            }
        }
        let schema = value_schema(es, field, true);
        properties.insert(field.name.clone(), if f == auth.password { secret(schema) } else { schema });
        if own || (!field.optional && !field.list && field.default.is_none() && !field.updated_at) {
            required.push(field.name.clone());
        }
    }
    json!({"title": format!("{}Signup", entity.name), "type": "object", "properties": properties, "required": required, "additionalProperties": false, "description": format!("a new `{}`: the fields anyone may set at sign-up", entity.name)})
}
