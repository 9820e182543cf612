//! The generated TypeScript compiles under `tsc --strict` with no error, for the example,
//! every valid fixture and every real schema of the corpus (`../shared/corpus/prisma-real`,
//! skipped visibly where it is absent); the same schema gives the same text twice; and the
//! types say what the API shows.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemas_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "prisma"));
    found.sort();
    found
}

/// Writes generated files under `dir`, without their `// @ts-nocheck` (written for apps'
/// compilers, so that the tests check everything): in the runtime's copies too when `runtime`.
fn write_checked(dir: &Path, files: Vec<(String, String)>, runtime: bool) {
    for (name, text) in files {
        let text =
            if runtime || !name.starts_with("runtime/") { text.replacen("// @ts-nocheck\n", "", 1) } else { text };
        let file = dir.join(name);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("dir");
        std::fs::write(file, text).expect("write");
    }
}

/// The TypeScript compilers the typed-use tests run: TypeScript 7 (`tsc`), and 5.9 (what most
/// projects still use; its inference differs) when `sdk/node_modules` has it.
fn compilers() -> Vec<std::process::Command> {
    let mut found = Vec::new();
    let tsc = root().join("sdk/node_modules/.bin/tsc");
    if tsc.exists() {
        found.push(std::process::Command::new(tsc));
    }
    let tsc5 = root().join("sdk/node_modules/typescript5/bin/tsc");
    if tsc5.exists() {
        let mut node = std::process::Command::new("node");
        node.arg(tsc5);
        found.push(node);
    } else {
        eprintln!("SKIPPED under TypeScript 5: {} is absent (run `npm ci` in sdk/)", tsc5.display());
    }
    found
}

