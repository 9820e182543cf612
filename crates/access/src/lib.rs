//! `ssot-access`: who may do what.
//!
//! The schema's `@@policy` rules enter once, at start ([`Policies::compile`]), as typed
//! predicates per model, operation and guarded field. Each request then builds a
//! [`Guard`] from its [`Caller`], which:
//!
//! - rewrites a read's arguments ([`Guard::find`], [`Guard::count_filter`]) so that the
//!   database returns only rows, related rows and fields the caller may read, and so
//!   that no filter, order or cursor can tell a hidden value from another;
//! - checks a write before it runs ([`Guard::check_data`]: write-guarded fields, the rows
//!   it links), is the write's view of which rows exist (it implements the store's
//!   `Visible`, so a hidden row is looked up as a missing one), and checks the write
//!   after it runs, inside its transaction, against every row it changed as the change
//!   log recorded it ([`Guard::verify_changes`]).
//!
//! Every transport describes what it asks as an [`operation::Request`] and runs it with
//! [`operation::run`], so REST, `$batch` and the socket's RPC cannot differ.
//!
//! Invariants: no policy for an operation means nobody may do it; a row the caller may
//! not read is "not found", never "forbidden"; the `@@auth` model's password field is
//! never shown, filtered or ordered by, whoever asks. The admin key skips the rules (but
//! not the password's invisibility).

mod caller;
pub mod operation;
mod reads;
mod verify;
mod writes;

pub use caller::Caller;
pub use ssot_policy::rules::{AuthModel, CompileError, Op, Policies};
pub use writes::After;

use ssot_policy::eval::Context;
use ssot_store::entity::Entities;
use ssot_store::query::args::Filter;
use ssot_store::query::policy::to_filter;
use ssot_store::StoreError;

/// One request's view of the policies: the caller, and the time `now()` stands for.
pub struct Guard<'a> {
    pub policies: &'a Policies,
    pub entities: &'a Entities,
    pub caller: &'a Caller,
    /// `now()`, fixed at the first rule that reads it.
    now: std::cell::OnceCell<String>,
    /// Row filters built for this request so far, by model and operation.
    known: std::cell::RefCell<Vec<KnownRows>>,
    /// Sign-up's door into the auth model, when this guard runs a sign-up.
    door: Option<Door>,
}

/// The `@@auth` model's own door, through which sign-up creates a user: the model's
/// row-level `create` rule does not apply (a visitor signing up is no one the rule
/// could name yet), and the identity and password fields are set whatever rules read
/// them. Every other field is checked as for any anonymous create: ids the database
/// generates, fields rules read as `auth.<field>`, and field rules that do not hold are
/// refused; foreign keys may name only rows an anonymous caller may read.
#[derive(Debug, Clone)]
pub struct Door {
    pub model: usize,
    /// The identity and password fields.
    pub fields: Vec<usize>,
}

/// The rows of a model a caller may `op`, as a filter: built once per request.
pub type KnownRows = (usize, Op, Filter);

impl<'a> Guard<'a> {
    pub fn new(policies: &'a Policies, entities: &'a Entities, caller: &'a Caller) -> Guard<'a> {
        Guard { policies, entities, caller, now: std::cell::OnceCell::new(), known: Default::default(), door: None }
    }

    /// This guard, creating through sign-up's [`Door`].
    pub fn through(mut self, door: Door) -> Self {
        self.door = Some(door);
        self
    }

    /// Whether `field` of `model` is set through the door when `op` runs.
    fn door_opens(&self, model: usize, op: Op, field: Option<usize>) -> bool {
        self.door.as_ref().is_some_and(|door| {
            door.model == model && op == Op::Create && field.is_none_or(|f| door.fields.contains(&f))
        })
    }

    /// This guard, starting with row filters an earlier guard of the same request built
    /// (see [`Guard::into_known_rows`]).
    pub fn with_known_rows(self, known: Vec<KnownRows>) -> Self {
        self.known.borrow_mut().extend(known);
        self
    }

    /// The row filters built so far, to hand to the guard that runs the request.
    pub fn into_known_rows(self) -> Vec<KnownRows> {
        self.known.into_inner()
    }

    pub fn is_admin(&self) -> bool {
        matches!(self.caller, Caller::Admin)
    }

    fn context(&self) -> Context<'_> {
        let now = self.now.get_or_init(|| {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            ssot_store::time::format(ms)
        });
        Context { auth: self.caller.auth(), now }
    }

    /// The rows of `model` the caller may `op`, as a filter (`TRUE` for the admin).
    pub fn rows(&self, model: usize, op: Op) -> Result<Filter, StoreError> {
        if self.is_admin() || self.door_opens(model, op, None) {
            return Ok(Filter::True);
        }
        if let Some((_, _, filter)) = self.known.borrow().iter().find(|(m, o, _)| *m == model && *o == op) {
            return Ok(filter.clone());
        }
        let filter = match self.policies.rule(model, op) {
            Some(predicate) => to_filter(self.entities, model, predicate, &self.context())?,
            None => Filter::Or(Vec::new()),
        };
        self.known.borrow_mut().push((model, op, filter.clone()));
        Ok(filter)
    }

    /// Where the caller may `op` field `field` of `model` (on top of the row's own rule):
    /// `TRUE` for an unguarded field.
    pub fn field(&self, model: usize, field: usize, op: Op) -> Result<Filter, StoreError> {
        self.guard_filter(self.policies.field_rule(model, field, op), model)
    }

    /// Where the caller may read relation `relation` of `model`: `TRUE` when unguarded.
    pub fn relation(&self, model: usize, relation: usize) -> Result<Filter, StoreError> {
        self.guard_filter(self.policies.relation_rule(model, relation), model)
    }

    /// Where `predicate` (a rule of `model`, such as a `@@realtime` permission) holds for
    /// this caller, as a filter (`TRUE` for the admin).
    pub fn predicate_filter(
        &self,
        model: usize,
        predicate: &ssot_policy::predicate::Predicate,
    ) -> Result<Filter, StoreError> {
        self.guard_filter(Some(predicate), model)
    }

    fn guard_filter(
        &self,
        rule: Option<&ssot_policy::predicate::Predicate>,
        model: usize,
    ) -> Result<Filter, StoreError> {
        match rule {
            Some(predicate) if !self.is_admin() => to_filter(self.entities, model, predicate, &self.context()),
            _ => Ok(Filter::True),
        }
    }
}
