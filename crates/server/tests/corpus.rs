//! Every real schema in `../shared/corpus/prisma-real/` whose provider is SQLite or
//! PostgreSQL: migrated by ssot on its own provider, served, and in every model one row
//! created over REST and read back by its id.

mod common;

use serde_json::{json, Map, Value as Json};
use ssot_schema::ir::ScalarType;
use ssot_store::entity::{Entities, Kind, Link};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/prisma-real");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: the corpus is absent ({} does not exist)", dir.display());
        None
    }
}

/// A value for a required field that is unique enough (`n` differs per row) and fits
/// the column's native type.
fn value_for(es: &Entities, model: usize, field: usize, n: usize) -> Json {
    let f = &es.entities[model].fields[field];
    let cast = es.column(model, field).cast.to_ascii_uppercase();
    let text = |s: String| {
        // VARCHAR(n) and CHAR(n) hold at most n characters.
        let limit = cast.split_once('(').and_then(|(_, rest)| rest.trim_end_matches(')').parse::<usize>().ok());
        match limit {
            Some(limit) if cast.starts_with("VARCHAR") || cast.starts_with("CHAR") => {
                Json::String(s.chars().take(limit).collect())
            }
            _ => Json::String(s),
        }
    };
    let one = match f.kind {
        Kind::Enum(e) => json!(es.enums[e].values[0]),
        Kind::Scalar(ScalarType::String) if cast.starts_with("UUID") => {
            json!(format!("00000000-0000-4000-8000-{n:012}"))
        }
        Kind::Scalar(ScalarType::String) if cast.starts_with("INET") => json!(format!("10.0.0.{}", n % 250)),
        Kind::Scalar(ScalarType::String) if cast.starts_with("XML") => json!("<a/>"),
        Kind::Scalar(ScalarType::String) => text(format!("{}-{n}", f.name)),
        Kind::Scalar(ScalarType::Int) => json!(n),
        Kind::Scalar(ScalarType::BigInt) => json!(n.to_string()),
        Kind::Scalar(ScalarType::Float) => json!(n as f64 + 0.5),
        Kind::Scalar(ScalarType::Decimal) => json!(format!("{n}.5")),
        Kind::Scalar(ScalarType::Boolean) => json!(true),
        Kind::Scalar(ScalarType::DateTime) => json!(format!("2024-01-{:02}T10:00:00.000Z", 1 + n % 28)),
        Kind::Scalar(ScalarType::Json) => json!({"n": n}),
        Kind::Scalar(ScalarType::Bytes) => json!("AAEC"),
    };
    if f.list {
        json!([one])
    } else {
        one
    }
}

/// Models in an order where every required relation's target comes first.
fn creation_order(es: &Entities) -> Vec<usize> {
    let mut order = Vec::new();
    let mut placed = vec![false; es.entities.len()];
    for _ in 0..es.entities.len() {
        for (i, entity) in es.entities.iter().enumerate() {
            if placed[i] {
                continue;
            }
            let ready = entity.relations.iter().all(|r| match &r.link {
                Link::Owns { local, .. } => {
                    r.target == i || placed[r.target] || local.iter().all(|&l| entity.fields[l].optional)
                }
                _ => true,
            });
            if ready {
                placed[i] = true;
                order.push(i);
            }
        }
    }
    order
}

async fn exercise(server: &common::TestServer, name: &str) {
    let es = &server.store.entities;
    let mut created: Vec<Option<Json>> = vec![None; es.entities.len()];
    let order = creation_order(es);
    assert_eq!(order.len(), es.entities.len(), "{name}: a cycle of required relations");
    for (n, &model) in order.iter().enumerate() {
        let entity = &es.entities[model];
        let mut data = Map::new();
        let mut set_by_relation = std::collections::HashSet::new();
        for r in &entity.relations {
            let Link::Owns { local, remote } = &r.link else { continue };
            let required = local.iter().any(|&l| !entity.fields[l].optional);
            if !required {
                continue;
            }
            // Point at the row made for the target model (already there: creation order).
            let Some(target) = created[r.target].as_ref() else { continue };
            for (&l, &rm) in local.iter().zip(remote) {
                let target_field = &es.entities[r.target].fields[rm].name;
                data.insert(entity.fields[l].name.clone(), target[target_field].clone());
                set_by_relation.insert(l);
            }
        }
        for (i, f) in entity.fields.iter().enumerate() {
            if set_by_relation.contains(&i) || f.optional || f.default.is_some() || f.updated_at {
                continue;
            }
            data.insert(f.name.clone(), value_for(es, model, i, 1000 + n));
        }
        let (status, row) =
            server.admin("POST", &format!("/api/{}", entity.resource), Some(Json::Object(data.clone()))).await;
        assert_eq!(status, 201, "{name}: create {} with {}: {row}", entity.name, Json::Object(data));
        let id: Vec<String> = entity
            .id
            .iter()
            .map(|&f| match &row[&entity.fields[f].name] {
                Json::String(s) => common::percent_encode(s),
                other => other.to_string(),
            })
            .collect();
        let (status, read) = server.admin("GET", &format!("/api/{}/{}", entity.resource, id.join(",")), None).await;
        assert_eq!(status, 200, "{name}: read {} {}: {read}", entity.name, id.join(","));
        assert_eq!(read, row, "{name}: {} reads back as created", entity.name);
        created[model] = Some(row);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_schema_migrates_and_serves() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("corpus").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "prisma"));
    files.sort();
    let mut served = 0;
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let source = std::fs::read_to_string(&path).expect("read");
        let schema = common::check(&source);
        let backend = match schema.provider() {
            Some(ssot_schema::ir::Provider::Sqlite) => common::Backend::Sqlite,
            Some(ssot_schema::ir::Provider::Postgresql) => common::Backend::Postgres,
            other => {
                eprintln!("not served: {name} (provider {other:?} is not SQLite or PostgreSQL)");
                continue;
            }
        };
        let Some(server) = common::TestServer::start(&source, backend, &name).await else { continue };
        // Migrated, the database matches the schema: a second migration has nothing to do.
        let store = std::sync::Arc::clone(&server.store);
        let plan = tokio::task::spawn_blocking(move || store.plan()).await.expect("plan task").expect("plan");
        assert!(plan.is_empty(), "{name}: a second migration would do:\n{}", plan.sql());
        exercise(&server, &name).await;
        server.stop().await;
        served += 1;
        eprintln!("served: {name} ({backend:?})");
    }
    eprintln!("corpus: {served} schemas migrated and served");
    assert!(served > 0);
}
