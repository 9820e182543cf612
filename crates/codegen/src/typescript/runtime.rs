//! The client runtime (`sdk/src`), embedded in the generator so that generated output is
//! self-contained: `ssot generate --target ts` writes it beside `ssot.ts` as `runtime/`,
//! each file as it is in `sdk/src` after a header naming its origin. A test checks that
//! every file of `sdk/src` is listed here.

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
    ("tokens.ts", include_str!("../../../../sdk/src/tokens.ts")),
    ("types.ts", include_str!("../../../../sdk/src/types.ts")),
    ("ws.ts", include_str!("../../../../sdk/src/ws.ts")),
];

/// The runtime's files as `ssot generate` writes them: `runtime/<name>` with a header.
pub fn files() -> Vec<(String, String)> {
    FILES
        .iter()
        .map(|(name, text)| {
            let header = format!(
                "// Copied by `ssot generate --target ts` from ssot's client runtime (sdk/src/{name}, ssot {}). \
                 Do not edit: generate again.\n",
                env!("CARGO_PKG_VERSION")
            );
            (format!("runtime/{name}"), header + text)
        })
        .collect()
}
