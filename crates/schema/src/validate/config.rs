//! `datasource` and `generator` blocks.

use super::args;
use crate::diagnostic::Diagnostics;
use crate::ir::Text;
use crate::ir::{Datasource, Generator, Provider, RelationMode};
use crate::syntax::ast::{ConfigBlock, ConfigKind, Expr, SchemaAst};

const DATASOURCE_PROPERTIES: [&str; 8] = [
    "provider",
    "url",
    "directUrl",
    "shadowDatabaseUrl",
    "relationMode",
    "referentialIntegrity",
    "extensions",
    "schemas",
];

/// Preview features that Prisma 6.19 or the latest Prisma accepts (current ones, and
/// graduated ones it still tolerates with a warning).
const PREVIEW_FEATURES: [&str; 53] = [
    "aggregateApi",
    "filterJson",
    "atomicNumberOperations",
    "clientExtensions",
    "cockroachdb",
    "connectOrCreate",
    "createMany",
    "dataProxy",
    "deno",
    "distinct",
    "driverAdapters",
    "extendedIndexes",
    "extendedWhereUnique",
    "fieldReference",
    "filteredRelationCount",
    "fullTextIndex",
    "fullTextSearch",
    "fullTextSearchPostgres",
    "groupBy",
    "improvedQueryRaw",
    "interactiveTransactions",
    "jsonProtocol",
    "metrics",
    "microsoftSqlServer",
    "middlewares",
    "mongoDb",
    "multiSchema",
    "nApi",
    "namedConstraints",
    "napi",
    "nativeDistinct",
    "nativeTypes",
    "omitApi",
    "orderByAggregateGroup",
    "orderByNulls",
    "orderByRelation",
    "partialIndexes",
    "postgresqlExtensions",
    "prismaSchemaFolder",
    "queryCompiler",
    "reactNative",
    "referentialActions",
    "referentialIntegrity",
    "relationJoins",
    "schemaEngineDriverAdapters",
    "selectRelationCount",
    "shardKeys",
    "strictUndefinedChecks",
    "tracing",
    "transactionApi",
    "typedSql",
    "uncheckedScalarInputs",
    "views",
];

pub(crate) struct Config {
    pub datasource: Option<Datasource>,
    pub generators: Vec<Generator>,
}

pub(crate) fn read(ast: &SchemaAst, diagnostics: &mut Diagnostics) -> Config {
    let blocks = ast.items.iter().filter_map(|item| match item {
        crate::syntax::ast::Item::Config(block) => Some(block),
        _ => None,
    });
    // The datasource's `extensions` depend on the generators' preview features.
    let generator_previews: Vec<&str> = blocks
        .clone()
        .filter(|b| b.kind == ConfigKind::Generator && !holds_any_object(b))
        .filter_map(|b| b.property("previewFeatures").and_then(|p| p.value.as_ref()))
        .flat_map(|v| v.as_list().iter().filter_map(Expr::as_str))
        .collect();
    let mut datasource: Option<(Datasource, &ConfigBlock)> = None;
    let mut sources_seen: Option<&ConfigBlock> = None;
    let mut generators: Vec<(Generator, &ConfigBlock)> = Vec::new();
    for block in blocks {
        check_duplicate_properties(block, diagnostics);
        match block.kind {
            ConfigKind::Datasource => {
                if let Some(first) = sources_seen {
                    diagnostics
                        .error("E0101", "a schema can have only one datasource", block.name.span)
                        .label("second datasource")
                        .secondary(first.name.span, "the first one is here");
                    continue;
                }
                sources_seen = Some(block);
                if let Some(ds) = read_datasource(block, &generator_previews, diagnostics) {
                    datasource = Some((ds, block));
                }
            }
            ConfigKind::Generator => {
                if let Some((_, first)) = generators.iter().find(|(g, _)| g.name == block.name.name) {
                    diagnostics
                        .error("E0102", format!("generator `{}` is defined twice", block.name.name), block.name.span)
                        .label("second definition")
                        .secondary(first.name.span, "first defined here");
                    continue;
                }
                if let Some(generator) = read_generator(block, diagnostics) {
                    generators.push((generator, block));
                }
            }
        }
    }
    // One preview feature exists for one database only.
    let provider = datasource.as_ref().map(|(d, _)| d.provider);
    for (generator, block) in &generators {
        let postgres_only = generator.preview_features.iter().any(|f| f == "fullTextSearchPostgres");
        if postgres_only && provider != Some(Provider::Postgresql) {
            let span = block.property("previewFeatures").map_or(block.name.span, |p| p.span);
            diagnostics
                .error("E0119", "the preview feature `fullTextSearchPostgres` is only for PostgreSQL", span)
                .label("not available with this datasource's provider");
        }
    }
    Config { datasource: datasource.map(|(d, _)| d), generators: generators.into_iter().map(|(g, _)| g).collect() }
}