/// Runs every compiler over the project in `dir`; all must accept it.
fn type_check(dir: &Path) {
    for mut tsc in compilers() {
        let output = tsc.arg("-p").arg(dir).output().expect("run tsc");
        assert!(
            output.status.success(),
            "{:?}: {}{}",
            tsc.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The example, `ssot init`'s starter, every valid fixture, ours, and every real schema of
/// the corpus (skipped visibly where it is absent).
fn every_schema() -> Vec<PathBuf> {
    let mut schemas =
        vec![root().join("examples/blog/schema.prisma"), root().join("crates/cli/src/init/schema.prisma")];
    schemas.extend(schemas_in(&root().join("tests/fixtures/schemas/valid")));
    schemas.extend(schemas_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")));
    let corpus = root().join("../shared/corpus/prisma-real");
    if corpus.is_dir() {
        schemas.extend(schemas_in(&corpus));
    } else {
        eprintln!("SKIPPED the real schemas: {} is absent", corpus.display());
    }
    schemas
}

/// The runtime `ssot generate --target ts` writes beside `ssot.ts`, under `dir/runtime/`.
fn write_runtime(dir: &Path) {
    write_checked(dir, ssot_codegen::typescript::runtime::files(), true);
}

fn generate(path: &Path) -> Option<String> {
    let source = std::fs::read_to_string(path).expect("read schema");
    let checked = ssot_schema::check(&source);
    // Invalid schemas have nothing to generate (`ssot generate` refuses them).
    (!checked.has_errors()).then(|| ssot_codegen::typescript::types(&checked.schema, "schema.prisma"))
}

#[test]
fn generated_types_compile_under_strict_tsc() {
    let tsc = root().join("sdk/node_modules/.bin/tsc");
    if !tsc.exists() {
        eprintln!("SKIPPED: no TypeScript compiler at {} (run `npm ci` in sdk/)", tsc.display());
        return;
    }
    let schemas = every_schema();
    let dir = tempfile::tempdir().expect("temp dir");
    // One runtime for every generated file (each imports `./runtime/index.js`): it is checked once.
    write_runtime(dir.path());
    let mut files = Vec::new();
    for (i, path) in schemas.iter().enumerate() {
        let Some(text) = generate(path) else { continue };
        let file = dir.path().join(format!("s{i}.ts"));
        std::fs::write(&file, text).expect("write");
        files.push((file, path.clone()));
    }
    assert!(files.len() > 100, "{} schemas generated", files.len());
    let tsconfig = serde_json_like(&files);
    std::fs::write(dir.path().join("tsconfig.json"), tsconfig).expect("tsconfig");
    let output = std::process::Command::new(&tsc).arg("-p").arg(dir.path()).output().expect("run tsc");
    let report = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    // Name the schema behind each failing file.
    let named = files.iter().fold(report, |text, (file, path)| {
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        text.replace(&name, &format!("{name} ({})", path.display()))
    });
    assert!(output.status.success(), "tsc --strict found errors:\n{named}");
    println!("tsc --strict: {} generated files, no error", files.len());
}

/// A strict `tsconfig.json` over `files`.
fn serde_json_like(files: &[(PathBuf, PathBuf)]) -> String {
    let names: Vec<String> =
        files.iter().map(|(f, _)| format!("\"{}\"", f.file_name().unwrap_or_default().to_string_lossy())).collect();
    format!(
        "{{\"compilerOptions\": {{\"strict\": true, \"noEmit\": true, \"target\": \"es2022\", \"module\": \"esnext\", \
         \"moduleResolution\": \"bundler\", \"isolatedModules\": true, \"skipLibCheck\": true}}, \"files\": [{}]}}",
        names.join(", ")
    )
}

#[test]
fn the_same_schema_gives_the_same_text() {
    let path = root().join("examples/blog/schema.prisma");
    assert_eq!(generate(&path), generate(&path));
}

#[test]
fn types_say_what_the_api_shows() {
    let text = generate(&root().join("examples/blog/schema.prisma")).expect("valid example");
    assert!(text.starts_with("// Generated by `ssot generate --target ts` from schema.prisma."), "{text}");
    assert!(text.contains("export interface User {"), "{text}");
    let user = &text[text.find("export interface User {").unwrap_or(0)..];
    let user = &user[..user.find("\n}").unwrap_or(user.len())];
    assert!(!user.contains("password"), "the password is never shown: {user}");
    assert!(user.contains("  email?: string;"), "a field a read rule guards may be absent: {user}");
    assert!(
        text.contains("export type $UserCreate = {\n  id?: string;\n  email: string;\n  password: string;"),
        "{text}"
    );
    let where_ = &text[text.find("export type $UserWhere = {").unwrap_or(0)..];
    assert!(!where_[..where_.find("\n};").unwrap_or(where_.len())].contains("password"), "nor filtered by");
    assert!(text.contains("  name: string | null;"), "an optional field is nullable: {text}");
    assert!(text.contains("  posts?: Post[];"), "a relation is there when included: {text}");
    assert!(text.contains("export type Role = 'user' | 'admin';"), "{text}");
    assert!(
        text.contains("  User: {\n    row: User;\n    scalars: $UserScalars;\n    relations: $UserRelations;\n    where: $UserWhere;"),
        "{text}"
    );
    assert!(text.contains("  name?: string | null | $Text<null>;"), "a nullable text field's filter: {text}");
    assert!(text.contains("  posts?: $ToMany<$PostWhere>;"), "{text}");
    assert!(text.contains("export type $UserScalars = $Omit<User, 'posts' | 'comments'>;"), "{text}");
    assert!(text.contains("  posts: { model: 'Post'; many: true };"), "{text}");
    assert!(
        text.contains("  readonly user: $ModelDelegate<$Schema['User'], $Schema> = this.$model('User');"),
        "{text}"
    );
    assert!(text.contains("  'User': { id: ['id'], path: '/api/users', relations: ['posts', 'comments'] },"), "{text}");
}

#[test]
fn every_runtime_file_is_embedded() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("sdk/src"))
        .expect("sdk/src")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".ts"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = ssot_codegen::typescript::runtime::FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(embedded, on_disk, "crates/codegen/src/typescript/runtime.rs lists every file of sdk/src");
    let mut react: Vec<String> = std::fs::read_dir(root().join("sdk/src/react"))
        .expect("sdk/src/react")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".ts"))
        .collect();
    react.sort();
    let embedded: Vec<String> =
        ssot_codegen::typescript::runtime::REACT_FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(embedded, react, "runtime.rs lists every file of sdk/src/react");
}

