//! The `where` and `orderBy` types of each model, as REST reads them (`docs/rest.md`).

use super::{field_type, write_only};
use ssot_schema::ir::{Arity, FieldType, Model, ScalarType, Schema};
use std::fmt::Write;

/// The filter types every `where` uses: `N` is `null` for a field that may be null, and
/// `never` otherwise.
pub(super) const HELPERS: &str = "
/** Conditions on a field compared only for equality (booleans, enums, JSON, bytes). */
export type $Equality<T, N = never> = { equals?: T | N; not?: T | N | $Equality<T, N>; in?: T[]; notIn?: T[] };
/** Conditions on a field with an order (numbers, date-times, big integers and decimals as strings). */
export type $Ordered<T, N = never> = {
  equals?: T | N;
  not?: T | N | $Ordered<T, N>;
  in?: T[];
  notIn?: T[];
  lt?: T;
  lte?: T;
  gt?: T;
  gte?: T;
};
/** Conditions on a text field. */
export type $Text<N = never> = {
  equals?: string | N;
  not?: string | N | $Text<N>;
  in?: string[];
  notIn?: string[];
  lt?: string;
  lte?: string;
  gt?: string;
  gte?: string;
  contains?: string;
  startsWith?: string;
  endsWith?: string;
  mode?: 'default' | 'insensitive';
};
/** Conditions on a list field (PostgreSQL). */
export type $List<T> = { has?: T; hasEvery?: T[]; hasSome?: T[]; isEmpty?: boolean; equals?: T[] };
/** Conditions on a to-one relation: `null` for none; a filter, or `is`/`isNot` one. */
export type $ToOne<W> = W | null | { is?: W | null; isNot?: W | null };
/** Conditions on a to-many relation. */
export type $ToMany<W> = { some?: W; every?: W; none?: W };
/** A direction, with where nulls go. */
export type $Sort = 'asc' | 'desc' | { sort: 'asc' | 'desc'; nulls?: 'first' | 'last' };
";

/// `$ModelWhere`: the conditions a `where` may put on each field of `model`.
pub(super) fn where_type(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let _ = writeln!(out, "\n/** A `where` on `{name}`: all of its conditions hold. */\nexport type ${name}Where = {{");
    let _ = writeln!(
        out,
        "  AND?: ${name}Where | ${name}Where[];\n  OR?: ${name}Where[];\n  NOT?: ${name}Where | ${name}Where[];"
    );
    for field in model.fields.iter().filter(|f| !f.ignored && !write_only(model, f)) {
        let Some(ty) = field_type(schema, &field.ty) else { continue };
        let null = if field.arity == Arity::Optional { "null" } else { "never" };
        let condition = match (&field.ty, field.arity) {
            (FieldType::Relation { model, .. }, Arity::List) => format!("$ToMany<${model}Where>"),
            (FieldType::Relation { model, .. }, _) => format!("$ToOne<${model}Where>"),
            (FieldType::Composite { .. }, _) => continue,
            (_, Arity::List) => format!("$List<{ty}>"),
            (FieldType::Scalar { scalar: ScalarType::String }, _) => format!("{ty} | {null} | $Text<{null}>"),
            (FieldType::Scalar { scalar: ScalarType::Boolean | ScalarType::Json | ScalarType::Bytes }, _)
            | (FieldType::Enum { .. }, _) => format!("{ty} | {null} | $Equality<{ty}, {null}>"),
            (FieldType::Scalar { .. }, _) => format!("{ty} | {null} | $Ordered<{ty}, {null}>"),
            (FieldType::Unsupported { .. }, _) => continue,
        };
        let _ = writeln!(out, "  {}?: {condition};", field.name);
    }
    out.push_str("};\n");
}

/// `$ModelOrderBy`: one `orderBy` object of `model` (a list of them orders by each in turn).
pub(super) fn order_type(out: &mut String, schema: &Schema, model: &Model) {
    let name = &model.name;
    let _ = writeln!(out, "\n/** An `orderBy` on `{name}`. */\nexport type ${name}OrderBy = {{");
    for field in model.fields.iter().filter(|f| !f.ignored && !write_only(model, f)) {
        if field_type(schema, &field.ty).is_none() {
            continue;
        }
        match (&field.ty, field.arity) {
            (FieldType::Relation { .. }, Arity::List) => {
                let _ = writeln!(out, "  {}?: {{ _count?: 'asc' | 'desc' }};", field.name);
            }
            (FieldType::Relation { model: target, .. }, _) => {
                let _ = writeln!(out, "  {}?: ${target}OrderByField;", field.name);
            }
            (_, Arity::List)
            | (FieldType::Scalar { scalar: ScalarType::Json | ScalarType::Bytes }, _)
            | (FieldType::Composite { .. } | FieldType::Unsupported { .. }, _) => {}
            _ => {
                let _ = writeln!(out, "  {}?: $Sort;", field.name);
            }
        }
    }
    out.push_str("};\n");
    // A to-one relation orders by the related row's own fields, not further.
    let _ = writeln!(out, "export type ${name}OrderByField = {{");
    for field in
        model.fields.iter().filter(|f| !f.ignored && !write_only(model, f) && field_type(schema, &f.ty).is_some())
    {
        let orderable = field.arity != Arity::List
            && !matches!(
                field.ty,
                FieldType::Relation { .. }
                    | FieldType::Composite { .. }
                    | FieldType::Scalar { scalar: ScalarType::Json | ScalarType::Bytes }
            );
        if orderable {
            let _ = writeln!(out, "  {}?: 'asc' | 'desc';", field.name);
        }
    }
    out.push_str("};\n");
}
