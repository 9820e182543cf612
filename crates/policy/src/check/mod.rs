//! Type-checking a parsed rule against its model into a typed [`Predicate`].
//!
//! Names resolve here: fields and relations of the model (and, through relations, of
//! other models), `auth.<field>` of the `@@auth` model (or a token claim, whose type is
//! known only at run time), and the macros. Every problem is reported with the offsets
//! of the text it is about.

mod macros;

use crate::predicate::{CompareOp, Operand, Predicate, Value};
use crate::syntax::{Expr, ExprKind, Literal, Quantifier};
use ssot_schema::ir::{Arity, FieldType, Model, ScalarType, Schema};
use std::ops::Range;

/// A problem in a rule: a stable code, a message, where, and perhaps a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    pub at: Range<usize>,
    pub help: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Bool,
    String,
    /// Int, BigInt, Float and Decimal compare with each other.
    Number,
    DateTime,
    Json,
    Bytes,
    Enum(String),
    Null,
    /// A token claim: its type is known only when a request brings it.
    Unknown,
    List(Box<Ty>),
}

impl Ty {
    fn name(&self) -> String {
        match self {
            Ty::Bool => "Boolean".into(),
            Ty::String => "String".into(),
            Ty::Number => "number".into(),
            Ty::DateTime => "DateTime".into(),
            Ty::Json => "Json".into(),
            Ty::Bytes => "Bytes".into(),
            Ty::Enum(name) => format!("enum {name}"),
            Ty::Null => "null".into(),
            Ty::Unknown => "a claim".into(),
            Ty::List(inner) => format!("list of {}", inner.name()),
        }
    }

    fn of_scalar(scalar: ScalarType) -> Ty {
        match scalar {
            ScalarType::String => Ty::String,
            ScalarType::Int | ScalarType::BigInt | ScalarType::Float | ScalarType::Decimal => Ty::Number,
            ScalarType::Boolean => Ty::Bool,
            ScalarType::DateTime => Ty::DateTime,
            ScalarType::Json => Ty::Json,
            ScalarType::Bytes => Ty::Bytes,
        }
    }
}

pub struct Checker<'s> {
    pub schema: &'s Schema,
    pub problems: Vec<Problem>,
}

fn field_type(field: &ssot_schema::ir::Field) -> Option<Ty> {
    let one = match &field.ty {
        FieldType::Scalar { scalar } => Ty::of_scalar(*scalar),
        FieldType::Enum { name } => Ty::Enum(name.to_string()),
        _ => return None,
    };
    Some(if field.arity == Arity::List { Ty::List(Box::new(one)) } else { one })
}

impl<'s> Checker<'s> {
    pub fn new(schema: &'s Schema) -> Checker<'s> {
        Checker { schema, problems: Vec::new() }
    }

    fn problem(&mut self, code: &'static str, message: impl Into<String>, at: Range<usize>, help: Option<String>) {
        self.problems.push(Problem { code, message: message.into(), at, help });
    }

    /// `expr` as a predicate on rows of `model`.
    pub fn predicate(&mut self, expr: &Expr, model: &'s Model) -> Option<Predicate> {
        match &expr.kind {
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let (a, b) = (self.predicate(a, model), self.predicate(b, model));
                let (a, b) = (a?, b?);
                Some(if matches!(expr.kind, ExprKind::And(..)) {
                    Predicate::And(vec![a, b])
                } else {
                    Predicate::Or(vec![a, b])
                })
            }
            ExprKind::Not(inner) => Some(Predicate::Not(Box::new(self.predicate(inner, model)?))),
            ExprKind::Literal(Literal::Bool(b)) => Some(Predicate::Const(*b)),
            ExprKind::Compare { op, left, right } => self.compare(op, left, right, model),
            ExprKind::Quantified { path, quantifier, body } => self.quantified(path, *quantifier, body, model),
            ExprKind::Path(names) if names.len() == 1 && self.is_macro(&names[0].0, model) => {
                self.expand_macro(&names[0].0, names[0].1.clone(), model)
            }
            _ => {
                let (operand, ty) = self.operand(expr, model)?;
                match ty {
                    Ty::Bool | Ty::Unknown => Some(Predicate::Compare {
                        op: CompareOp::Eq,
                        left: operand,
                        right: Operand::Literal(Value::Bool(true)),
                    }),
                    other => {
                        self.problem(
                            "E0504",
                            format!("a rule needs true or false here, and this is {}", other.name()),
                            expr.at.clone(),
                            Some("compare it, such as `status == \"published\"`".into()),
                        );
                        None
                    }
                }
            }
        }
    }

