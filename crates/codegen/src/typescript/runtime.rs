//! The client runtime (`sdk/src`), embedded in the generator so that generated output is
//! self-contained: `ssot generate --target ts` writes it beside `ssot.ts` as `runtime/`,
//! each file as it is in `sdk/src` after a header naming its origin; `--target react` adds
//! the React adapter (`sdk/src/react`) as `runtime/react/`. A test checks that every file of
//! both is listed here.

/// `(path under runtime/, text)` of every runtime file.
pub const FILES: &[(&str, &str)] = &[
    ("auth.ts", include_str!("../../../../sdk/src/auth.ts")),
    ("backoff.ts", include_str!("../../../../sdk/src/backoff.ts")),
    ("cache.ts", include_str!("../../../../sdk/src/cache.ts")),
    ("channels.ts", include_str!("../../../../sdk/src/channels.ts")),
    ("client.ts", include_str!("../../../../sdk/src/client.ts")),
    ("delegate.ts", include_str!("../../../../sdk/src/delegate.ts")),
    ("errors.ts", include_str!("../../../../sdk/src/errors.ts")),
    ("http.ts", include_str!("../../../../sdk/src/http.ts")),
    ("index.ts", include_str!("../../../../sdk/src/index.ts")),
    ("live.ts", include_str!("../../../../sdk/src/live.ts")),
    ("registry.ts", include_str!("../../../../sdk/src/registry.ts")),
    ("tokens.ts", include_str!("../../../../sdk/src/tokens.ts")),
    ("types.ts", include_str!("../../../../sdk/src/types.ts")),
    ("ws.ts", include_str!("../../../../sdk/src/ws.ts")),
];

/// `(path under runtime/react/, text)` of the React adapter's files (`--target react`).
pub const REACT_FILES: &[(&str, &str)] = &[
    ("bridge.ts", include_str!("../../../../sdk/src/react/bridge.ts")),
    ("channels.ts", include_str!("../../../../sdk/src/react/channels.ts")),
    ("index.ts", include_str!("../../../../sdk/src/react/index.ts")),
    ("keys.ts", include_str!("../../../../sdk/src/react/keys.ts")),
    ("mutations.ts", include_str!("../../../../sdk/src/react/mutations.ts")),
    ("provider.ts", include_str!("../../../../sdk/src/react/provider.ts")),
    ("queries.ts", include_str!("../../../../sdk/src/react/queries.ts")),
    ("specs.ts", include_str!("../../../../sdk/src/react/specs.ts")),
    ("ssr.ts", include_str!("../../../../sdk/src/react/ssr.ts")),
];

/// The runtime's files as `ssot generate --target ts` writes them: `runtime/<name>` with a header.
pub fn files() -> Vec<(String, String)> {
    copies(FILES, "", "ts")
}

/// The React adapter's files as `--target react` writes them: `runtime/react/<name>`.
pub fn react_files() -> Vec<(String, String)> {
    copies(REACT_FILES, "react/", "react")
}

fn copies(files: &[(&str, &str)], dir: &str, target: &str) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(name, text)| {
            // `@ts-nocheck`: the runtime is checked where it is written (sdk/, strict); an app's compiler
            // need not check it again on every build, nor hold it to the app's own settings.
            let header = format!(
                "// Copied by `ssot generate --target {target}` from ssot's client runtime (sdk/src/{dir}{name}, \
                 ssot {}). Do not edit: generate again.\n// @ts-nocheck\n",
                env!("CARGO_PKG_VERSION")
            );
            (format!("runtime/{dir}{name}"), header + text)
        })
        .collect()
}
