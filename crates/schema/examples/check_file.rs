//! `cargo run --release -p ssot-schema --example check_file -- FILE [N]`: checks FILE N times,
//! for profiling the checker without the CLI around it.

#[global_allocator]
static GLOBAL: ssot_alloc::Mimalloc = ssot_alloc::Mimalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: check_file FILE [N]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let start = std::time::Instant::now();
    let mut errors = 0;
    for _ in 0..n {
        errors += usize::from(ssot_schema::check(&source).has_errors());
    }
    println!("{n} checks in {:?} ({:?} each), {errors} invalid", start.elapsed(), start.elapsed() / n.max(1) as u32);
}
