//! One operation on one model, whatever carried it: REST, `$batch` and the socket's RPC
//! all describe it as a [`Request`], read it with [`Operation::read`] and run it with
//! [`run`] (`run.rs`) under the caller's [`Guard`](crate::Guard), so they cannot differ
//! in semantics or in access.
//!
//! Nothing here knows HTTP: errors are [`StoreError`]s and the answer is an [`Outcome`];
//! each transport turns them into its own form.

mod run;

pub use run::run;

use crate::Op;
use serde_json::{Map, Value as Json};
use ssot_schema::ir::ScalarType;
use ssot_store::entity::{Entities, Kind};
use ssot_store::query::args::{ArgsReader, Filter, FindArgs, Selection};
use ssot_store::query::write;
use ssot_store::search::{Query, Search};
use ssot_store::{FieldError, StoreError};

/// What a request asks of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    List,
    Get,
    Count,
    Create,
    Update,
    Delete,
    CreateMany,
    UpdateMany,
    DeleteMany,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::List,
        Action::Get,
        Action::Count,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::CreateMany,
        Action::UpdateMany,
        Action::DeleteMany,
    ];

    /// The action's name in the socket's protocol (Prisma Client's verbs).
    pub fn name(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Get => "get",
            Action::Count => "count",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::CreateMany => "createMany",
            Action::UpdateMany => "updateMany",
            Action::DeleteMany => "deleteMany",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The policy operation the action stands for.
    pub fn policy_op(self) -> Op {
        match self {
            Action::List | Action::Get | Action::Count => Op::Read,
            Action::Create | Action::CreateMany => Op::Create,
            Action::Update | Action::UpdateMany => Op::Update,
            Action::Delete | Action::DeleteMany => Op::Delete,
        }
    }

    /// Whether the action names one record by its id.
    pub fn takes_id(self) -> bool {
        matches!(self, Action::Get | Action::Update | Action::Delete)
    }

    /// Whether the action takes `data` (the record, the changes or the records).
    pub fn takes_data(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::CreateMany | Action::UpdateMany)
    }

    /// The arguments the action reads besides `data`.
    pub fn argument_names(self) -> &'static [&'static str] {
        match self {
            Action::List => &["where", "orderBy", "take", "skip", "cursor", "select", "include", "search", "highlight"],
            Action::Get | Action::Create | Action::Update | Action::Delete => &["select", "include"],
            Action::Count | Action::UpdateMany | Action::DeleteMany => &["where"],
            Action::CreateMany => &[],
        }
    }

    pub fn writes(self) -> bool {
        !matches!(self, Action::List | Action::Get | Action::Count)
    }
}

/// An operation as a transport hands it over: which model, which action, the record's id
/// (its parts in `@@id` order, as text), the arguments and the data.
#[derive(Debug, Clone)]
pub struct Request {
    pub model: usize,
    pub action: Action,
    pub id: Option<Vec<String>>,
    pub args: Map<String, Json>,
    pub data: Option<Json>,
}

/// A request read against the schema: every name looked up, every value typed.
#[derive(Debug, Clone)]
pub enum Operation {
    List { model: usize, args: FindArgs },
    Get { model: usize, key: write::Key, selection: Selection },
    Count { model: usize, filter: Filter },
    Create { model: usize, data: Json, selection: Selection },
    Update { model: usize, key: write::Key, data: Json, selection: Selection },
    Delete { model: usize, key: write::Key, selection: Selection },
    CreateMany { model: usize, data: Json },
    UpdateMany { model: usize, filter: Filter, data: Json },
    DeleteMany { model: usize, filter: Filter },
}

/// What an operation answers: its body, whether it created a record (HTTP's 201), and
/// the key of the record a create, an update or a delete wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub created: bool,
    pub body: Json,
    pub key: Option<write::Key>,
}

