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

impl Predicate {
    /// Whether deciding it needs a row at all (a field, a relation or the time).
    pub fn reads_row(&self) -> bool {
        self.any_operand(&|o| matches!(o, Operand::Field(_) | Operand::Now))
    }

    /// Whether it reaches through a relation (a row alone, as the change log holds it, cannot decide it).
    pub fn reads_relations(&self) -> bool {
        self.any_operand(&|o| matches!(o, Operand::Field(path) if path.len() > 1))
    }

    fn any_operand(&self, f: &dyn Fn(&Operand) -> bool) -> bool {
        match self {
            Predicate::Const(_) => false,
            Predicate::And(items) | Predicate::Or(items) => items.iter().any(|p| p.any_operand(f)),
            Predicate::Not(inner) => inner.any_operand(f),
            Predicate::Compare { left, right, .. } => f(left) || f(right),
            Predicate::In { value, list } => f(value) || f(list),
            // A quantifier reads related rows: it reads the row, and through a relation.
            Predicate::Quantified { .. } => f(&Operand::Field(vec![String::new(), String::new()])),
        }
    }
}