fn check_duplicate_properties(block: &ConfigBlock, diagnostics: &mut Diagnostics) {
    for (i, property) in block.properties.iter().enumerate() {
        if let Some(first) = block.properties[..i].iter().find(|p| p.key.name == property.key.name) {
            diagnostics
                .error("E0103", format!("property `{}` is set twice", property.key.name), property.key.span)
                .label("second value")
                .secondary(first.key.span, "first set here");
        }
    }
}

/// A string or `env("VAR")`: what `url`-like properties take.
fn is_string_or_env(expr: &Expr) -> bool {
    match expr {
        Expr::Str(..) => true,
        Expr::Call { name, args, .. } => {
            name.name == "env" && args.len() == 1 && matches!(args[0].value, Expr::Str(..))
        }
        _ => false,
    }
}

fn read_datasource(
    block: &ConfigBlock,
    generator_previews: &[&str],
    diagnostics: &mut Diagnostics,
) -> Option<Datasource> {
    for property in block.properties {
        let key = property.key.name;
        if !DATASOURCE_PROPERTIES.contains(&key) {
            diagnostics
                .error("E0104", format!("unknown datasource property `{key}`"), property.key.span)
                .label("not a datasource property")
                .suggest(key, DATASOURCE_PROPERTIES);
            continue;
        }
        let Some(value) = &property.value else {
            continue;
        };
        check_env_calls(value, diagnostics);
        match key {
            "extensions" => check_extensions(value, diagnostics),
            "schemas" => {
                for item in value.as_list().iter().filter(|i| i.as_str().is_none()) {
                    diagnostics
                        .error("E0105", "`schemas` must list strings", item.span())
                        .label(format!("found {}", item.describe()));
                }
            }
            _ => {}
        }
        let ok = match key {
            "url" | "directUrl" | "shadowDatabaseUrl" => is_string_or_env(value),
            "provider" | "relationMode" | "referentialIntegrity" => matches!(value, Expr::Str(..)),
            _ => matches!(value, Expr::Array(..)),
        };
        if !ok {
            let expected = match key {
                "url" | "directUrl" | "shadowDatabaseUrl" => "a string or `env(\"VARIABLE\")`",
                "provider" | "relationMode" => "a string",
                _ => "a list",
            };
            diagnostics
                .error("E0105", format!("`{key}` must be {expected}"), value.span())
                .label(format!("found {}", value.describe()));
        }
    }
    let Some(provider_property) = block.property("provider") else {
        diagnostics
            .error("E0106", format!("datasource `{}` has no `provider`", block.name.name), block.name.span)
            .label("missing `provider`")
            .help("add for example `provider = \"sqlite\"` or `provider = \"postgresql\"`");
        return None;
    };
    let Some(Expr::Str(provider_name, span)) = &provider_property.value else {
        return None;
    };
    let Some(provider) = Provider::parse(provider_name) else {
        diagnostics
            .error("E0107", format!("unknown datasource provider `{provider_name}`"), *span)
            .label("not a provider")
            .suggest(provider_name, Provider::NAMES)
            .help("ssot supports `sqlite` and `postgresql`; Prisma also knows `mysql`, `sqlserver`, `cockroachdb` and `mongodb`");
        return None;
    };
    // `referentialIntegrity` is the name `relationMode` had before Prisma 4.5.
    if let (Some(_), Some(old)) = (block.property("relationMode"), block.property("referentialIntegrity")) {
        diagnostics
            .error("E0196", "`relationMode` and `referentialIntegrity` cannot be used together", old.key.span)
            .label("the older name of `relationMode`")
            .help("keep `relationMode`");
    }

    let mode_property = block.property("relationMode").or_else(|| block.property("referentialIntegrity"));
    let relation_mode = match mode_property.and_then(|p| p.value.as_ref()) {
        Some(Expr::Str(mode, span)) => match *mode {
            "prisma" => RelationMode::Prisma,
            "foreignKeys" => RelationMode::ForeignKeys,
            other => {
                diagnostics
                    .error("E0108", format!("unknown relation mode `{other}`"), *span)
                    .label("expected `prisma` or `foreignKeys`");
                RelationMode::ForeignKeys
            }
        },
        _ if provider == Provider::Mongodb => RelationMode::Prisma,
        _ => RelationMode::ForeignKeys,
    };
    let schemas = match block.property("schemas").and_then(|p| p.value.as_ref()) {
        Some(Expr::Array(items, span)) => {
            if items.is_empty() {
                diagnostics
                    .error("E0186", "`schemas` cannot be an empty list", *span)
                    .label("list at least one schema, or remove `schemas`");
            }
            for (i, item) in items.iter().enumerate() {
                if item.as_str().is_some() && items[..i].iter().any(|earlier| earlier.as_str() == item.as_str()) {
                    diagnostics
                        .error("E0186", "this schema is listed twice", item.span())
                        .label("duplicate schema name");
                }
            }
            if matches!(provider, Provider::Sqlite | Provider::Mysql) {
                diagnostics
                    .error("E0187", format!("`schemas` is not supported on {}", provider.display_name()), *span)
                    .label("this database has no schemas");
            }
            items.iter().filter_map(|i| i.as_str().map(Text::from)).collect()
        }
        _ => Vec::new(),
    };
    if let Some(property) = block.property("extensions") {
        if provider != Provider::Postgresql {
            diagnostics
                .error(
                    "E0187",
                    format!("`extensions` is not supported on {}", provider.display_name()),
                    property.key.span,
                )
                .label("only PostgreSQL has extensions");
        } else if !generator_previews.iter().any(|f| f.eq_ignore_ascii_case("postgresqlExtensions")) {
            diagnostics
                .error("E0188", "`extensions` needs the `postgresqlExtensions` preview feature", property.key.span)
                .label("a preview feature")
                .help("add `previewFeatures = [\"postgresqlExtensions\"]` to the generator block");
        }
    }

    Some(Datasource { name: Text::from(block.name.name), provider, relation_mode, schemas, span: block.span })
}

