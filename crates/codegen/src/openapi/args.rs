//! The schemas of a model's read arguments, exactly as the store reads them
//! (`ssot_store::query::args`): `where` (`{M}Where`), `orderBy` (`{M}OrderBy`), `select` (`{M}Select`),
//! `include` (`{M}Include`), unique selectors for `cursor` and `connect` (`{M}Unique`),
//! a relation's arguments (`{M}Related` for lists, `{M}Shape` for one row) and the body
//! of `POST /query` (`{M}Find`). Every object is closed (`additionalProperties: false`):
//! what the schema allows the server accepts, and the other way round.

use super::{reference, value_schema};
use serde_json::{json, Map, Value as Json};
use ssot_schema::ir::ScalarType;
use ssot_shape::limits::{DEFAULT_TAKE, MAX_TAKE};
use ssot_shape::{Entity, Kind, ScalarField, Shape};

/// Every argument schema of `entity`; `hidden` is the write-only field (the password),
/// which no argument may name.
pub fn schemas(es: &Shape, entity: &Entity, hidden: Option<usize>, out: &mut Map<String, Json>) {
    let name = &entity.name;
    let visible = || entity.fields.iter().enumerate().filter(move |(i, _)| Some(*i) != hidden).map(|(_, f)| f);
    let list_of = |schema: Json| json!({"anyOf": [schema, {"type": "array", "items": schema}]});

    let mut filter = Map::new();
    for logic in ["AND", "OR", "NOT"] {
        filter.insert(logic.into(), list_of(reference(&format!("{name}Where"))));
    }
    for f in visible() {
        filter.insert(f.name.clone(), shared_filter(es, f, out));
    }
    let mut order = Map::new();
    let mut select = Map::new();
    let mut include = Map::new();
    let direction = json!({"enum": ["asc", "desc"]});
    let placed = json!({"type": "object", "properties": {"sort": direction, "nulls": {"enum": ["first", "last"]}}, "required": ["sort"], "additionalProperties": false});
    out.entry("Shared.Sort").or_insert_with(
        || json!({"anyOf": [direction, placed], "description": "a direction, or one with where nulls go"}),
    );
    for f in visible() {
        select.insert(f.name.clone(), json!({"type": "boolean"}));
        if !f.list && !matches!(f.kind, Kind::Scalar(ScalarType::Json | ScalarType::Bytes)) {
            // One `Shared.Sort` for every field of every model (`.` is in no model's name).
            order.insert(f.name.clone(), reference("Shared.Sort"));
        }
    }
    for r in &entity.relations {
        let target = &es.entities[r.target].name;
        if r.list {
            filter.insert(
                r.name.clone(),
                closed(["some", "every", "none"].iter().map(|q| (q.to_string(), reference(&format!("{target}Where"))))),
            );
            order.insert(r.name.clone(), closed([("_count".to_string(), direction.clone())]));
        } else {
            let nullable = json!({"anyOf": [reference(&format!("{target}Where")), {"type": "null"}]});
            let operators = closed(["is", "isNot"].iter().map(|q| (q.to_string(), nullable.clone())));
            filter.insert(
                r.name.clone(),
                json!({"anyOf": [{"type": "null"}, {"allOf": [operators, {"minProperties": 1}]}, reference(&format!("{target}Where"))]}),
            );
            let target_entity = &es.entities[r.target];
            order.insert(
                r.name.clone(),
                closed(target_entity.fields.iter().map(|f| (f.name.clone(), direction.clone()))),
            );
        }
        let args = if r.list { "Related" } else { "Shape" };
        let related = json!({"anyOf": [{"type": "boolean"}, reference(&format!("{target}{args}"))]});
        select.insert(r.name.clone(), related.clone());
        include.insert(r.name.clone(), related);
    }
    out.insert(format!("{name}Where"), with_description(closed(filter), "a `where` filter: every condition holds"));
    out.insert(format!("{name}OrderBy"), with_description(closed(order), "one order (several: a list of them)"));
    out.insert(format!("{name}Select"), with_description(closed(select), "the fields and relations to return"));
    out.insert(format!("{name}Include"), with_description(closed(include), "relations to add to every scalar field"));
    out.insert(format!("{name}Unique"), unique(es, entity));
    let shape = [("select", reference(&format!("{name}Select"))), ("include", reference(&format!("{name}Include")))];
    let one_of_two = json!({"not": {"required": ["select", "include"]}});
    let mut related: Vec<(String, Json)> = vec![
        ("where".into(), reference(&format!("{name}Where"))),
        ("orderBy".into(), list_of(reference(&format!("{name}OrderBy")))),
        ("take".into(), json!({"type": "integer", "minimum": 0, "maximum": MAX_TAKE})),
        ("skip".into(), skip()),
    ];
    related.extend(shape.iter().map(|(k, v)| (k.to_string(), v.clone())));
    out.insert(
        format!("{name}Related"),
        json!({"allOf": [closed(related.clone()), one_of_two], "description": format!("a to-many relation's rows: `where`, `orderBy`, `take` (0 to {MAX_TAKE}), `skip`, `select` or `include`")}),
    );
    out.insert(
        format!("{name}Shape"),
        json!({"allOf": [closed(shape.iter().map(|(k, v)| (k.to_string(), v.clone()))), one_of_two], "description": "a to-one relation's row: `select` or `include`"}),
    );
    let mut find = related;
    find[2] = ("take".into(), take());
    find.push(("cursor".into(), reference(&format!("{name}Unique"))));
    let mut all_of = vec![one_of_two];
    if !entity.searched.is_empty() {
        find.push(("search".into(), super::paths::search_text()));
        find.push(("highlight".into(), json!({"type": "boolean"})));
        // `highlight` highlights what `search` matched: alone, it is refused.
        all_of.push(json!({"anyOf": [{"not": {"required": ["highlight"]}}, {"required": ["search"]}]}));
    }
    all_of.insert(0, closed(find));
    out.insert(
        format!("{name}Find"),
        json!({"allOf": all_of, "description": "the arguments of a list: `where`, `orderBy`, `take`, `skip`, `cursor`, `select` or `include` (`{}` for the first page of every row); `search` and `highlight` for a model with `@@search`"}),
    );
}

