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
    let cpu_start = cpu_time();
    let mut errors = 0;
    // Each check timed on its own too, for a median that, like Prisma's in
    // bench/prisma-validate.mjs, leaves out the checks another process interrupted.
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let check_start = std::time::Instant::now();
        errors += usize::from(ssot_schema::check(&source).has_errors());
        times.push(check_start.elapsed());
    }
    let (wall, n32) = (start.elapsed(), n.max(1) as u32);
    times.sort();
    let median = times.get(n / 2).copied().unwrap_or_default();
    print!("{n} checks in {wall:?} ({:?} each, median {median:?}), {errors} invalid", wall / n32);
    // On a shared host the wall time counts the time others hold the cores; the CPU time
    // (Linux only) does not.
    match (cpu_start, cpu_time()) {
        (Some(a), Some(b)) => println!("; cpu {:?} each", b.saturating_sub(a) / n32),
        _ => println!(),
    }
}

/// This thread's time on a CPU so far, from `/proc/self/schedstat` (nanoseconds).
fn cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}
