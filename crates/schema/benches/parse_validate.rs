//! Parse + validate the largest real schema in the corpus (or the example when the
//! corpus is absent): the work `ssot check` does. Compare with Prisma's own validator
//! on the same file: `node bench/prisma-validate.mjs FILE` (see docs/benchmarks.md).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

// The allocator the `ssot` binary uses, so that the figure is what `ssot check` spends.
#[global_allocator]
static GLOBAL: ssot_alloc::Mimalloc = ssot_alloc::Mimalloc;

use std::path::{Path, PathBuf};

fn largest_schema() -> (PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = root.join("../shared/corpus/prisma-real");
    let mut best: Option<(PathBuf, String)> = None;
    for entry in std::fs::read_dir(&corpus).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "prisma") {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if best.as_ref().is_none_or(|(_, b)| text.len() > b.len()) {
                    best = Some((path, text));
                }
            }
        }
    }
    best.unwrap_or_else(|| {
        eprintln!("corpus absent: benchmarking examples/blog/schema.prisma instead");
        let path = root.join("examples/blog/schema.prisma");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        (path, text)
    })
}

fn bench(c: &mut Criterion) {
    let (path, source) = largest_schema();
    let lines = source.lines().count();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(!ssot_schema::check(&source).has_errors(), "{name} must be valid");
    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.bench_function(format!("parse+validate {name} ({lines} lines)"), |b| {
        b.iter(|| ssot_schema::check(std::hint::black_box(&source)))
    });
    group.bench_function(format!("parse only {name}"), |b| {
        b.iter(|| {
            let mut d = ssot_schema::Diagnostics::default();
            let arena = bumpalo::Bump::new();
            ssot_schema::syntax::parse(std::hint::black_box(&source), &arena, &mut d).items.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
