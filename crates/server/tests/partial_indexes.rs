//! Partial indexes (`where:`, the `partialIndexes` preview feature) in the database, on
//! both databases: `migrate` creates them partial, so a unique holds only among the rows
//! its condition covers; a second plan is empty; a changed condition is made again and a
//! removed one gives a full index.

mod common;

use common::{connect, migrate, Backend, TestDatabase, BACKENDS};
use ssot_store::conn::Value;
use ssot_store::DatabaseUrl;

const SCHEMA: &str = r#"
datasource db {
  provider = "sqlite"
  url      = env("DATABASE_URL")
}

generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["partialIndexes"]
}

enum Role {
  ADMIN
  MEMBER @map("member")
}

model Account {
  id        Int       @id
  email     String
  deletedAt DateTime?
  active    Boolean   @map("is_active")
  role      Role
  score     Int

  @@unique([email], where: { deletedAt: null })
  @@index([score], where: { active: true, role: { not: "MEMBER" }, deletedAt: { not: "2020-01-01T00:00:00Z" } })
  @@index([role], where: raw("score > 10"))
}
"#;
/// The names of the table's partial indexes, as the database reports them.
fn partial_indexes(url: &DatabaseUrl) -> Vec<String> {
    let sql = match url {
        DatabaseUrl::Sqlite(_) => "SELECT name FROM pragma_index_list('Account') WHERE partial = 1 ORDER BY name",
        DatabaseUrl::Postgres(_) => {
            "SELECT i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE x.indrelid = '\"Account\"'::regclass AND x.indpred IS NOT NULL ORDER BY 1"
        }
    };
    connect(url)
        .query(sql, &[])
        .expect("indexes")
        .into_iter()
        .map(|r| match &r[0] {
            Value::Text(name) => name.clone(),
            other => panic!("an index name, not {other:?}"),
        })
        .collect()
}

/// Inserts an account by SQL; whether the database took it.
fn insert(url: &DatabaseUrl, id: i64, email: &str, deleted: bool) -> bool {
    let deleted_at = match (deleted, url) {
        (false, _) => Value::Null,
        (true, DatabaseUrl::Sqlite(_)) => Value::Int(1_700_000_000_000),
        (true, DatabaseUrl::Postgres(_)) => Value::Text("2023-11-14T22:13:20.000Z".into()),
    };
    let sql = match url {
        DatabaseUrl::Sqlite(_) => {
            "INSERT INTO \"Account\" (id, email, \"deletedAt\", is_active, role, score) VALUES (?1, ?2, ?3, 1, 'ADMIN', 1)"
        }
        DatabaseUrl::Postgres(_) => {
            "INSERT INTO \"Account\" (id, email, \"deletedAt\", is_active, role, score) \
             VALUES ($1::text::int, $2::text, $3::text::timestamp, true, 'ADMIN', 1)"
        }
    };
    match connect(url).execute(sql, &[Value::Int(id), Value::Text(email.into()), deleted_at]) {
        Ok(_) => true,
        Err(e) if e.to_string().to_lowercase().contains("unique") => false,
        Err(e) => panic!("insert {id}: {e}"),
    }
}

#[test]
fn partial_indexes_are_made_partial_and_follow_the_schema() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().expect("dir");
        let (url, _database) = match backend {
            Backend::Sqlite => (DatabaseUrl::Sqlite(dir.path().join("p.db")), None),
            Backend::Postgres => match TestDatabase::create("partial_indexes") {
                Some(database) => (DatabaseUrl::Postgres(database.url.clone()), Some(database)),
                None => continue,
            },
        };
        migrate(&url, SCHEMA);
        assert_eq!(
            partial_indexes(&url),
            ["Account_email_key", "Account_role_idx", "Account_score_idx"],
            "{backend:?}: every index with a condition is partial"
        );

        // The unique holds among the rows not deleted, and only there.
        assert!(insert(&url, 1, "a@example.com", true));
        assert!(insert(&url, 2, "a@example.com", true), "{backend:?}: deleted rows are outside the unique");
        assert!(insert(&url, 3, "a@example.com", false));
        assert!(!insert(&url, 4, "a@example.com", false), "{backend:?}: two live rows with one e-mail are refused");

        // A changed condition is made again; a removed one gives a full index.
        let changed = SCHEMA.replace("raw(\"score > 10\")", "raw(\"score > 20\")");
        assert_eq!(
            migrate(&url, &changed),
            ["drop index Account_role_idx", "create index Account_role_idx"],
            "{backend:?}: only the changed index"
        );
        let full = changed.replace(", where: raw(\"score > 20\")", "");
        assert_eq!(migrate(&url, &full), ["drop index Account_role_idx", "create index Account_role_idx"]);
        assert_eq!(partial_indexes(&url), ["Account_email_key", "Account_score_idx"], "{backend:?}");
    }
}