/// `take` of a top-level list: negative pages backwards.
pub fn take() -> Json {
    json!({"type": "integer", "minimum": -MAX_TAKE, "maximum": MAX_TAKE, "description": format!("rows to return (default {DEFAULT_TAKE}); negative: the rows before the cursor, or the last ones")})
}

pub fn skip() -> Json {
    json!({"type": "integer", "minimum": 0, "maximum": i64::MAX, "description": "rows to skip (default 0)"})
}

/// A closed object of these optional properties.
pub fn closed(properties: impl IntoIterator<Item = (String, Json)>) -> Json {
    let properties: Map<String, Json> = properties.into_iter().collect();
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

fn with_description(mut schema: Json, description: &str) -> Json {
    schema["description"] = json!(description);
    schema
}

/// `{M}Unique`: the fields of exactly one of the model's unique sets.
fn unique(es: &Shape, entity: &Entity) -> Json {
    let sets: Vec<Json> = entity
        .uniques
        .iter()
        .map(|set| {
            let mut properties = Map::new();
            for &f in set {
                properties.insert(entity.fields[f].name.clone(), value_schema(es, &entity.fields[f], true));
            }
            let names: Vec<&str> = set.iter().map(|&f| entity.fields[f].name.as_str()).collect();
            json!({"type": "object", "properties": properties, "required": names, "additionalProperties": false})
        })
        .collect();
    json!({"anyOf": sets, "description": format!("a unique selector of `{}`: the fields of one of its unique sets", entity.name)})
}

/// A scalar field's condition, as a reference to a component shared by every field that
/// takes the same one (`Filter.String`, `Filter.Role`, `Filter.IntList`; `Filter.String.2`
/// when a column's type makes another): written once, not once per field of every model.
/// `.` is in no model's name, so these never meet a model's components.
fn shared_filter(es: &Shape, field: &ScalarField, out: &mut Map<String, Json>) -> Json {
    let schema = field_filter(es, field);
    let kind = match field.kind {
        Kind::Scalar(scalar) => format!("{scalar:?}"),
        Kind::Enum(e) => es.enums[e].name.clone(),
    };
    let base = format!("Filter.{kind}{}", if field.list { "List" } else { "" });
    for n in 1.. {
        let name = if n == 1 { base.clone() } else { format!("{base}.{n}") };
        match out.get(&name) {
            Some(existing) if *existing == schema => return reference(&name),
            Some(_) => continue,
            None => {
                out.insert(name.clone(), schema);
                return reference(&name);
            }
        }
    }
    unreachable!("an unbounded range ends only by returning")
}

/// A scalar field's condition: a value (`equals`), `null` (is null) or an object of operators.
fn field_filter(es: &Shape, field: &ScalarField) -> Json {
    // Operands are values: `null` only where it says "is (not) null".
    let value = value_schema(es, &ScalarField { optional: false, ..field.clone() }, true);
    if field.list {
        let list = json!({"type": "array", "items": value["items"]});
        return with_description(
            closed([
                ("has".to_string(), value["items"].clone()),
                ("hasEvery".to_string(), list.clone()),
                ("hasSome".to_string(), list.clone()),
                ("isEmpty".to_string(), json!({"type": "boolean"})),
                ("equals".to_string(), list),
            ]),
            "a condition on a scalar list",
        );
    }
    let (textual, ordered, json_field) = match field.kind {
        Kind::Scalar(ScalarType::String) => (true, true, false),
        Kind::Scalar(ScalarType::Boolean | ScalarType::Bytes) | Kind::Enum(_) => (false, false, false),
        Kind::Scalar(ScalarType::Json) => (false, false, true),
        Kind::Scalar(_) => (false, true, false),
    };
    // A `Json` field's value is any JSON but an object (an object is read as operators).
    let bare = if json_field { json!({"not": {"type": "object"}}) } else { value.clone() };
    let nullable = |schema: &Json| json!({"anyOf": [schema, {"type": "null"}]});
    let mut ops: Vec<(String, Json)> = vec![
        ("equals".into(), nullable(&value)),
        ("in".into(), json!({"type": "array", "items": value})),
        ("notIn".into(), json!({"type": "array", "items": value})),
    ];
    if ordered {
        ops.extend(["lt", "lte", "gt", "gte"].iter().map(|op| (op.to_string(), value.clone())));
    }
    if textual {
        ops.extend(["contains", "startsWith", "endsWith"].iter().map(|op| (op.to_string(), json!({"type": "string"}))));
        ops.push(("mode".into(), json!({"enum": ["default", "insensitive"]})));
    } else {
        ops.push(("mode".into(), json!({"const": "default"})));
    }
    // `not` takes a value (not equal), `null` (is not null) or operators (their negation).
    let negatable = closed(ops.clone());
    ops.push(("not".into(), json!({"anyOf": [bare, {"type": "null"}, negatable]})));
    json!({"anyOf": [bare, {"type": "null"}, closed(ops)]})
}
