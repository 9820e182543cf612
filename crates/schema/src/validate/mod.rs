//! Validation: the syntax tree to the IR, applying the rules Prisma's own validator
//! applies for SQLite, PostgreSQL and MySQL, and reporting every violation.
//!
//! The passes run in data-flow order: configuration blocks (they decide the provider),
//! top-level names, enums, models with their fields and attributes, then relations,
//! which need every model's fields and unique criteria resolved.

mod args;
mod config;
mod defaults;
mod fields;
mod index_algorithms;
mod indexes;
mod models;
mod names;
pub use names::default_constraint_name;
mod native_types;
mod partial;
mod relations;

use crate::diagnostic::Diagnostics;
use crate::fx::FxHashMap;
use crate::ir::{self, Provider, Schema};
use crate::syntax::ast::{EnumAst, FieldAst, Item, ModelAst, ModelKind, SchemaAst};

/// A named top-level declaration.
#[derive(Clone, Copy)]
pub(crate) enum Top<'a> {
    Model(&'a ModelAst<'a>),
    Enum(&'a EnumAst<'a>),
}

/// What every pass needs: the sink, the provider and the table of top-level names.
pub(crate) struct Cx<'a, 'd> {
    pub diagnostics: &'d mut Diagnostics,
    pub provider: Option<Provider>,
    /// The datasource's name and a dot (`db.`), which prefixes native type attributes.
    pub native_prefix: String,
    pub preview_features: Vec<ir::Text>,
    pub relation_mode: ir::RelationMode,
    /// The datasource's `schemas = [...]`, which `@@schema` must name.
    pub schemas: Vec<ir::Text>,
    pub tops: FxHashMap<&'a str, Top<'a>>,
    /// Scratch for `models::model`: the first field of each name in the model at hand.
    /// One map for all models, cleared for each, rather than one allocated per model.
    pub first_field: FxHashMap<&'a str, &'a FieldAst<'a>>,
    /// Whether a field of the model at hand took a column name from `@map`.
    pub field_mapped: bool,
    /// For each model built so far, in order: whether a field of it took a column name
    /// from `@map` (without one, its column names are its distinct field names).
    pub models_mapped: Vec<bool>,
}

impl Cx<'_, '_> {
    pub fn has_preview(&self, feature: &str) -> bool {
        self.preview_features.iter().any(|f| f.eq_ignore_ascii_case(feature))
    }
}

/// Names Prisma Client reserves: a model or enum may not take them.
const RESERVED_NAMES: [&str; 48] = [
    "PrismaClient",
    "with",
    "yield",
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
];

pub(crate) fn is_valid_name(name: &str) -> bool {
    // Names come from identifier tokens (letters, digits, `_`, `-`): for ASCII names only
    // the first character and dashes need a look, in one pass.
    let bytes = name.as_bytes();
    if is_ascii_without_dash(bytes) {
        return bytes.first().is_some_and(u8::is_ascii_alphabetic);
    }
    if bytes.is_ascii() {
        return false;
    }

    let mut chars = name.chars();
    chars.next().is_some_and(char::is_alphabetic) && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether every byte is ASCII and none is `-`: eight bytes per step, as every field,
/// model and enum value name passes through here. The bytes a step leaves over are read
/// as the last eight (or, below eight, the first and last four), overlapping bytes already
/// read, rather than one at a time: most names are 4 to 16 bytes long.
fn is_ascii_without_dash(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let clean = |word: u64| {
        let dashes = word ^ (ONES * u64::from(b'-'));
        // High bit of each byte that is zero in `dashes` (exact: adding 0x7f to the low
        // seven bits never carries into the next byte).
        let is_dash = !((((dashes & !HIGH) + !HIGH) | dashes) | !HIGH);
        (word & HIGH) | is_dash == 0
    };
    if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        if bytes.len() < 8 {
            let word = u64::from(u32::from_le_bytes(*first)) | u64::from(u32::from_le_bytes(*last)) << 32;
            return clean(word);
        }
    } else {
        return bytes.iter().all(|&b| b < 0x80 && b != b'-');
    }
    let mut rest = bytes;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        if !clean(u64::from_le_bytes(*chunk)) {
            return false;
        }
        rest = tail;
    }
    rest.is_empty() || bytes.last_chunk::<8>().is_some_and(|chunk| clean(u64::from_le_bytes(*chunk)))
}

