//! Reading a request's Prisma-style arguments (`where`, `orderBy`, `take`, `skip`,
//! `cursor`, `select`, `include`) into typed, schema-checked form.
//!
//! Every field name is looked up in the schema here: an unknown name is an error naming
//! the path, so no text from a request ever reaches SQL except as a bound value.

mod filters;
mod order;

use crate::conn::Value;
use crate::entity::{Entities, Entity, Kind};
use crate::error::{FieldError, StoreError};
use crate::value::{encode_one, whole};
use serde_json::{Map, Value as Json};
use ssot_schema::ir::ScalarType;

/// The most rows one request may ask for, and how many a list returns when it does not say.
pub use ssot_shape::limits::{DEFAULT_TAKE, MAX_TAKE};
/// How deep `where`, `select` and `include` may nest.
const MAX_DEPTH: usize = 16;

/// Limits on the cost a request's arguments can ask for. Each relation filter
/// (`some`, `every`, `none`, `is`, `isNot`) is a correlated subquery, and nesting them
/// multiplies their cost, so both the number and the nesting are bounded; real apps'
/// queries stay well inside the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Relation filters nested inside each other (`author.is.posts.some` is 2).
    pub relation_depth: usize,
    /// Relation filters in the whole request (`where`, and those of its `include`s).
    pub relation_filters: usize,
}

impl Default for QueryLimits {
    fn default() -> QueryLimits {
        QueryLimits { relation_depth: 4, relation_filters: 16 }
    }
}

#[derive(Debug, Clone)]
pub struct FindArgs {
    pub filter: Filter,
    pub order: Vec<Order>,
    pub take: Option<i64>,
    pub skip: i64,
    /// A unique field set and its values: the list starts at that row.
    pub cursor: Option<Vec<(usize, Value)>>,
    pub selection: Selection,
    /// A full-text search (top-level lists of `@@search` models only): the rows must
    /// match it, and without `orderBy` they come by relevance.
    pub search: Option<crate::search::Search>,
}

#[derive(Debug, Clone)]
pub struct Selection {
    /// Scalar fields to return, in schema order.
    pub fields: Vec<usize>,
    /// Relations to return, each with its own arguments.
    pub relations: Vec<(usize, FindArgs)>,
    /// Selected fields and relations shown only on rows where their filter holds
    /// (field-level read rules); elsewhere they are left out of the row.
    pub guards: Vec<(Guarded, Filter)>,
}

/// What a selection guard hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    Field(usize),
    Relation(usize),
}

impl Selection {
    /// These scalar fields, no relations, no guards.
    pub fn fields(fields: Vec<usize>) -> Selection {
        Selection { fields, relations: Vec::new(), guards: Vec::new() }
    }

    /// Every scalar field of `entity`: what a row shows when nothing is selected.
    pub fn every_field(entity: &Entity) -> Selection {
        Selection::fields((0..entity.fields.len()).collect())
    }
}

/// The comparison operators: the rule language's own, so a policy's comparison is a
/// `where` comparison without translation.
pub use ssot_policy::predicate::CompareOp as Cmp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOp {
    Has,
    HasEvery,
    HasSome,
    IsEmpty(bool),
    Equals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Some,
    Every,
    None,
    Is,
    IsNot,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    True,
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        field: usize,
        cmp: Cmp,
        value: Value,
        insensitive: bool,
    },
    Null {
        field: usize,
        is_null: bool,
    },
    In {
        field: usize,
        values: Vec<Value>,
        negated: bool,
        insensitive: bool,
    },
    Text {
        field: usize,
        op: TextOp,
        value: String,
        insensitive: bool,
    },
    Relation {
        relation: usize,
        quantifier: Quantifier,
        filter: Box<Filter>,
    },
    /// A to-one relation is absent (`is: null`) or present (`isNot: null`).
    RelationNull {
        relation: usize,
        is_null: bool,
    },
    /// A condition on a scalar list (PostgreSQL): `has`, `hasEvery`, `hasSome`, `isEmpty`, `equals`.
    List {
        field: usize,
        op: ListOp,
        values: Vec<Value>,
    },
}

impl Filter {
    /// Whether it reaches into related rows (then it can be slow: see [`QueryLimits`]).
    pub fn reaches_relations(&self) -> bool {
        match self {
            Filter::Relation { .. } | Filter::RelationNull { .. } => true,
            Filter::And(parts) | Filter::Or(parts) => parts.iter().any(Filter::reaches_relations),
            Filter::Not(inner) => inner.reaches_relations(),
            _ => false,
        }
    }

