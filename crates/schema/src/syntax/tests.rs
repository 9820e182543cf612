//! One test per grammar rule of the Prisma schema language, plus recovery.

use super::ast::*;
use super::parse;
use crate::diagnostic::Diagnostics;

fn parse_ok(src: &str) -> SchemaAst<'_> {
    let mut d = Diagnostics::default();
    // Leaked: each test's tree lives as long as its source, a literal.
    let ast = parse(src, Box::leak(Box::default()), &mut d);
    let errors: Vec<_> = d.iter().map(|x| format!("{}: {}", x.code, x.message)).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
    ast
}

fn errors(src: &str) -> Vec<&'static str> {
    let mut d = Diagnostics::default();
    parse(src, &bumpalo::Bump::new(), &mut d);
    d.into_sorted().into_iter().map(|x| x.code).collect()
}

fn model<'a>(ast: &'a SchemaAst<'a>, i: usize) -> &'a ModelAst<'a> {
    ast.items
        .iter()
        .filter_map(|it| match it {
            Item::Model(m) => Some(m),
            _ => None,
        })
        .nth(i)
        .expect("model")
}

#[test]
fn datasource_and_generator_properties() {
    let ast = parse_ok(
        "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n  extensions = [pg_trgm, vector(schema: \"x\")]\n}\ngenerator client {\n  provider = \"prisma-client-js\"\n  previewFeatures = [\"views\"]\n}\n",
    );
    let Item::Config(ds) = &ast.items[0] else { panic!("datasource") };
    assert_eq!(ds.kind, ConfigKind::Datasource);
    assert_eq!(ds.property("provider").and_then(|p| p.value.as_ref()).and_then(Expr::as_str), Some("postgresql"));
    let Some(Expr::Call { name, args, .. }) = ds.property("url").and_then(|p| p.value.clone()) else { panic!("env") };
    assert_eq!(name.name, "env");
    assert_eq!(args[0].value.as_str(), Some("DATABASE_URL"));
    let Some(Expr::Array(items, _)) = ds.property("extensions").and_then(|p| p.value.clone()) else { panic!("list") };
    assert_eq!(items.len(), 2);
    let Item::Config(gen) = &ast.items[1] else { panic!("generator") };
    assert_eq!(gen.kind, ConfigKind::Generator);
}

#[test]
fn fields_with_every_type_shape() {
    let ast = parse_ok(
        "model A {\n  id Int @id\n  name String?\n  tags String[]\n  geo Unsupported(\"circle\")?\n  b B @relation(fields: [bId], references: [id])\n}\n",
    );
    let m = model(&ast, 0);
    let shapes: Vec<(String, Arity)> = m
        .fields
        .iter()
        .map(|f| {
            let ty = f.ty.as_ref().expect("type");
            let name = match &ty.name {
                TypeName::Named(i) => i.name.to_string(),
                TypeName::Unsupported { db_type, .. } => format!("Unsupported({db_type})"),
            };
            (name, ty.arity)
        })
        .collect();
    assert_eq!(
        shapes,
        vec![
            ("Int".into(), Arity::Required),
            ("String".into(), Arity::Optional),
            ("String".into(), Arity::List),
            ("Unsupported(circle)".into(), Arity::Optional),
            ("B".into(), Arity::Required),
        ]
    );
}

#[test]
fn dotted_names_borrow_the_source_only_when_their_parts_touch() {
    let src = "model A {\n  a String @db.VarChar(1) @default(x.y)\n  b String @db . Char(2) @default(ext. z .w)\n}\n";
    let ast = parse_ok(src);
    let m = model(&ast, 0);
    let in_source = |text: &str| src.as_bytes().as_ptr_range().contains(&text.as_ptr());
    let names = |i: usize| -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for a in m.fields[i].attributes {
            out.push((a.name.name.to_string(), in_source(a.name.name)));
            if let Some(Expr::Path(p, _)) = a.args.first().map(|x| &x.value) {
                out.push((p.to_string(), in_source(p)));
            }
        }
        out
    };
    let own = |s: &str, borrowed: bool| (s.to_string(), borrowed);
    assert_eq!(names(0), [own("db.VarChar", true), own("default", true), own("x.y", true)]);
    assert_eq!(names(1), [own("db.Char", false), own("default", true), own("ext.z.w", false)]);
}

#[test]
fn attribute_arguments_positional_named_lists_and_calls() {
    let ast = parse_ok(
        "model A {\n  id String @id @default(dbgenerated(\"gen_random_uuid()\")) @db.VarChar(191)\n  n Int @default(-1) @map(name: \"n_col\")\n  @@index([id, n(sort: Desc)], map: \"a_idx\", type: BTree)\n}\n",
    );
    let m = model(&ast, 0);
    let attrs: Vec<&str> = m.fields[0].attributes.iter().map(|a| a.name.name).collect();
    assert_eq!(attrs, ["id", "default", "db.VarChar"]);
    let default = &m.fields[0].attributes[1];
    let Expr::Call { name, args, .. } = &default.args[0].value else { panic!("call") };
    assert_eq!((name.name, args[0].value.as_str()), ("dbgenerated", Some("gen_random_uuid()")));
    assert_eq!(m.fields[0].attributes[2].args[0].value, Expr::Number("191", m.fields[0].attributes[2].args[0].span));
    assert_eq!(
        m.fields[1].attributes[0].args[0].value.as_list()[0],
        Expr::Number("-1", m.fields[1].attributes[0].args[0].span)
    );
    assert_eq!(m.fields[1].attributes[1].named("name").and_then(|a| a.value.as_str()), Some("n_col"));
    let index = &m.attributes[0];
    assert!(index.block);
    assert_eq!(index.positional(0).map(|a| a.value.as_list().len()), Some(2));
    assert_eq!(index.named("type").and_then(|a| a.value.as_path()), Some("BTree"));
}