/// `env("VAR")` takes exactly one string; anything else is reported.
fn check_env_calls(expr: &Expr, diagnostics: &mut Diagnostics) {
    match expr {
        Expr::Call { name, args, span }
            if name.name == "env" && (args.len() != 1 || args[0].value.as_str().is_none()) =>
        {
            diagnostics
                .error("E0194", "`env(...)` takes exactly one string: the variable's name", *span)
                .label("expected for example `env(\"DATABASE_URL\")`");
        }

        Expr::Array(items, _) => items.iter().for_each(|i| check_env_calls(i, diagnostics)),
        _ => {}
    }
}

/// The generator options Prisma types: strings (or `env(...)`), and lists of them for
/// `binaryTargets`. Other keys belong to the generator and are passed through.
fn check_generator_values(block: &ConfigBlock, diagnostics: &mut Diagnostics) {
    for property in block.properties {
        let Some(value) = &property.value else { continue };
        check_env_calls(value, diagnostics);
        let ok = match property.key.name {
            "provider" | "output" | "engineType" => is_string_or_env(value),
            "binaryTargets" => value.as_list().iter().all(is_string_or_env),
            _ => true,
        };
        if !ok {
            diagnostics
                .error("E0105", format!("`{}` must be a string", property.key.name), value.span())
                .label(format!("found {}", value.describe()));
        }
    }
}