    /// Adds to `out` (once each) the models this filter on `model` reads through relations.
    pub fn related_models(&self, es: &crate::entity::Entities, model: usize, out: &mut Vec<usize>) {
        match self {
            Filter::And(parts) | Filter::Or(parts) => parts.iter().for_each(|p| p.related_models(es, model, out)),
            Filter::Not(inner) => inner.related_models(es, model, out),
            Filter::Relation { relation, filter, .. } => {
                let target = es.entities[model].relations[*relation].target;
                if !out.contains(&target) {
                    out.push(target);
                }
                filter.related_models(es, target, out);
            }
            Filter::RelationNull { relation, .. } => {
                let target = es.entities[model].relations[*relation].target;
                if !out.contains(&target) {
                    out.push(target);
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone)]
pub enum Order {
    Field {
        field: usize,
        desc: bool,
        nulls_last: Option<bool>,
        /// Where this filter fails, the field orders as null (a field-level read rule).
        guard: Option<Filter>,
    },
    /// A field of a to-one relation's row; `scope` is which related rows count.
    Related { relation: usize, field: usize, desc: bool, scope: Filter },
    /// The number of rows of a to-many relation that match `scope`.
    Count { relation: usize, desc: bool, scope: Filter },
}

/// Reads arguments for one model; collects every error before giving up.
pub struct ArgsReader<'a> {
    pub entities: &'a Entities,
    pub errors: Vec<FieldError>,
    /// Relation filters read so far, and how deep the one being read is nested.
    relation_filters: usize,
    relation_depth: usize,
    /// The first limit of [`QueryLimits`] the arguments went past.
    too_complex: Option<StoreError>,
}

impl<'a> ArgsReader<'a> {
    pub fn new(entities: &'a Entities) -> ArgsReader<'a> {
        ArgsReader { entities, errors: Vec::new(), relation_filters: 0, relation_depth: 0, too_complex: None }
    }

    pub fn finish<T>(self, value: T) -> Result<T, StoreError> {
        if let Some(e) = self.too_complex {
            return Err(e);
        }
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(StoreError::Invalid(self.errors))
        }
    }

    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    fn entity(&self, model: usize) -> &'a Entity {
        &self.entities.entities[model]
    }

    /// The arguments of a list (`where`, `orderBy`, `take`, `skip`, `cursor`, `select`,
    /// `include`) from one JSON object; `path` prefixes error paths.
    pub fn find(&mut self, model: usize, args: &Map<String, Json>, path: &str, depth: usize) -> FindArgs {
        let known = ["where", "orderBy", "take", "skip", "cursor", "select", "include"];
        for key in args.keys() {
            if !known.contains(&key.as_str()) {
                self.error(&join(path, key), format!("unknown argument; expected one of: {}", known.join(", ")));
            }
        }
        let filter = match args.get("where") {
            Some(w) => self.filter(model, w, &join(path, "where"), depth),
            None => Filter::True,
        };
        let order = match args.get("orderBy") {
            Some(o) => self.order(model, o, &join(path, "orderBy")),
            None => Vec::new(),
        };
        // A negative `take` pages backwards (from the cursor, or from the end): top level only.
        let take = match args.get("take") {
            Some(t) if depth == 0 && whole(t).is_some_and(|n| n < 0) => match whole(t) {
                Some(n) if n >= -MAX_TAKE => Some(n),
                _ => {
                    self.error(&join(path, "take"), format!("must be at least -{MAX_TAKE}"));
                    None
                }
            },
            Some(t) => self.count_arg(t, &join(path, "take"), MAX_TAKE),
            None => None,
        };
        let skip = args.get("skip").and_then(|s| self.count_arg(s, &join(path, "skip"), i64::MAX)).unwrap_or(0);
        let cursor = args.get("cursor").and_then(|c| self.unique(model, c, &join(path, "cursor")));
        let selection = self.selection(model, args.get("select"), args.get("include"), path, depth);
        FindArgs { filter, order, take, skip, cursor, selection, search: None }
    }

    fn count_arg(&mut self, value: &Json, path: &str, max: i64) -> Option<i64> {
        match whole(value) {
            Some(n) if n < 0 => {
                self.error(path, "must not be negative");
                None
            }
            Some(n) if n > max => {
                self.error(path, format!("must be at most {max}"));
                None
            }
            Some(n) => Some(n),
            None => {
                self.error(path, "expected a whole number");
                None
            }
        }
    }

    /// Every scalar field, no relations: what a row shows when nothing is selected.
    pub fn default_selection(&self, model: usize) -> Selection {
        Selection::every_field(self.entity(model))
    }

    pub fn selection(
        &mut self,
        model: usize,
        select: Option<&Json>,
        include: Option<&Json>,
        path: &str,
        depth: usize,
    ) -> Selection {
        if depth > MAX_DEPTH {
            self.error(path, format!("nested more than {MAX_DEPTH} levels deep"));
            return self.default_selection(model);
        }
        let entity = self.entity(model);
        match (select, include) {
            (Some(_), Some(_)) => {
                self.error(path, "use either `select` or `include`, not both");
                self.default_selection(model)
            }
            (None, None) => self.default_selection(model),
            (Some(select), None) => {
                let Some(object) = select.as_object() else {
                    self.error(&join(path, "select"), "expected an object of field names");
                    return self.default_selection(model);
                };
                let mut fields = Vec::new();
                let mut relations = Vec::new();
                for (name, value) in object {
                    let here = join(&join(path, "select"), name);
                    if let Some(i) = entity.field(name) {
                        match value {
                            Json::Bool(true) => fields.push(i),
                            Json::Bool(false) => {}
                            _ => self.error(&here, "expected true or false"),
                        }
                    } else if let Some(r) = entity.relation(name) {
                        if let Some(args) = self.relation_args(model, r, value, &here, depth) {
                            relations.push((r, args));
                        }
                    } else {
                        self.unknown_field(entity, &here, name);
                    }
                }
                fields.sort_unstable();
                Selection { fields, relations, guards: Vec::new() }
            }
            (None, Some(include)) => {
                let Some(object) = include.as_object() else {
                    self.error(&join(path, "include"), "expected an object of relation names");
                    return self.default_selection(model);
                };
                let mut selection = self.default_selection(model);
                for (name, value) in object {
                    let here = join(&join(path, "include"), name);
                    if let Some(r) = entity.relation(name) {
                        if let Some(args) = self.relation_args(model, r, value, &here, depth) {
                            selection.relations.push((r, args));
                        }
                    } else if entity.field(name).is_some() {
                        self.error(&here, "is a scalar field, always included; `include` takes relations");
                    } else {
                        self.unknown_field(entity, &here, name);
                    }
                }
                selection
            }
        }
    }

    fn relation_args(&mut self, model: usize, r: usize, value: &Json, path: &str, depth: usize) -> Option<FindArgs> {
        let relation = &self.entity(model).relations[r];
        let target = relation.target;
        match value {
            Json::Bool(true) => Some(FindArgs {
                filter: Filter::True,
                order: Vec::new(),
                take: None,
                skip: 0,
                cursor: None,
                selection: self.default_selection(target),
                search: None,
            }),
            Json::Bool(false) => None,
            Json::Object(args) => {
                if args.contains_key("cursor") {
                    self.error(
                        &join(path, "cursor"),
                        "`cursor` pages top-level lists only; use `where` and `take` here",
                    );
                }
                if !relation.list {
                    for key in ["where", "orderBy", "take", "skip"] {
                        if args.contains_key(key) {
                            self.error(&join(path, key), "a to-one relation takes only `select` or `include`");
                        }
                    }
                }
                Some(self.find(target, args, path, depth + 1))
            }
            _ => {
                self.error(path, "expected true, false or an object of arguments");
                None
            }
        }
    }

    fn unknown_field(&mut self, entity: &Entity, path: &str, name: &str) {
        self.errors.push(unknown_field(entity, path, name));
    }

    /// A unique selector (`{"id": 1}` or `{"email": "a@b"}`): the fields of one of the
    /// model's unique sets, with their values.
    pub fn unique(&mut self, model: usize, value: &Json, path: &str) -> Option<Vec<(usize, Value)>> {
        let entity = self.entity(model);
        let Some(object) = value.as_object() else {
            self.error(path, "expected an object naming a unique field, such as {\"id\": ...}");
            return None;
        };
        let mut pairs = Vec::new();
        for (name, v) in object {
            let here = join(path, name);
            let Some(i) = entity.field(name) else {
                self.unknown_field(entity, &here, name);
                return None;
            };
            match encode_one(entity.fields[i].kind, &self.entities.stored_enums, self.entities.dialect, v) {
                Ok(encoded) => pairs.push((i, encoded)),
                Err(message) => {
                    self.error(&here, message);
                    return None;
                }
            }
        }
        let mut given: Vec<usize> = pairs.iter().map(|(i, _)| *i).collect();
        given.sort_unstable();
        let is_unique = entity.uniques.iter().any(|set| {
            let mut set = set.clone();
            set.sort_unstable();
            set == given
        });
        if !is_unique {
            let sets: Vec<String> = entity
                .uniques
                .iter()
                .map(|s| s.iter().map(|&i| entity.fields[i].name.as_str()).collect::<Vec<_>>().join(" + "))
                .collect();
            self.error(
                path,
                format!("must name exactly one unique field set of `{}`: {}", entity.name, sets.join(", ")),
            );
            return None;
        }
        Some(pairs)
    }
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// "`Post` has no field `titel` (did you mean `title`?)".
pub fn unknown_field(entity: &Entity, path: &str, name: &str) -> FieldError {
    let names = entity.field_names();
    let hint = ssot_schema::diagnostic::did_you_mean(name, names.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    FieldError::new(path, format!("`{}` has no field `{name}`{hint}", entity.name))
}
