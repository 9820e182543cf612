//! Native database type attributes (`@db.VarChar(191)`): known per provider, each
//! fitting certain scalar types and taking a fixed number of arguments.

use super::Cx;
use crate::ir::{Field, FieldType, NativeType, Provider, ScalarType};
use crate::syntax::ast::{Attribute, Expr};
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

pub(crate) fn check(
    native: &str,
    attribute: &Attribute,
    field: &Field,
    cx: &mut Cx<'_, '_>,
) -> Option<NativeType> {
    let args: Vec<std::string::String> = attribute
        .args
        .iter()
        .map(|a| match &a.value {
            Expr::Number(n, _) | Expr::Path(n, _) | Expr::Str(n, _) => n.clone(),
            other => other.describe().to_string(),
        })
        .collect();
    let table = match cx.provider {
        Some(Provider::Postgresql) => POSTGRES,
        Some(Provider::Mysql) => MYSQL,
        Some(Provider::Sqlite) => {
            cx.diagnostics
                .error(
                    "E0150",
                    "SQLite has no native type attributes",
                    attribute.span,
                )
                .label("not supported on `sqlite`")
                .help("remove it: SQLite stores every value by its Prisma type");
            return None;
        }
        // Other providers' native types are accepted as written.
        _ => {
            return Some(NativeType {
                name: native.to_string(),
                args,
            })
        }
    };
    let Some((_, counts, fits)) = table.iter().find(|(n, _, _)| *n == native) else {
        cx.diagnostics
            .error(
                "E0151",
                format!("unknown native type `{native}` for this provider"),
                attribute.name.span,
            )
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
                    format!(
                        "native type `{native}` does not fit the `{}` field `{}`",
                        scalar.name(),
                        field.name
                    ),
                    attribute.span,
                )
                .label(format!(
                    "`{native}` is for {} fields",
                    expected.join(" or ")
                ));
            return None;
        }
    }
    if !counts.contains(&args.len()) {
        let expected: Vec<std::string::String> = counts.iter().map(ToString::to_string).collect();
        cx.diagnostics
            .error(
                "E0153",
                format!(
                    "native type `{native}` takes {} argument(s), not {}",
                    expected.join(" or "),
                    args.len()
                ),
                attribute.span,
            )
            .label("wrong number of arguments");
        return None;
    }
    Some(NativeType {
        name: native.to_string(),
        args,
    })
}
