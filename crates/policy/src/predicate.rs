//! The typed predicate a rule compiles to: names resolved, macros expanded, types
//! checked. The store turns it into SQL and the realtime gateway evaluates it in memory.

pub use crate::syntax::Quantifier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field of the row, through to-one relations: `["author", "orgId"]`.
    Field(Vec<String>),
    /// The caller: `[]` is the caller itself (null when anonymous), `["id"]` a field or claim.
    Auth(Vec<String>),
    Literal(Value),
    Now,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Const(bool),
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Not(Box<Predicate>),
    /// A comparison; with null on either side it is false (`!=` too), except the
    /// presence checks `auth == null` and `auth != null`.
    Compare {
        op: CompareOp,
        left: Operand,
        right: Operand,
    },
    In {
        value: Operand,
        list: Operand,
    },
    /// `members.some(...)`: the relation path from the row (to-one steps, then one
    /// to-many relation) and the predicate on the related rows.
    Quantified {
        relations: Vec<String>,
        quantifier: Quantifier,
        body: Box<Predicate>,
    },
}
