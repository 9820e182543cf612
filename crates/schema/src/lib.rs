//! `ssot-schema`: the Prisma schema language with ssot's annotations.
//!
//! Text enters through [`check`] (or [`syntax::parse`] for the tree alone) and leaves as
//! an [`ir::Schema`]: models, fields, relations and typed annotations, each with the
//! span of the text it came from, plus every [`Diagnostic`] found on the way.
//! Everything downstream (policies, storage, the server, code generation) reads the IR
//! and never the text.

pub mod diagnostic;
pub mod fx;
pub mod span;
pub mod syntax;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use span::Span;
pub mod annotations;
pub mod ir;
pub mod render;
pub mod validate;

/// The result of checking a schema: the IR (complete only when there are no errors)
/// and every diagnostic, sorted by position.
pub struct Checked {
    pub schema: ir::Schema,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The IR, when the schema is valid.
    pub fn valid_schema(&self) -> Option<&ir::Schema> {
        (!self.has_errors()).then_some(&self.schema)
    }
}

/// Parses and validates a schema: the one entry point from text to IR.
pub fn check(source: &str) -> Checked {
    check_phased(source, &mut |_, _| {})
}

/// [`check`], telling `phase` how long each of its phases took (`parse`, then `validate`),
/// for tools that print them (`ssot generate`).
pub fn check_phased(source: &str, phase: &mut dyn FnMut(&'static str, std::time::Duration)) -> Checked {
    let mut diagnostics = Diagnostics::default();
    if u32::try_from(source.len()).is_err() {
        // Spans are 32-bit; no schema comes near 4 GiB.
        diagnostics
            .push(Diagnostic::error("E0009", "the schema is larger than 4 GiB", Span::new(0, 0)).label("too large"));
        return Checked { schema: ir::Schema::default(), diagnostics: diagnostics.into_sorted() };
    }

    // The syntax tree's lists live in this arena: allocated by bumping a pointer, freed
    // all at once when the check ends, rather than one by one with every node.
    let arena = bumpalo::Bump::new();
    let started = std::time::Instant::now();
    let ast = syntax::parse(source, &arena, &mut diagnostics);
    phase("parse", started.elapsed());
    let started = std::time::Instant::now();
    let schema = validate::build(source, &ast, &mut diagnostics);
    phase("validate", started.elapsed());
    Checked { schema, diagnostics: diagnostics.into_sorted() }
}