/// Validates `ast` and builds the IR. The IR is complete only when no error was reported.
pub fn build(source: &str, ast: &SchemaAst, diagnostics: &mut Diagnostics) -> Schema {
    let config = config::read(ast, diagnostics);
    let provider = config.datasource.as_ref().map(|d| d.provider);
    // Without a datasource there are no native types: `@db.Text` is then an unknown attribute.
    let native_prefix = config.datasource.as_ref().map_or(String::new(), |d| format!("{}.", d.name));
    let preview_features = config.generators.iter().flat_map(|g| g.preview_features.iter().cloned()).collect();
    let mut cx = Cx {
        diagnostics,
        provider,
        native_prefix,

        preview_features,
        relation_mode: config.datasource.as_ref().map_or(ir::RelationMode::ForeignKeys, |d| d.relation_mode),
        schemas: config.datasource.as_ref().map(|d| d.schemas.clone()).unwrap_or_default(),
        tops: FxHashMap::with_capacity_and_hasher(ast.items.len(), Default::default()),
        first_field: FxHashMap::default(),
        field_mapped: false,
        models_mapped: Vec::new(),
    };
    collect_names(ast, &mut cx);
    let enums: Vec<ir::Enum> = ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Enum(e) => Some(models::enum_(e, &mut cx)),
            _ => None,
        })
        .collect();
    let model_asts: Vec<&ModelAst> = ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Model(m) => Some(m),
            _ => None,
        })
        .collect();
    let mut models: Vec<ir::Model> = model_asts.iter().map(|m| models::model(m, &mut cx)).collect();
    let mut relations = relations::resolve(&model_asts, &mut models, &mut cx);
    names::check(&mut models, &mut relations, &enums, &model_asts, &mut cx);
    crate::annotations::attach(source, &model_asts, &mut models, cx.diagnostics);
    crate::annotations::warn_misplaced(ast, cx.diagnostics);

    Schema { datasource: config.datasource, generators: config.generators, models, enums, relations }
}

fn collect_names<'a>(ast: &'a SchemaAst, cx: &mut Cx<'a, '_>) {
    for item in ast.items {
        let (name, top, what) = match item {
            Item::Model(m) => (&m.name, Top::Model(m), m.kind.keyword()),
            Item::Enum(e) => (&e.name, Top::Enum(e), "enum"),
            Item::Config(block) => {
                // Datasources and generators may take any name but a scalar type's, or one
                // starting with `_` (Prisma's identifiers start with a letter or digit).
                if block.name.name.starts_with('_') {
                    cx.diagnostics
                        .error("E0112", format!("`{}` is not a valid block name", block.name.name), block.name.span)
                        .label("names start with a letter or a digit");
                } else if crate::ir::ScalarType::parse(block.name.name).is_some() {
                    cx.diagnostics
                        .error(
                            "E0111",
                            format!("`{}` is a scalar type's name and cannot name a block", block.name.name),
                            block.name.span,
                        )
                        .label("reserved for the built-in type");
                }
                continue;
            }
        };
        if let Item::Model(m) = item {
            if m.kind == ModelKind::Type && !cx.provider.is_some_and(|p| p.supports_composite_types()) {
                cx.diagnostics
                    .error("E0113", "composite types are only supported on MongoDB", m.keyword_span.to(m.name.span))
                    .label("`type` blocks need the `mongodb` provider")
                    .help("use a `model` with a relation, or a `Json` field");
            }
        }
        if crate::ir::ScalarType::parse(name.name).is_some() {
            cx.diagnostics
                .error("E0111", format!("`{}` is a scalar type's name and cannot name a {what}", name.name), name.span)
                .label("reserved for the built-in type")
                .help("choose another name; `@@map` can keep the table's name");
        } else if RESERVED_NAMES.contains(&name.name) {
            cx.diagnostics
                .error("E0111", format!("`{}` is a reserved name and cannot name a {what}", name.name), name.span)
                .label("reserved by Prisma Client")
                .help("choose another name; `@@map` can keep the table's name");
        } else if !is_valid_name(name.name) {
            cx.diagnostics
                .error("E0112", format!("`{}` is not a valid {what} name", name.name), name.span)
                .label("names start with a letter and contain only letters, digits and `_`");
        }
        match cx.tops.get(name.name) {
            Some(first) => {
                let first_span = match first {
                    Top::Model(m) => m.name.span,
                    Top::Enum(e) => e.name.span,
                };
                cx.diagnostics
                    .error("E0110", format!("the name `{}` is defined more than once", name.name), name.span)
                    .label(format!("this {what} reuses the name"))
                    .secondary(first_span, "first defined here")
                    .help("models, views, types and enums share one namespace");
            }
            None => {
                cx.tops.insert(name.name, top);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_ascii_without_dash;

    #[test]
    fn ascii_without_dash_matches_a_plain_scan() {
        for text in [
            "",
            "a",
            "abcdefgh",
            "abcdefghi",
            "abcdefg-",
            "abcdefgh-",
            "-",
            "a_b-c",
            "namé",
            "abcdefghé",
            "x-y",
            "abc",
            "ab-",
            "abcd",
            "abc-",
            "-bcd",
            "abcde",
            "ab-de",
            "abcdefg",
            "abc-efg",
            "abcdef-",
            "ééé",
            "abcdefghijklmno-",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "abcdefgh-ijklmnopq",
            "abcdefghijklmnop-q",
        ] {
            let plain = text.bytes().all(|b| b < 0x80 && b != b'-');
            assert_eq!(is_ascii_without_dash(text.as_bytes()), plain, "{text}");
        }
    }
}