    fn quantified(
        &mut self,
        path: &[(String, Range<usize>)],
        quantifier: Quantifier,
        body: &Expr,
        model: &'s Model,
    ) -> Option<Predicate> {
        // Every name but the last walks to-one relations; the last is a to-many relation.
        let mut current = model;
        let mut relations = Vec::new();
        for (i, (name, at)) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let Some(field) = current.field(name) else {
                self.unknown(name, at.clone(), current);
                return None;
            };
            let FieldType::Relation { model: target, .. } = &field.ty else {
                let word = format!("{quantifier:?}").to_lowercase();
                self.problem(
                    "E0505",
                    format!("`{name}` is not a relation: `.{word}(...)` needs a list relation"),
                    at.clone(),
                    None,
                );
                return None;
            };
            if last != (field.arity == Arity::List) {
                let message = if last {
                    format!(
                        "`{name}` is a single related row, not a list: compare its fields, such as `{name}.id == ...`"
                    )
                } else {
                    format!("`{name}` is a list: use `{name}.some(...)`, `.every(...)` or `.none(...)`")
                };
                self.problem("E0505", message, at.clone(), None);
                return None;
            }
            relations.push(name.clone());
            current = self.schema.model(target)?;
        }
        let body = self.predicate(body, current)?;
        Some(Predicate::Quantified { relations, quantifier, body: Box::new(body) })
    }

    fn unknown(&mut self, name: &str, at: Range<usize>, model: &Model) {
        let names: Vec<&str> = model.fields.iter().map(|f| f.name.as_str()).collect();
        let help =
            ssot_schema::diagnostic::did_you_mean(name, names.iter().copied()).map(|n| format!("did you mean `{n}`?"));
        self.problem("E0502", format!("`{}` has no field `{name}`", model.name), at, help);
    }

    /// A value: its operand and type.
    fn operand(&mut self, expr: &Expr, model: &'s Model) -> Option<(Operand, Ty)> {
        match &expr.kind {
            ExprKind::Literal(literal) => Some(match literal {
                Literal::Str(s) => (Operand::Literal(Value::String(s.clone())), Ty::String),
                Literal::Int(i) => (Operand::Literal(Value::Int(*i)), Ty::Number),
                Literal::Float(f) => (Operand::Literal(Value::Float(*f)), Ty::Number),
                Literal::Bool(b) => (Operand::Literal(Value::Bool(*b)), Ty::Bool),
                Literal::Null => (Operand::Literal(Value::Null), Ty::Null),
            }),
            ExprKind::Now => Some((Operand::Now, Ty::DateTime)),
            ExprKind::Path(names) => self.path(names, model),
            ExprKind::List(items) => {
                let mut values = Vec::new();
                let mut ty = Ty::Unknown;
                for item in items {
                    let (operand, item_ty) = self.operand(item, model)?;
                    let Operand::Literal(value) = operand else {
                        self.problem(
                            "E0510",
                            "a list holds values only (strings, numbers, true, false)",
                            item.at.clone(),
                            None,
                        );
                        return None;
                    };
                    if ty == Ty::Unknown {
                        ty = item_ty;
                    } else if item_ty != ty {
                        self.problem(
                            "E0503",
                            format!("a list of {} cannot hold {}", ty.name(), item_ty.name()),
                            item.at.clone(),
                            None,
                        );
                        return None;
                    }
                    values.push(value);
                }
                Some((Operand::Literal(Value::List(values)), Ty::List(Box::new(ty))))
            }
            _ => {
                self.problem(
                    "E0504",
                    "this is true or false, not a value to compare",
                    expr.at.clone(),
                    Some("wrap it in parentheses inside `&&` or `||`".into()),
                );
                None
            }
        }
    }

    /// Whether `name` is the password field of `model`, the `@@auth` model.
    fn is_password(&self, model: &Model, name: &str) -> bool {
        model.annotations.auth.as_ref().is_some_and(|a| a.password_field == name)
    }

    fn path(&mut self, names: &[(String, Range<usize>)], model: &'s Model) -> Option<(Operand, Ty)> {
        let (first, first_at) = &names[0];
        if first == "auth" {
            let rest: Vec<String> = names[1..].iter().map(|(n, _)| n.clone()).collect();
            let ty = match (self.schema.auth_model(), names.get(1)) {
                (_, None) => Ty::Unknown,
                (Some(auth), Some((name, at))) => match auth.field(name) {
                    Some(field) if field.is_relation() => {
                        self.problem(
                            "E0512",
                            format!("`auth.{name}` is a relation; rules compare the caller's own fields"),
                            at.clone(),
                            None,
                        );
                        return None;
                    }
                    Some(field) if names.len() == 2 => field_type(field).unwrap_or(Ty::Unknown),
                    // Not a field of the user model: a claim of the caller's token.
                    _ => Ty::Unknown,
                },
                (None, Some(_)) => Ty::Unknown,
            };
            if let Some(auth) = self.schema.auth_model() {
                if let Some((name, at)) = names.get(1) {
                    let password = auth.annotations.auth.as_ref().map_or("password", |a| a.password_field.as_str());
                    if name == password {
                        self.problem(
                            "E0512",
                            format!("`auth.{name}` is the password, which no rule may read"),
                            at.clone(),
                            None,
                        );
                        return None;
                    }
                }
            }
            return Some((Operand::Auth(rest), ty));
        }
        if self.is_macro(first, model) {
            self.problem(
                "E0504",
                format!("`{first}` is true or false, not a value to compare"),
                first_at.clone(),
                None,
            );
            return None;
        }
        let mut current = model;
        let mut walked = Vec::new();
        for (i, (name, at)) in names.iter().enumerate() {
            let Some(field) = current.field(name) else {
                self.unknown(name, at.clone(), current);
                return None;
            };
            walked.push(name.clone());
            let last = i + 1 == names.len();
            match &field.ty {
                FieldType::Relation { model: target, .. } => {
                    if field.arity == Arity::List {
                        self.problem(
                            "E0505",
                            format!("`{name}` is a list: use `{name}.some(...)`, `.every(...)` or `.none(...)`"),
                            at.clone(),
                            None,
                        );
                        return None;
                    }
                    if last {
                        self.problem(
                            "E0505",
                            format!("`{name}` is a related row: compare one of its fields, such as `{name}.id`"),
                            at.clone(),
                            None,
                        );
                        return None;
                    }
                    current = self.schema.model(target)?;
                }
                _ if !last => {
                    self.problem(
                        "E0505",
                        format!("`{name}` is not a relation: nothing follows its `.`"),
                        names[i + 1].1.clone(),
                        None,
                    );
                    return None;
                }
                _ => {
                    if self.is_password(current, name) {
                        self.problem(
                            "E0512",
                            format!("`{name}` is the password of `{}`, which no rule may read", current.name),
                            at.clone(),
                            None,
                        );
                        return None;
                    }
                    let Some(ty) = field_type(field) else {
                        self.problem("E0503", format!("`{name}` has a type rules cannot read"), at.clone(), None);
                        return None;
                    };
                    return Some((Operand::Field(walked), ty));
                }
            }
        }
        None
    }

    fn compare(&mut self, op: &'static str, left: &Expr, right: &Expr, model: &'s Model) -> Option<Predicate> {
        let l = self.operand(left, model);
        let r = self.operand(right, model);
        let ((left_op, left_ty), (right_op, right_ty)) = (l?, r?);
        let at = left.at.start..right.at.end;
        if op == "in" {
            let element = match &right_ty {
                Ty::List(inner) => (**inner).clone(),
                Ty::Unknown => Ty::Unknown,
                other => {
                    self.problem(
                        "E0510",
                        format!("`in` needs a list on its right, and this is {}", other.name()),
                        right.at.clone(),
                        None,
                    );
                    return None;
                }
            };
            if !self.compatible(&left_ty, &element, right, at) {
                return None;
            }
            return Some(Predicate::In { value: left_op, list: right_op });
        }
        let op = match op {
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Lte,
            ">" => CompareOp::Gt,
            _ => CompareOp::Gte,
        };
        if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            let ordered = |t: &Ty| matches!(t, Ty::Number | Ty::String | Ty::DateTime | Ty::Unknown);
            for (ty, side) in [(&left_ty, left), (&right_ty, right)] {
                if !ordered(ty) {
                    self.problem(
                        "E0511",
                        format!(
                            "{} has no order: only numbers, strings and DateTime compare with `<` and `>`",
                            ty.name()
                        ),
                        side.at.clone(),
                        None,
                    );
                    return None;
                }
            }
        }
        if !self.compatible(&left_ty, &right_ty, right, at) {
            return None;
        }
        Some(Predicate::Compare { op, left: left_op, right: right_op })
    }

    /// Whether values of `a` and `b` can be compared; reports when not. An enum compared
    /// with a string literal must name one of its values.
    fn compatible(&mut self, a: &Ty, b: &Ty, right: &Expr, at: Range<usize>) -> bool {
        let ok = match (a, b) {
            (Ty::Unknown, _) | (_, Ty::Unknown) | (Ty::Null, _) | (_, Ty::Null) => true,
            (Ty::Enum(name), Ty::String) | (Ty::String, Ty::Enum(name)) => {
                let values = literal_strings(right);
                if let Some(e) = self.schema.enums.iter().find(|e| e.name == *name) {
                    for (value, value_at) in values {
                        if !e.values.iter().any(|v| v.name == value) {
                            let names: Vec<&str> = e.values.iter().map(|v| v.name.as_str()).collect();
                            self.problem(
                                "E0509",
                                format!("`{value}` is not a value of enum {name}"),
                                value_at,
                                Some(format!("expected one of: {}", names.join(", "))),
                            );
                            return false;
                        }
                    }
                }
                true
            }
            (x, y) => x == y,
        };
        if !ok {
            self.problem("E0503", format!("{} cannot be compared with {}", a.name(), b.name()), at, None);
        }
        ok
    }
}

/// The string literals of an expression (itself, or a list's items), with their offsets.
fn literal_strings(expr: &Expr) -> Vec<(String, Range<usize>)> {
    match &expr.kind {
        ExprKind::Literal(Literal::Str(s)) => vec![(s.clone(), expr.at.clone())],
        ExprKind::List(items) => items.iter().flat_map(literal_strings).collect(),
        _ => Vec::new(),
    }
}