/// `extensions = [pg_trgm, vector(schema: "x", version: "0.5", map: "vec")]`.
fn check_extensions(value: &Expr, diagnostics: &mut Diagnostics) {
    for item in value.as_list() {
        match item {
            Expr::Path(..) => {}
            Expr::Call { args, .. } => {
                // A named argument left empty (`citext(foo: )`) is passed over, as Prisma does,
                // also when it repeats a name.
                let given = || args.iter().filter(|a| !matches!(a.value, Expr::Empty(_)));
                for (i, arg) in given().enumerate() {
                    let name = arg.name.as_ref().map(|n| n.name);
                    let first =
                        name.and_then(|name| given().take(i).find(|a| a.name.as_ref().is_some_and(|n| n.name == name)));
                    if let (Some(name), Some(first)) = (name, first) {
                        diagnostics
                            .error("E0203", format!("argument `{name}` is given twice"), arg.span)
                            .label("duplicate argument")
                            .secondary(first.span, "first given here");
                        continue;
                    }
                    let known = arg.name.as_ref().is_some_and(|n| matches!(n.name, "schema" | "version" | "map"));
                    if !known || !matches!(arg.value, Expr::Str(..) | Expr::Empty(_)) {
                        diagnostics
                            .error(
                                "E0195",
                                "an extension takes `schema:`, `version:` and `map:`, each a string",
                                arg.span,
                            )
                            .label("not accepted here");
                    }
                }
            }
            other => {
                diagnostics
                    .error("E0195", "extensions are written as names, such as `extensions = [pg_trgm]`", other.span())
                    .label(format!("found {}", other.describe()));
            }
        }
    }
}

fn read_generator(block: &ConfigBlock, diagnostics: &mut Diagnostics) -> Option<Generator> {
    check_generator_values(block, diagnostics);
    let provider = match block.property("provider").and_then(|p| p.value.as_ref()) {
        Some(Expr::Str(provider, _)) => Text::from(*provider),
        Some(other) if is_string_or_env(other) => Text::from("env"),
        Some(other) => {
            diagnostics
                .error("E0105", "`provider` must be a string", other.span())
                .label(format!("found {}", other.describe()));
            return None;
        }
        None => {
            diagnostics
                .error("E0109", format!("generator `{}` has no `provider`", block.name.name), block.name.span)
                .label("missing `provider`")
                .help("add for example `provider = \"prisma-client-js\"`");
            return None;
        }
    };
    let mut preview_features = Vec::new();
    if let Some(value) = block.property("previewFeatures").and_then(|p| p.value.as_ref()) {
        // A list of names; Prisma also takes a single string, and matches names in any case.
        for item in value.as_list() {
            let Some(feature) = args::string(item, "each preview feature", diagnostics) else {
                continue;
            };
            match PREVIEW_FEATURES.iter().find(|known| known.eq_ignore_ascii_case(feature)) {
                Some(known) => preview_features.push(Text::from(*known)),
                None => {
                    diagnostics
                        .error("E0119", format!("unknown preview feature `{feature}`"), item.span())
                        .label("Prisma knows no such preview feature")
                        .suggest(feature, PREVIEW_FEATURES);
                }
            }
        }
    }
    // The latest Prisma takes an object in a generator property without a word, but then
    // none of that generator's preview features takes effect (Prisma 6.19 has no objects).
    if holds_any_object(block) && !preview_features.is_empty() {
        preview_features.clear();
        let span = block.property("previewFeatures").map_or(block.name.span, |p| p.span);
        diagnostics
            .warning(
                "W0010",
                "these preview features take no effect: a property of this generator holds an object",
                span,
            )
            .label("ignored, as Prisma ignores them")
            .help("write the object's property another way, or move the preview features to another generator");
    }
    Some(Generator { name: Text::from(block.name.name), provider, preview_features, span: block.span })
}

/// Whether one of a block's properties holds an object.
fn holds_any_object(block: &ConfigBlock) -> bool {
    block.properties.iter().filter_map(|p| p.value.as_ref()).any(holds_object)
}

/// Whether a value is, or holds somewhere inside it, an object.
fn holds_object(value: &Expr) -> bool {
    match value {
        Expr::Object(..) => true,
        Expr::Array(items, _) => items.iter().any(holds_object),
        Expr::Call { args, .. } => args.iter().any(|a| holds_object(&a.value)),
        _ => false,
    }
}
