//! Syntax: source text to a syntax tree with spans, reporting every error it meets.

pub mod ast;
mod letters;
pub mod lexer;
pub mod parser;
mod scan;

pub use parser::parse;

#[cfg(test)]
mod tests;
