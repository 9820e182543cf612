//! The API's shape of small schemas: which models are served, their ids and uniques, and
//! each relation as a link.

use ssot_shape::{Generated, Kind, Link, ScalarType, Shape};

fn shape(models: &str) -> Shape {
    let source =
        format!("datasource db {{\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}}\n\n{models}");
    let checked = ssot_schema::check(&source);
    let schema = checked.valid_schema().unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    Shape::new(schema)
}

#[test]
fn models_without_an_identifier_the_api_shows_are_not_served() {
    let s = shape(
        "model Ignored {\n  id Int @id @ignore\n}\n\nmodel NoKey {\n  name String\n  @@ignore\n}\n\n\
         model ByUnique {\n  email String @unique\n  nick String? @unique\n}\n\nmodel OptionalOnly {\n  a String? @unique\n  @@ignore\n}\n",
    );
    let names: Vec<&str> = s.entities.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["ByUnique"]);
    let e = &s.entities[0];
    assert_eq!(e.resource, "by-uniques");
    assert_eq!(e.id, [0], "the first unique of required fields");
    assert_eq!(e.uniques, [vec![0]], "an optional unique identifies no row");
}

#[test]
fn fields_ids_and_links() {
    let s = shape(
        "enum Role {\n  USER\n  ADMIN @map(\"admin\")\n}\n\n\
         model User {\n  id String @id @default(uuid())\n  role Role @default(USER)\n  posts Post[]\n  tags Tag[]\n}\n\n\
         model Post {\n  id Int @id @default(autoincrement())\n  authorId String @map(\"author_id\")\n  author User @relation(fields: [authorId], references: [id], onDelete: Cascade)\n}\n\n\
         model Tag {\n  label String\n  id Int @id\n  users User[]\n}\n\n\
         model Pair {\n  a Int\n  b Int\n  @@id([a, b])\n}\n",
    );
    assert_eq!(s.enums[0].values, ["USER", "ADMIN"], "the API's names, not the stored ones");
    let user = &s.entities[s.by_name("User").unwrap_or(usize::MAX)];
    assert_eq!(user.fields[0].default, Some(Generated::Uuid { version: 4 }));
    assert_eq!(user.fields[1].kind, Kind::Enum(0));
    let post = s.by_resource("posts").unwrap_or(usize::MAX);
    assert_eq!(s.entities[post].fields[1].name, "authorId", "fields by their API names");
    assert_eq!(s.entities[post].fields[0].kind, Kind::Scalar(ScalarType::Int));
    let author = &s.entities[post].relations[0];
    assert_eq!(author.link, Link::Owns { local: vec![1], remote: vec![0] });
    assert_eq!(author.on_delete, ssot_schema::ir::ReferentialAction::Cascade);
    assert_eq!(user.relations[0].link, Link::Inverse { local: vec![0], remote: vec![1] });
    assert_eq!(user.relations[1].link, Link::Join { local: 0, remote: 1 }, "id to id");
    let pair = &s.entities[s.by_name("Pair").unwrap_or(usize::MAX)];
    assert_eq!(pair.id, [0, 1], "a compound id");
}
