//! `ssot migrate` and `@@search`, on both databases: adding it to a table that has rows
//! indexes them, changing its weights or rebuilding its table keeps it working, removing
//! it leaves nothing behind, and after each step a second plan is empty.

mod common;

use common::{check, connect, for_backend, migrate, Backend, TestDatabase, BACKENDS};
use ssot_store::query::{args::ArgsReader, read};
use ssot_store::search::{Query, Search};
use ssot_store::{DatabaseUrl, Store};

const SCHEMA: &str = include_str!("fixtures/search.prisma");
const SEARCH: &str = "/// @@search(fields: [\"title\", \"body\", \"secret\"], weights: [3, 1, 1])";

/// The ids of the articles the admin finds with `q`, through the store's own search.
fn found(url: &DatabaseUrl, schema: &str, q: &str) -> Vec<i64> {
    let backend = if matches!(url, DatabaseUrl::Sqlite(_)) { Backend::Sqlite } else { Backend::Postgres };
    let schema = check(&for_backend(schema, backend));
    let store = Store::open(url.clone(), &schema, 1).expect("open");
    let query = Query::parse(q).expect("query");
    let rows = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(
        store.read(move |conn, es| {
            let model = es.entities.iter().position(|e| e.name == "Article").expect("Article");
            let mut args = ArgsReader::new(es).find(model, &serde_json::Map::new(), "", 0);
            let columns = es.storage[model].search.as_ref().map_or(0, |(index, _)| index.columns.len());
            args.search = Some(Search { query, visible: (0..columns).collect(), highlight: false });
            read::list(conn, es, model, &args)
        }),
    );
    store.shutdown();
    rows.expect("search").rows.iter().filter_map(|r| r["id"].as_i64()).collect()
}
/// Whether any search object is left: SQLite's tables and triggers, PostgreSQL's column.
fn leftovers(url: &DatabaseUrl) -> i64 {
    let sql = match url {
        DatabaseUrl::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%ssot_search%'",
        DatabaseUrl::Postgres(_) => {
            "SELECT COUNT(*) FROM pg_attribute WHERE attname = '_ssot_search' AND NOT attisdropped"
        }
    };
    connect(url).query(sql, &[]).expect("count")[0][0].as_i64().unwrap_or(-1)
}

#[test]
fn search_is_added_changed_and_removed_by_migrate() {
    for backend in BACKENDS {
        let dir = tempfile::tempdir().expect("dir");
        let (url, _database) = match backend {
            Backend::Sqlite => (DatabaseUrl::Sqlite(dir.path().join("m.db")), None),
            Backend::Postgres => match TestDatabase::create("search_migrations") {
                Some(database) => (DatabaseUrl::Postgres(database.url.clone()), Some(database)),
                None => continue,
            },
        };
        let without = SCHEMA.replace(SEARCH, "");
        assert_ne!(without, SCHEMA);
        migrate(&url, &without);
        assert_eq!(leftovers(&url), 0);
        connect(&url)
            .batch(
                "INSERT INTO \"Article\" (title, body, secret, published, category) VALUES \
                 ('walrus', 'b', '', true, 'misc'), ('other', 'walrus walrus', '', true, 'misc')",
            )
            .expect("rows before the search");

        // Added to a table with rows: they are found.
        let steps = migrate(&url, SCHEMA);
        assert!(steps.iter().any(|s| s.contains("create search index of Article")), "{steps:?}");
        assert_eq!(found(&url, SCHEMA, "walrus "), [1, 2]);

        // New weights: the order follows (SQLite weighs at query time; PostgreSQL's column
        // holds the weight classes, so it is made again).
        let reweighted = SCHEMA.replace("weights: [3, 1, 1]", "weights: [1, 5, 1]");
        let steps = migrate(&url, &reweighted);
        let remade = steps.iter().any(|s| s.contains("search index of Article"));
        assert_eq!(remade, backend == Backend::Postgres, "{steps:?}");
        assert_eq!(found(&url, &reweighted, "walrus "), [2, 1]);

        // A change that rebuilds the table (SQLite) or alters a column (PostgreSQL) keeps it.
        let rebuilt = reweighted.replace("category  String  @default(\"misc\")", "category  String?");
        migrate(&url, &rebuilt);
        connect(&url).batch("UPDATE \"Article\" SET title = 'narwhal' WHERE id = 1").expect("update");
        assert_eq!(found(&url, &rebuilt, "narwhal ").len(), 1);
        assert_eq!(found(&url, &rebuilt, "walrus ").len(), 1);

        // Removed: nothing is left, and the table is as Prisma makes it.
        let removed =
            rebuilt.replace("/// @@search(fields: [\"title\", \"body\", \"secret\"], weights: [1, 5, 1])", "");
        let steps = migrate(&url, &removed);
        assert!(steps.iter().any(|s| s.contains("drop search index of Article")), "{steps:?}");
        assert_eq!(leftovers(&url), 0, "{backend:?}");
    }
}
