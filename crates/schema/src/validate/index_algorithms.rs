//! Index types (`type: Gin`, ...) against the fields they cover: which field types each
//! PostgreSQL index algorithm takes, and, on GIN, which operator class goes with which field.

use super::{args, Cx};
use crate::ir::{Arity, Field, FieldType, Model, ScalarType};
use crate::syntax::ast::Expr;

/// GIN indexes lists and `Json`; GiST and SP-GiST need database-specific types
/// (`Unsupported`), or text for SP-GiST; any of them takes a field with an operator class.
pub(crate) fn check_fields(algorithm: &str, a: &args::Args<'_>, model: &Model, cx: &mut Cx<'_, '_>) {
    let Some(fields) = a.get("fields") else { return };
    for item in fields.as_list() {
        let (name, span, has_ops) = match item {
            Expr::Path(name, span) => (*name, *span, false),
            Expr::Call { name, args, .. } => {
                (name.name, name.span, args.iter().any(|a| a.name.as_ref().is_some_and(|n| n.name == "ops")))
            }
            _ => continue,
        };
        let Some(field) = model.field(name) else { continue };
        let unsupported = matches!(field.ty, FieldType::Unsupported { .. });
        let supported = has_ops
            || unsupported
            || match algorithm {
                "Gin" => {
                    field.arity == Arity::List || matches!(field.ty, FieldType::Scalar { scalar: ScalarType::Json })
                }
                "Gist" | "SpGist" => matches!(field.ty, FieldType::Scalar { scalar: ScalarType::String }),
                _ => false,
            };
        // Prisma checks a named operator class against the field on GIN indexes.
        if algorithm == "Gin" && !unsupported {
            gin_operator_class(item, field, name, cx);
        }
        if !supported {
            cx.diagnostics
                .error("E0181", format!("a {algorithm} index cannot cover the field `{name}`"), span)
                .label("this index type does not support the field's type")
                .help("give the field an operator class (`ops:`), or use another index type");
        }
    }
}

/// On a GIN index, `JsonbOps` and `JsonbPathOps` need a `Json` field (or a `@db.JsonB` one),
/// and `ArrayOps` a list.
fn gin_operator_class(item: &Expr, field: &Field, name: &str, cx: &mut Cx<'_, '_>) {
    let Expr::Call { args, .. } = item else { return };
    let Some(ops) = args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == "ops")) else { return };
    let is_json = matches!(field.ty, FieldType::Scalar { scalar: ScalarType::Json });
    let (class, needs) = match ops.value.as_path() {
        Some(class @ ("JsonbOps" | "JsonbPathOps")) if !is_json && field.native_type.is_none() => {
            (class, "a `Json` field")
        }
        Some("ArrayOps") if field.arity != Arity::List => ("ArrayOps", "a list field"),
        _ => return,
    };
    cx.diagnostics
        .error(
            "E0127",
            format!("the operator class `{class}` needs {needs}, and `{name}` is not one"),
            ops.value.span(),
        )
        .label("does not fit the field's type");
}