impl Operation {
    /// Reads `request` against the schema: unknown arguments, missing data and ids that
    /// cannot name a record are refused here, before any database work.
    pub fn read(es: &Entities, request: Request) -> Result<Operation, StoreError> {
        let Request { model, action, id, args, data } = request;
        let allowed = action.argument_names();
        if let Some(key) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
            let expected = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
            return Err(StoreError::invalid(key.clone(), format!("unknown argument; expected: {expected}")));
        }
        let key = match (action.takes_id(), id) {
            (true, Some(parts)) => Some(parse_key(es, model, &parts)?),
            (true, None) => return Err(StoreError::invalid("id", "is required: the record's id")),
            (false, Some(_)) => {
                return Err(StoreError::invalid("id", format!("`{}` takes no id", action.name())));
            }
            (false, None) => None,
        };
        let data = match (action.takes_data(), data) {
            (true, Some(data)) => Some(data),
            (true, None) => return Err(StoreError::invalid("data", data_expected(action))),
            (false, Some(_)) => {
                return Err(StoreError::invalid("data", format!("`{}` takes no data", action.name())));
            }
            (false, None) => None,
        };
        let key = || key.clone().ok_or_else(|| StoreError::invalid("id", "is required"));
        let data = || data.clone().ok_or_else(|| StoreError::invalid("data", data_expected(action)));
        Ok(match action {
            Action::List => {
                let mut args = args;
                let search = search(es, model, &mut args)?;
                let mut reader = ArgsReader::new(es);
                let found = reader.find(model, &args, "", 0);
                let mut found = reader.finish(found)?;
                found.search = search;
                Operation::List { model, args: found }
            }
            Action::Get => Operation::Get { model, key: key()?, selection: selection(es, model, &args)? },
            Action::Count => Operation::Count { model, filter: filter(es, model, args.get("where"))? },
            Action::Create => Operation::Create { model, data: data()?, selection: selection(es, model, &args)? },
            Action::Update => {
                Operation::Update { model, key: key()?, data: data()?, selection: selection(es, model, &args)? }
            }
            Action::Delete => Operation::Delete { model, key: key()?, selection: selection(es, model, &args)? },
            Action::CreateMany => Operation::CreateMany { model, data: data()? },
            Action::UpdateMany => {
                let where_ = required_where(&args)?;
                Operation::UpdateMany { model, filter: filter(es, model, Some(where_))?, data: data()? }
            }
            Action::DeleteMany => {
                let where_ = required_where(&args)?;
                Operation::DeleteMany { model, filter: filter(es, model, Some(where_))? }
            }
        })
    }

    pub fn model(&self) -> usize {
        match self {
            Operation::List { model, .. }
            | Operation::Get { model, .. }
            | Operation::Count { model, .. }
            | Operation::Create { model, .. }
            | Operation::Update { model, .. }
            | Operation::Delete { model, .. }
            | Operation::CreateMany { model, .. }
            | Operation::UpdateMany { model, .. }
            | Operation::DeleteMany { model, .. } => *model,
        }
    }

    /// Whether the operation is one statement (it then needs no transaction of its own).
    pub fn single_statement(&self) -> bool {
        match self {
            Operation::Get { selection, .. } => selection.relations.is_empty(),
            // A count through relations can be slow: a transaction in the slow lane.
            Operation::Count { filter, .. } => !filter.reaches_relations(),
            _ => false,
        }
    }

    pub fn writes(&self) -> bool {
        !matches!(self, Operation::List { .. } | Operation::Get { .. } | Operation::Count { .. })
    }

    /// The written data, for the steps that prepare it (passwords hashed, identities
    /// normalized) before it runs: the model, the data, and whether it is an update.
    pub fn data_mut(&mut self) -> Option<(usize, &mut Json, bool)> {
        match self {
            Operation::Create { model, data, .. } | Operation::CreateMany { model, data } => {
                Some((*model, data, false))
            }
            Operation::Update { model, data, .. } | Operation::UpdateMany { model, data, .. } => {
                Some((*model, data, true))
            }
            _ => None,
        }
    }
}

