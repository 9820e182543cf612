//! Native database type attributes (`@db.VarChar(191)`): known per provider, each
//! fitting certain scalar types and taking a fixed number of arguments.

use super::Cx;
use crate::ir::{Field, FieldType, Model, NativeType, Provider, ScalarType};
use crate::syntax::ast::{Attribute, Expr, ModelAst};

use ScalarType::*;

/// `(name, allowed argument counts, scalar types it fits)`.
type Spec = (&'static str, &'static [usize], &'static [ScalarType]);

const NONE: &[usize] = &[0];
const OPT: &[usize] = &[0, 1];
const ONE: &[usize] = &[1];
const PRECISION_SCALE: &[usize] = &[0, 2];

const POSTGRES: &[Spec] = &[
    ("Text", NONE, &[String]),
    ("Char", OPT, &[String]),
    ("VarChar", OPT, &[String]),
    ("Bit", OPT, &[String]),
    ("VarBit", OPT, &[String]),
    ("Uuid", NONE, &[String]),
    ("Xml", NONE, &[String]),
    ("Inet", NONE, &[String]),
    ("Citext", NONE, &[String]),
    ("Boolean", NONE, &[Boolean]),
    ("Integer", NONE, &[Int]),
    ("SmallInt", NONE, &[Int]),
    ("Oid", NONE, &[Int]),
    ("BigInt", NONE, &[BigInt]),
    ("DoublePrecision", NONE, &[Float]),
    ("Real", NONE, &[Float]),
    ("Decimal", PRECISION_SCALE, &[Decimal]),
    ("Money", NONE, &[Decimal]),
    ("Timestamp", OPT, &[DateTime]),
    ("Timestamptz", OPT, &[DateTime]),
    ("Date", NONE, &[DateTime]),
    ("Time", OPT, &[DateTime]),
    ("Timetz", OPT, &[DateTime]),
    ("Json", NONE, &[Json]),
    ("JsonB", NONE, &[Json]),
    ("ByteA", NONE, &[Bytes]),
];

const MYSQL: &[Spec] = &[
    ("VarChar", ONE, &[String]),
    ("Char", ONE, &[String]),
    ("Text", NONE, &[String]),
    ("TinyText", NONE, &[String]),
    ("MediumText", NONE, &[String]),
    ("LongText", NONE, &[String]),
    ("Bit", ONE, &[Boolean, Bytes]),
    ("Binary", ONE, &[Bytes]),
    ("VarBinary", ONE, &[Bytes]),
    ("TinyBlob", NONE, &[Bytes]),
    ("Blob", NONE, &[Bytes]),
    ("MediumBlob", NONE, &[Bytes]),
    ("LongBlob", NONE, &[Bytes]),
    ("Int", NONE, &[Int]),
    ("UnsignedInt", NONE, &[Int]),
    ("SmallInt", NONE, &[Int]),
    ("UnsignedSmallInt", NONE, &[Int]),
    ("TinyInt", NONE, &[Int, Boolean]),
    ("UnsignedTinyInt", NONE, &[Int, Boolean]),
    ("MediumInt", NONE, &[Int]),
    ("UnsignedMediumInt", NONE, &[Int]),
    ("Year", NONE, &[Int]),
    ("BigInt", NONE, &[BigInt]),
    ("UnsignedBigInt", NONE, &[BigInt]),
    ("Decimal", PRECISION_SCALE, &[Decimal]),
    ("Float", NONE, &[Float]),
    ("Double", NONE, &[Float]),
    ("DateTime", OPT, &[DateTime]),
    ("Date", NONE, &[DateTime]),
    ("Time", OPT, &[DateTime]),
    ("Timestamp", OPT, &[DateTime]),
    ("Json", NONE, &[Json]),
];

pub(crate) fn check(native: &str, attribute: &Attribute, field: &Field, cx: &mut Cx<'_, '_>) -> Option<NativeType> {
    // `@db.VarChar(length:)`: Prisma ignores a named argument left empty.
    let given = || attribute.args.iter().filter(|a| !matches!(a.value, Expr::Empty(_)));
    let args: Vec<crate::ir::Text> = given()
        .map(|a| match &a.value {
            Expr::Number(n, _) | Expr::Path(n, _) | Expr::Str(n, _) => crate::ir::Text::from(*n),
            other => crate::ir::Text::from(other.describe()),
        })
        .collect();
    let table = match cx.provider {
        Some(Provider::Postgresql) => POSTGRES,
        Some(Provider::Mysql) => MYSQL,
        Some(Provider::Sqlite) => {
            cx.diagnostics
                .error("E0150", "SQLite has no native type attributes", attribute.span)
                .label("not supported on `sqlite`")
                .help("remove it: SQLite stores every value by its Prisma type");
            return None;
        }
        // Other providers' native types are accepted as written.
        _ => return Some(NativeType { name: native.into(), args }),
    };
    if !matches!(field.ty, FieldType::Scalar { .. }) {
        cx.diagnostics
            .error(
                "E0154",
                format!("native type attributes only apply to scalar fields, and `{}` is not one", field.name),
                attribute.span,
            )
            .label("not allowed on enum, relation and `Unsupported` fields");
        return None;
    }
    let Some((_, counts, fits)) = table.iter().find(|(n, _, _)| *n == native) else {
        cx.diagnostics
            .error("E0151", format!("unknown native type `{native}` for this provider"), attribute.name.span)
            .label("not a native type of this database")
            .suggest(native, table.iter().map(|(n, _, _)| *n));
        return None;
    };
    if let FieldType::Scalar { scalar } = field.ty {
        if !fits.contains(&scalar) {
            let expected: Vec<&str> = fits.iter().map(|s| s.name()).collect();
            cx.diagnostics
                .error(
                    "E0152",
                    format!("native type `{native}` does not fit the `{}` field `{}`", scalar.name(), field.name),
                    attribute.span,
                )
                .label(format!("`{native}` is for {} fields", expected.join(" or ")));
            return None;
        }
    }
    if !counts.contains(&args.len()) {
        let expected: Vec<std::string::String> = counts.iter().map(ToString::to_string).collect();
        cx.diagnostics
            .error(
                "E0153",
                format!("native type `{native}` takes {} argument(s), not {}", expected.join(" or "), args.len()),
                attribute.span,
            )
            .label("wrong number of arguments");
        return None;
    }
    check_arguments(native, attribute, field, cx)?;

    Some(NativeType { name: native.into(), args })
}

/// Arguments are nonnegative integers within the database's limits.
fn check_arguments(native: &str, attribute: &Attribute, field: &Field, cx: &mut Cx<'_, '_>) -> Option<()> {
    let mut values = Vec::new();
    for arg in attribute.args.iter().filter(|a| !matches!(a.value, Expr::Empty(_))) {
        match &arg.value {
            Expr::Number(n, _) if n.parse::<u32>().is_ok() => values.push(n.parse::<u64>().unwrap_or(0)),
            other => {
                cx.diagnostics
                    .error("E0155", format!("`{native}` takes nonnegative integers"), other.span())
                    .label(format!("expected a whole number, found {}", other.describe()));
                return None;
            }
        }
    }
    let postgres = cx.provider == Some(Provider::Postgresql);
    // The limits Prisma checks (others are left to the database at migration time).
    let is_boolean = matches!(field.ty, FieldType::Scalar { scalar: ScalarType::Boolean });
    let (range, what): (std::ops::RangeInclusive<u64>, &str) = match (postgres, native) {
        (true, "Timestamp" | "Timestamptz" | "Time" | "Timetz") => (0..=6, "precision"),
        (true, "Decimal") => (1..=1000, "precision"),
        (true, "Bit" | "VarBit") => (1..=u64::MAX, "length"),
        (false, "Decimal") => (0..=65, "precision"),
        (false, "VarChar") => (0..=65_535, "length"),
        (false, "Char") => (0..=255, "length"),
        (false, "Bit") if is_boolean => (1..=1, "length (`Bit` as a `Boolean`)"),
        (false, "Bit") => (1..=64, "length"),
        _ => (0..=u64::MAX, "value"),
    };
    if let Some(first) = values.first().filter(|v| !range.contains(v)) {
        cx.diagnostics
            .error("E0156", format!("{what} {first} is out of range for `{native}`"), attribute.span)
            .label(format!("{what} can range from {} to {}", range.start(), range.end()));
        return None;
    }
    if let [precision, scale] = values[..] {
        let max_scale = if postgres { precision } else { precision.min(30) };
        if scale > max_scale {
            cx.diagnostics
                .error(
                    "E0157",
                    format!("scale {scale} is out of range for `{native}({precision}, {scale})`"),
                    attribute.span,
                )
                .label(format!("the scale can range from 0 to {max_scale}"));
            return None;
        }
    }
    Some(())
}

/// Some column types cannot be keyed: MySQL's whole text and blob columns (without a
/// prefix `length`), and PostgreSQL's `xml` (not at all).
pub(crate) fn check_model(ast: &ModelAst, model: &Model, cx: &mut Cx<'_, '_>) {
    const MYSQL_UNBOUNDED: [&str; 8] =
        ["Text", "TinyText", "MediumText", "LongText", "TinyBlob", "Blob", "MediumBlob", "LongBlob"];
    let provider = cx.provider;
    // Whether keying the native type needs a length (`true`) or is impossible (`false`).
    let unkeyable_type = |field: &Field| {
        let native = field.native_type.as_ref()?;
        match provider {
            Some(Provider::Mysql) if MYSQL_UNBOUNDED.contains(&native.name.as_str()) => {
                Some((native.name.clone(), true))
            }
            Some(Provider::Postgresql) if native.name == "Xml" => Some((native.name.clone(), false)),
            _ => None,
        }
    };
    // Most models have no such field: then no key can name one, and there is nothing to look up.
    if !model.fields.iter().any(|f| unkeyable_type(f).is_some()) {
        return;
    }
    // The field's native type, when keying it needs a length (`true`) or is impossible (`false`).
    let unkeyable = |name: &str| model.field(name).and_then(unkeyable_type);
    let has_length = |args: &[crate::syntax::ast::Argument]| {
        args.iter().any(|a| a.name.as_ref().is_some_and(|n| n.name == "length"))
    };
    for field in ast.fields {
        for attribute in field.attributes.iter().filter(|a| matches!(a.name.name, "id" | "unique")) {
            if let Some((native, with_length)) =
                unkeyable(field.name.name).filter(|(_, l)| *l || attribute.name.name != "id")
            {
                if !(with_length && has_length(attribute.args)) {
                    unkeyable_key(&native, with_length, attribute.name.name, attribute.span, cx);
                }
            }
        }
    }
    for attribute in ast.attributes.iter().filter(|a| matches!(a.name.name, "id" | "unique" | "index")) {
        let Some(fields) = attribute.arg("fields") else { continue };
        for item in fields.value.as_list() {
            let (name, span, length) = match item {
                Expr::Path(name, span) => (*name, *span, false),
                Expr::Call { name, args, .. } => (name.name, name.span, has_length(args)),
                _ => continue,
            };
            // PostgreSQL keys `xml` as a primary key, though not in other indexes.
            if let Some((native, with_length)) = unkeyable(name).filter(|(_, l)| *l || attribute.name.name != "id") {
                if !(with_length && length) {
                    unkeyable_key(&native, with_length, attribute.name.name, span, cx);
                }
            }
        }
    }
}

fn unkeyable_key(native: &str, with_length: bool, key: &str, span: crate::Span, cx: &mut Cx<'_, '_>) {
    let what = match key {
        "id" => "a primary key",
        "unique" => "a unique constraint",
        _ => "an index",
    };
    if with_length {
        cx.diagnostics
            .error("E0158", format!("MySQL cannot use a `{native}` column in {what} without a prefix length"), span)
            .label("whole text and blob columns cannot be keyed")
            .help("give the field a `length:` (for example `@@index([body(length: 100)])`), or use `@db.VarChar(n)`");
    } else {
        cx.diagnostics
            .error("E0158", format!("a `{native}` column cannot be used in {what}"), span)
            .label("the database cannot index this type");
    }
}