#[test]
fn doc_comments_attach_to_what_follows() {
    let ast = parse_ok(
        "/// the model\nmodel A {\n  /// the id\n  id Int @id // trailing comment\n  /// the index\n  @@index([id])\n  /// dangling\n}\n/// the enum\nenum E {\n  /// the value\n  V\n}\n",
    );
    let m = model(&ast, 0);
    assert_eq!(m.doc[0].text, " the model");
    assert_eq!(m.fields[0].doc[0].text, " the id");
    assert_eq!(m.attributes[0].doc[0].text, " the index");
    assert_eq!(m.inner_doc[0].text, " dangling");
    let Item::Enum(e) = &ast.items[1] else { panic!("enum") };
    assert_eq!(e.doc[0].text, " the enum");
    assert_eq!(e.values[0].doc[0].text, " the value");
}

#[test]
fn view_type_and_enum_blocks() {
    let ast = parse_ok(
        "view V {\n  id Int @unique\n}\ntype T {\n  x Int\n}\nenum E {\n  A @map(\"a\")\n  B\n  @@map(\"e\")\n}\n",
    );
    assert_eq!(model(&ast, 0).kind, ModelKind::View);
    assert_eq!(model(&ast, 1).kind, ModelKind::Type);
    let Item::Enum(e) = &ast.items[2] else { panic!("enum") };
    assert_eq!(e.values.len(), 2);
    assert_eq!(e.attributes[0].name.name, "map");
}

#[test]
fn spans_slice_back_to_the_source() {
    let src = "model Post {\n  title String @default(\"a \\\"b\\\"\")\n}\n";
    let ast = parse_ok(src);
    let m = model(&ast, 0);
    assert_eq!(m.name.span.slice(src), "Post");
    assert_eq!(m.fields[0].span.slice(src), "title String @default(\"a \\\"b\\\"\")");
    assert_eq!(m.fields[0].attributes[0].span.slice(src), "@default(\"a \\\"b\\\"\")");
    assert_eq!(m.fields[0].attributes[0].args[0].value.as_str(), Some("a \"b\""));
    assert_eq!(m.span.slice(src), &src[..src.len() - 1]);
}

#[test]
fn one_run_reports_every_error() {
    let src = "model A {\n  id Int @id\n  name\n  x String @default(\n}\nmodle B {\n  id Int @id\n}\nmodel C {\n  id Int $\n}\n";
    assert_eq!(errors(src), ["E0015", "E0021", "E0003", "E0001"]);
}

#[test]
fn prisma_line_rules() {
    // Prisma skips the rest of the `{` line, `}` included: the block is never closed.
    assert_eq!(errors("model A { id Int @id }\n"), ["E0007", "W0008"]);
    assert_eq!(errors("model A {\n  id Int @id\n} model B {\n  id Int @id\n}\n"), Vec::<&str>::new());
    assert_eq!(errors("modelC {\n  id Int @id\n}\n"), ["W0009"]);
    assert_eq!(errors("model A {\n  id /* c */ Int\n}\n"), ["E0030"]);
    assert_eq!(errors("/* c */ model A {\n  /* d */ id Int @id /* e */\n}\n"), Vec::<&str>::new());

    assert_eq!(errors("model A {\n  id Int @id @@map(\"x\")\n}\n"), ["E0011"]);
    assert_eq!(errors("model A {\n  id Int @id\n  @@index([id,])\n}\n"), ["E0026"]);
    assert_eq!(errors("model A {\n  id Int[]?\n}\n"), ["E0018"]);
    assert_eq!(errors("model A {\n  id: Int\n}\n"), ["E0014"]);
    assert_eq!(errors("model A {\n  @id\n}\n"), ["E0012"]);
    assert_eq!(errors("model {\n}\n"), ["E0005"]);
    assert_eq!(errors("model A {\n  id Int\n"), ["E0007"]);
    assert_eq!(errors("generator g {\n  provider \"x\"\n}\n"), ["E0025"]);
}

#[test]
fn unknown_block_keyword_suggests_the_right_one() {
    let mut d = Diagnostics::default();
    parse("modle A {\n  id Int\n}\n", &bumpalo::Bump::new(), &mut d);
    let diagnostic = d.iter().next().expect("one error");
    assert_eq!(diagnostic.help.as_deref(), Some("did you mean `model`?"));
}