/// A list's `search` and `highlight`, taken out of `args`: the query parsed (a `400` with
/// the code `invalid_search` when it cannot be run, or the model has no `@@search`).
fn search(es: &Entities, model: usize, args: &mut Map<String, Json>) -> Result<Option<Search>, StoreError> {
    let highlight = match args.remove("highlight") {
        None | Some(Json::Bool(false)) => false,
        Some(Json::Bool(true)) => true,
        Some(_) => return Err(StoreError::invalid("highlight", "expected true or false")),
    };
    let text = match args.remove("search") {
        None if highlight => {
            return Err(StoreError::invalid("highlight", "needs `search`: it highlights what a search matched"));
        }
        None => return Ok(None),
        Some(Json::String(text)) => text,
        Some(_) => return Err(StoreError::invalid("search", "expected a string: the words to look for")),
    };
    let invalid = |message: String| StoreError::InvalidSearch(FieldError::new("search", message));
    if es.storage[model].search.is_none() {
        let name = &es.entities[model].name;
        return Err(invalid(format!("`{name}` has no `@@search`, so it cannot be searched")));
    }
    let query = Query::parse(&text).map_err(|e| invalid(e.to_string()))?;
    Ok(Some(Search { query, visible: Vec::new(), highlight }))
}

fn data_expected(action: Action) -> &'static str {
    match action {
        Action::Create => "is required: the new record, as an object",
        Action::Update => "is required: the changes, as an object",
        Action::CreateMany => "is required: a list of records",
        _ => "is required",
    }
}

fn required_where(args: &Map<String, Json>) -> Result<&Json, StoreError> {
    args.get("where").ok_or_else(|| StoreError::invalid("where", "is required (use {} for every record)"))
}

fn selection(es: &Entities, model: usize, args: &Map<String, Json>) -> Result<Selection, StoreError> {
    let mut reader = ArgsReader::new(es);
    let selection = reader.selection(model, args.get("select"), args.get("include"), "", 0);
    reader.finish(selection)
}

fn filter(es: &Entities, model: usize, value: Option<&Json>) -> Result<Filter, StoreError> {
    let mut reader = ArgsReader::new(es);
    let filter = match value {
        Some(w) => reader.filter(model, w, "where", 0),
        None => Filter::True,
    };
    reader.finish(filter)
}

/// A record's id from its parts (in `@@id` order, as text): each part typed as its field.
/// An id that cannot be of the field's type names no record: "not found", as a missing one.
pub fn parse_key(es: &Entities, model: usize, parts: &[String]) -> Result<write::Key, StoreError> {
    let entity = &es.entities[model];
    if parts.len() != entity.id.len() {
        let names: Vec<&str> = entity.id.iter().map(|&f| entity.fields[f].name.as_str()).collect();
        return Err(StoreError::invalid(
            "id",
            format!(
                "`{}` is identified by {} joined by commas; got {} value(s)",
                entity.name,
                names.join(", "),
                parts.len()
            ),
        ));
    }
    let mut key = Vec::with_capacity(parts.len());
    for (&f, part) in entity.id.iter().zip(parts) {
        let field = &entity.fields[f];
        let none = || StoreError::NotFound(format!("no `{}` record with {} = {part}", entity.name, field.name));
        let json = match field.kind {
            Kind::Scalar(ScalarType::Int | ScalarType::Float) => match serde_json::from_str::<Json>(part) {
                Ok(n @ Json::Number(_)) => n,
                _ => return Err(none()),
            },
            Kind::Scalar(ScalarType::Boolean) => Json::Bool(part == "true"),
            _ => Json::String(part.clone()),
        };
        let value =
            ssot_store::value::encode_one(field.kind, &es.stored_enums, es.dialect, &json).map_err(|_| none())?;
        if !ssot_store::value::fits_column(&es.column(model, f).cast, es.dialect, &value) {
            return Err(none());
        }
        key.push((f, value));
    }
    Ok(key)
}

/// An id given as JSON (the socket's form): a scalar for a one-field id, a list of scalars
/// in `@@id` order for a compound one; as the text parts [`parse_key`] reads.
pub fn id_parts(id: &Json) -> Option<Vec<String>> {
    let part = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match id {
        Json::Array(items) => items.iter().map(part).collect(),
        other => part(other).map(|p| vec![p]),
    }
}