// The generated client: a delegate per model, inputs checked, results following `select`
// and `include`, a field a rule may hide optional, a to-one relation possibly `null`.
#[test]
fn the_generated_client_is_typed() {
    let tsc = root().join("sdk/node_modules/.bin/tsc");
    if !tsc.exists() {
        eprintln!("SKIPPED: no TypeScript compiler at {} (run `npm ci` in sdk/)", tsc.display());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = root().join("sdk/test/fixtures/app.prisma");
    let source = std::fs::read_to_string(&schema).expect("read schema");
    let checked = ssot_schema::check(&source);
    assert!(!checked.has_errors(), "the SDK's fixture is valid");
    write_checked(dir.path(), ssot_codegen::typescript::files(&checked.schema, "app.prisma"), true);
    let usage = "import { createClient, type Post, type User } from './ssot.js';\n\
         const client = createClient({ url: 'http://127.0.0.1:1', transport: 'http' });\n\
         type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;\n\
         function expectType<T extends true>(): T | undefined { return undefined; }\n\
         export async function use(): Promise<Post[]> {\n\
         \x20 const rows = await client.post.findMany({\n\
         \x20   where: { title: { contains: 'x', mode: 'insensitive' }, views: { gte: 3 }, author: { is: { email: 'a' } } },\n\
         \x20   orderBy: [{ views: 'desc' }, { author: { email: 'asc' } }],\n\
         \x20 });\n\
         \x20 expectType<Equal<typeof rows[number]['title'], string>>();\n\
         \x20 // @ts-expect-error a Post has no such field\n\
         \x20 rows[0]?.nope;\n\
         \x20 // @ts-expect-error without `include` a row has no relations\n\
         \x20 rows[0]?.author;\n\
         \x20 // @ts-expect-error `contains` is for text, not numbers\n\
         \x20 await client.post.findMany({ where: { views: { contains: '3' } } });\n\
         \x20 // @ts-expect-error a required field is never null\n\
         \x20 await client.post.findMany({ where: { title: null } });\n\
         \x20 // @ts-expect-error a misspelt argument\n\
         \x20 await client.post.findMany({ wher: { views: 1 } });\n\
         \x20 const picked = await client.post.findMany({ select: { title: true, views: false, author: { select: { name: true } } } });\n\
         \x20 expectType<Equal<typeof picked[number], { title: string; author: { name: string | null } | null }>>();\n\
         \x20 const withAuthor = await client.post.findFirst({ include: { author: true } });\n\
         \x20 expectType<Equal<NonNullable<typeof withAuthor>['author'], { id: string; email: string; name: string | null } | null>>();\n\
         \x20 expectType<Equal<NonNullable<typeof withAuthor>['views'], number>>();\n\
         \x20 const nested = await client.user.findMany({ include: { posts: { where: { published: true }, take: 1, include: { author: { select: { id: true } } } } } });\n\
         \x20 expectType<Equal<typeof nested[number]['posts'][number]['author'], { id: string } | null>>();\n\
         \x20 const user = await client.user.findUnique({ where: { email: 'a@b.c' }, include: { posts: { where: { published: true }, take: 2, select: { id: true } } } });\n\
         \x20 expectType<Equal<NonNullable<typeof user>['posts'], Array<{ id: number }>>>();\n\
         \x20 // @ts-expect-error the password is never shown\n\
         \x20 user?.password;\n\
         \x20 const made = await client.post.create({ data: { title: 't', author: { connect: { id: 'u1' } } }, select: { id: true } });\n\
         \x20 expectType<Equal<typeof made, { id: number }>>();\n\
         \x20 await client.post.update({ where: { id: made.id }, data: { views: { increment: 1 }, title: { set: 'u' } } });\n\
         \x20 // @ts-expect-error `title` is required in a create\n\
         \x20 await client.post.create({ data: { authorId: 'u1' } });\n\
         \x20 // @ts-expect-error a number field takes numbers\n\
         \x20 await client.post.update({ where: { id: 1 }, data: { views: { increment: 'one' } } });\n\
         \x20 // @ts-expect-error a unique selector names a unique field\n\
         \x20 await client.user.delete({ where: { name: 'x' } });\n\
         \x20 const live = client.post.subscribe({ where: { published: true }, select: { title: true } });\n\
         \x20 expectType<Equal<typeof live.value, Array<{ title: string }>>>();\n\
         \x20 const [made2, counted] = await client.$batch([client.post.op.create({ data: { title: 't', authorId: 'u1' }, select: { id: true } }), client.room.op.count()]);\n\
         \x20 expectType<Equal<typeof made2, { id: number }>>();\n\
         \x20 expectType<Equal<typeof counted, { count: number }>>();\n\
         \x20 const found = await client.post.search({ search: 'rust', highlight: true, select: { title: true } });\n\
         \x20 expectType<Equal<typeof found.data, Array<{ title: string }>>>();\n\
         \x20 expectType<Equal<typeof found.meta.highlights, Array<Record<string, string>> | undefined>>();\n\
         \x20 // @ts-expect-error Room has no @@search\n\
         \x20 await client.room.search({ search: 'x' });\n\
         \x20 // @ts-expect-error a search has no cursor\n\
         \x20 await client.post.search({ search: 'x', cursor: { id: 1 } });\n\
         \x20 const echoed = await client.$actions.echo<{ ok: boolean }>({ a: 1 });\n\
         \x20 expectType<Equal<typeof echoed, { ok: boolean }>>();\n\
         \x20 // @ts-expect-error no such action\n\
         \x20 await client.$actions.nope({});\n\
         \x20 const count: number = await client.room.count({ where: { name: { startsWith: 'a' } } });\n\
         \x20 const u: User | null = await client.user.findUnique({ where: { id: 'x' } });\n\
         \x20 void count; void u;\n\
         \x20 return rows;\n\
         }\n"
    .to_string();
    std::fs::write(dir.path().join("use.ts"), usage).expect("write");
    std::fs::write(
        dir.path().join("tsconfig.json"),
        "{\"compilerOptions\": {\"strict\": true, \"noEmit\": true, \"target\": \"es2022\", \"module\": \"nodenext\", \
         \"moduleResolution\": \"nodenext\", \"skipLibCheck\": true, \"types\": []}, \"files\": [\"use.ts\"]}",
    )
    .expect("tsconfig");
    type_check(dir.path());
}

// The generated hooks: typed per model, results following `select`/`include`, the schema
// registered so that the generic hooks are typed too, wrong inputs refused.
#[test]
fn the_generated_hooks_are_typed() {
    let tsc = root().join("sdk/node_modules/.bin/tsc");
    if !tsc.exists() || !root().join("sdk/node_modules/@tanstack/react-query").is_dir() {
        eprintln!("SKIPPED: no TypeScript compiler or React packages in sdk/node_modules (run `npm ci` in sdk/)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let source = std::fs::read_to_string(root().join("sdk/test/fixtures/app.prisma")).expect("read schema");
    let checked = ssot_schema::check(&source);
    let mut files = ssot_codegen::typescript::files(&checked.schema, "app.prisma");
    files.extend(ssot_codegen::typescript::react::files(&checked.schema, "app.prisma"));
    write_checked(dir.path(), files, true);
    link_node_modules(dir.path());
    let usage = "import { useFindMany, usePosts, usePost, usePostCount, useCreatePost, useUpdatePost, useSuspenseRooms, useSearchPosts, useSearch, useEchoAction } from './react.js';\n\
         type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;\n\
         function expectType<T extends true>(): T | undefined { return undefined; }\n\
         export function Posts(): null {\n\
         \x20 const titles = usePosts({ where: { published: true }, select: { title: true } });\n\
         \x20 expectType<Equal<typeof titles.data, Array<{ title: string }> | undefined>>();\n\
         \x20 const one = usePost({ where: { id: 1 }, include: { author: { select: { name: true } } } });\n\
         \x20 expectType<Equal<NonNullable<typeof one.data>['author'], { name: string | null } | null>>();\n\
         \x20 const generic = useFindMany('Post', { select: { views: true } });\n\
         \x20 expectType<Equal<typeof generic.data, Array<{ views: number }> | undefined>>();\n\
         \x20 const count = usePostCount({ where: { views: { gt: 1 } } });\n\
         \x20 expectType<Equal<typeof count.data, number | undefined>>();\n\
         \x20 const rooms = useSuspenseRooms();\n\
         \x20 expectType<Equal<typeof rooms.data, Array<{ id: number; name: string }>>>();\n\
         \x20 const found = useSearchPosts({ search: 'rust', select: { id: true } });\n\
         \x20 expectType<Equal<NonNullable<typeof found.data>['data'], Array<{ id: number }>>>();\n\
         \x20 // @ts-expect-error Room has no @@search\n\
         \x20 useSearch('Room', { search: 'x' });\n\
         \x20 useEchoAction().mutate({ a: 1 });\n\
         \x20 // @ts-expect-error a Post has no such field\n\
         \x20 usePosts({ where: { nope: 1 } });\n\
         \x20 // @ts-expect-error no such model\n\
         \x20 useFindMany('Nope');\n\
         \x20 const create = useCreatePost();\n\
         \x20 create.mutate({ data: { title: 't', authorId: 'u' } });\n\
         \x20 // @ts-expect-error `title` is required in a create\n\
         \x20 create.mutate({ data: { authorId: 'u' } });\n\
         \x20 useUpdatePost({ optimistic: true }).mutate({ where: { id: 1 }, data: { views: { increment: 1 } } });\n\
         \x20 return null;\n\
         }\n";
    std::fs::write(dir.path().join("use.ts"), usage).expect("write");
    std::fs::write(
        dir.path().join("tsconfig.json"),
        "{\"compilerOptions\": {\"strict\": true, \"noEmit\": true, \"target\": \"es2022\", \"module\": \"esnext\", \
         \"moduleResolution\": \"bundler\", \"skipLibCheck\": true, \"types\": [], \"lib\": [\"es2022\", \"dom\"]}, \
         \"files\": [\"use.ts\"]}",
    )
    .expect("tsconfig");
    type_check(dir.path());
}

/// `dir/node_modules` → `sdk/node_modules` (React's and TanStack Query's types for generated hooks).
fn link_node_modules(dir: &Path) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(root().join("sdk/node_modules"), dir.join("node_modules")).expect("symlink");
}

// The hooks of every schema compile too: each schema in a directory of its own, as
// `ssot generate --target react` writes it (each registers its schema with its own copy of
// the adapter).
#[test]
fn generated_hooks_compile_for_every_schema() {
    let tsc = root().join("sdk/node_modules/.bin/tsc");
    if !tsc.exists() || !root().join("sdk/node_modules/@tanstack/react-query").is_dir() {
        eprintln!("SKIPPED: no TypeScript compiler or React packages in sdk/node_modules (run `npm ci` in sdk/)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut entries = Vec::new();
    for (i, path) in every_schema().iter().enumerate() {
        let source = std::fs::read_to_string(path).expect("read schema");
        let checked = ssot_schema::check(&source);
        if checked.has_errors() {
            continue;
        }
        let mut files = ssot_codegen::typescript::files(&checked.schema, "schema.prisma");
        files.extend(ssot_codegen::typescript::react::files(&checked.schema, "schema.prisma"));
        // The runtime, the same for every schema, is checked by the other tests (and by sdk/'s own build).
        write_checked(&dir.path().join(format!("s{i}")), files, false);
        entries.push((format!("s{i}/react.ts"), path.clone()));
    }
    link_node_modules(dir.path());
    let names: Vec<String> = entries.iter().map(|(f, _)| format!("\"{f}\"")).collect();
    std::fs::write(
        dir.path().join("tsconfig.json"),
        format!(
            "{{\"compilerOptions\": {{\"strict\": true, \"noEmit\": true, \"target\": \"es2022\", \"module\": \"esnext\", \
             \"moduleResolution\": \"bundler\", \"skipLibCheck\": true, \"types\": [], \"lib\": [\"es2022\", \"dom\"]}}, \
             \"files\": [{}]}}",
            names.join(", ")
        ),
    )
    .expect("tsconfig");
    let output = std::process::Command::new(&tsc).arg("-p").arg(dir.path()).output().expect("run tsc");
    let report = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    let named = entries.iter().fold(report, |text, (file, path)| {
        let prefix = file.trim_end_matches("react.ts");
        text.replace(prefix, &format!("{prefix} ({}) ", path.display()))
    });
    assert!(output.status.success(), "tsc --strict found errors:\n{named}");
    println!("tsc --strict: the hooks of {} schemas, no error", entries.len());
}
