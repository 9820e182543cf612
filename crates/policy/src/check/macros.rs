//! The rule language's macros: `authenticated`, `isAdmin`, `isPublic` and `isOwner` (the
//! caller owns the row: itself on the `@@auth` model, else through its one relation to it).

use super::Checker;
use crate::predicate::{CompareOp, Operand, Predicate, Value};
use ssot_schema::ir::Model;
use std::ops::Range;

impl<'s> Checker<'s> {
    pub(super) fn is_macro(&self, name: &str, model: &Model) -> bool {
        matches!(name, "authenticated" | "isOwner" | "isAdmin" | "isPublic") && model.field(name).is_none()
    }

    pub(super) fn expand_macro(&mut self, name: &str, at: Range<usize>, model: &'s Model) -> Option<Predicate> {
        match name {
            "isPublic" => Some(Predicate::Const(true)),
            "authenticated" => Some(Predicate::Compare {
                op: CompareOp::Ne,
                left: Operand::Auth(Vec::new()),
                right: Operand::Literal(Value::Null),
            }),
            "isAdmin" => Some(Predicate::Compare {
                op: CompareOp::Eq,
                left: Operand::Auth(vec!["role".into()]),
                right: Operand::Literal(Value::String("admin".into())),
            }),
            _ => self.is_owner(at, model),
        }
    }

    /// `isOwner`: the caller is the row's owner. On the `@@auth` model that is the row
    /// itself (`auth.id == id`); elsewhere, the one relation to the `@@auth` model.
    fn is_owner(&mut self, at: Range<usize>, model: &'s Model) -> Option<Predicate> {
        let Some(auth) = self.schema.auth_model() else {
            self.problem(
                "E0507",
                "`isOwner` needs a model with `@@auth` (the users)",
                at,
                Some("add `/// @@auth(\"JWT\")` above the user model, or compare `auth.<claim>` with a field".into()),
            );
            return None;
        };
        let auth_id = auth.primary_key.as_ref().and_then(|pk| (pk.fields.len() == 1).then(|| pk.fields[0].to_string()));
        if model.name == auth.name {
            let id = auth_id?;
            return Some(Predicate::Compare {
                op: CompareOp::Eq,
                left: Operand::Auth(vec![id.clone()]),
                right: Operand::Field(vec![id]),
            });
        }
        let candidates: Vec<(String, String, String)> = self
            .schema
            .relations
            .iter()
            .filter(|r| r.referencing.model == model.name && r.referenced.model == auth.name && r.fields.len() == 1)
            .map(|r| (r.referencing.field.to_string(), r.fields[0].to_string(), r.references[0].to_string()))
            .collect();
        match candidates.as_slice() {
            [(_, fk, reference)] => Some(Predicate::Compare {
                op: CompareOp::Eq,
                left: Operand::Auth(vec![reference.clone()]),
                right: Operand::Field(vec![fk.clone()]),
            }),
            [] => {
                self.problem(
                    "E0507",
                    format!(
                        "`isOwner` needs a field of `{}` that references `{}`, and there is none",
                        model.name, auth.name
                    ),
                    at,
                    Some(format!(
                        "compare explicitly, such as `auth.id == <field>`, or add a relation to `{}`",
                        auth.name
                    )),
                );
                None
            }
            many => {
                let list: Vec<String> = many.iter().map(|(relation, fk, _)| format!("`{relation}` ({fk})")).collect();
                self.problem(
                    "E0506",
                    format!(
                        "`isOwner` is ambiguous: `{}` references `{}` through {}",
                        model.name,
                        auth.name,
                        list.join(", ")
                    ),
                    at,
                    Some(format!("say which, such as `auth.id == {}`", many[0].1)),
                );
                None
            }
        }
    }
}
