//! What a subscription watches: a channel (`Post:list`, `Post:item:5`) and its options read
//! into a [`LiveQuery`], checked against the model's `@@realtime` (which kinds exist, who may
//! subscribe), and run under the subscriber's guard.

use crate::diff::Row;
use crate::SubscribeError;
use serde_json::{Map, Value as Json};
use ssot_access::operation::parse_key;
use ssot_access::{Caller, Guard, Op, Policies};
use ssot_schema::annotations::SubscribeKind;
use ssot_store::conn::Conn;
use ssot_store::entity::Entities;
use ssot_store::query::args::{ArgsReader, Filter, FindArgs};
use ssot_store::query::read;
use ssot_store::StoreError;

/// A subscription's query: a model's rows as a list (a live query with the REST list
/// options), or one record.
#[derive(Debug, Clone)]
pub struct LiveQuery {
    pub model: usize,
    pub kind: SubscribeKind,
    /// The rows asked for (for an item, its key and selection); the subscriber's rules
    /// are added when it runs.
    pub args: FindArgs,
    /// The options as given, for telling equal queries apart.
    pub text: String,
}

/// Reads `channel` (`Model:list` or `Model:item:<id>`, a compound id's parts joined by
/// `,`) and `args` into a query, and refuses what `@@realtime` does not offer.
pub fn read_query(
    es: &Entities,
    realtime: &crate::Realtime,
    channel: &str,
    args: Map<String, Json>,
) -> Result<LiveQuery, SubscribeError> {
    let (name, kind, id) = split_channel(channel);
    let model = es.by_name(name).ok_or_else(|| {
        SubscribeError::refused(
            "unknown_channel",
            format!("no model `{name}`: channels are `Model:list` and `Model:item:<id>`"),
        )
    })?;
    let kind = match (kind, id) {
        (Some("list"), None) => SubscribeKind::List,
        (Some("item"), Some(id)) if !id.is_empty() => SubscribeKind::Item,
        _ => {
            return Err(SubscribeError::refused(
                "unknown_channel",
                format!("`{channel}` is not a channel: use `{name}:list` or `{name}:item:<id>`"),
            ))
        }
    };
    if !realtime.offers(model, kind) {
        return Err(SubscribeError::refused(
            "not_subscribable",
            format!("`{name}` offers no `{}` subscription (see its `@@realtime`)", kind_name(kind)),
        ));
    }
    let text = format!("{channel} {}", Json::Object(args.clone()));
    let allowed: &[&str] = match kind {
        SubscribeKind::List => &["where", "orderBy", "take", "skip", "select", "include"],
        SubscribeKind::Item => &["select", "include"],
    };
    if args.contains_key("search") || args.contains_key("highlight") {
        // A live search would have to re-rank on every change: read it with `request`.
        return Err(SubscribeError::Store(StoreError::invalid(
            if args.contains_key("search") { "search" } else { "highlight" },
            "live queries do not search: run the search as a request (`list` with `search`) and subscribe without it",
        )));
    }
    if let Some(key) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(SubscribeError::Store(StoreError::invalid(
            key.clone(),
            format!("unknown argument; expected: {}", allowed.join(", ")),
        )));
    }
    let mut reader = ArgsReader::new(es);
    let mut args = match kind {
        SubscribeKind::List => {
            let found = reader.find(model, &args, "", 0);
            reader.finish(found)?
        }
        SubscribeKind::Item => {
            let selection = reader.selection(model, args.get("select"), args.get("include"), "", 0);
            let selection = reader.finish(selection)?;
            let parts: Vec<String> = id.unwrap_or_default().split(',').map(str::to_string).collect();
            let key = parse_key(es, model, &parts)?;
            read::key_args(&key, &selection)
        }
    };
    // Rows are told apart by their id: it is always read.
    for &f in &es.entities[model].id {
        if !args.selection.fields.contains(&f) {
            args.selection.fields.push(f);
        }
    }
    Ok(LiveQuery { model, kind, args, text })
}

/// A channel's parts: `Model:kind:<id>` as the model's name, the kind and the id (the
/// id's `:`s, if any, kept).
pub(crate) fn split_channel(channel: &str) -> (&str, Option<&str>, Option<&str>) {
    let mut parts = channel.splitn(3, ':');
    (parts.next().unwrap_or_default(), parts.next(), parts.next())
}

pub fn kind_name(kind: SubscribeKind) -> &'static str {
    match kind {
        SubscribeKind::List => "list",
        SubscribeKind::Item => "item",
    }
}

/// The models whose rules a run of `query` applies: its own, and those of the relations
/// it includes or filters by (theirs in turn), each once.
pub fn models_read(es: &Entities, query: &LiveQuery) -> Vec<usize> {
    fn add(out: &mut Vec<usize>, model: usize) {
        if !out.contains(&model) {
            out.push(model);
        }
    }
    fn args_models(es: &Entities, model: usize, args: &FindArgs, out: &mut Vec<usize>) {
        add(out, model);
        args.filter.related_models(es, model, out);
        // An order through a relation reads that model's rows under its rules.
        for order in &args.order {
            if let ssot_store::query::args::Order::Related { relation, .. }
            | ssot_store::query::args::Order::Count { relation, .. } = order
            {
                add(out, es.entities[model].relations[*relation].target);
            }
        }
        for (relation, nested) in &args.selection.relations {
            args_models(es, es.entities[model].relations[*relation].target, nested, out);
        }
    }
    let mut out = Vec::new();
    args_models(es, query.model, &query.args, &mut out);
    out
}

/// Refuses a subscriber no rule could admit: no read rule open to them, or a
/// `@@realtime` permission that cannot hold for them.
pub fn authorize(
    es: &Entities,
    policies: &Policies,
    realtime: &crate::Realtime,
    caller: &Caller,
    query: &LiveQuery,
) -> Result<(), SubscribeError> {
    let guard = Guard::new(policies, es, caller);
    let read_rows = guard.rows(query.model, Op::Read)?;
    let permitted = permission(&guard, realtime, query)?;
    if ssot_store::query::policy::is_false(&read_rows) || ssot_store::query::policy::is_false(&permitted) {
        let name = &es.entities[query.model].name;
        let code = if matches!(caller, Caller::Anonymous) { "unauthorized" } else { "forbidden" };
        return Err(SubscribeError::refused(
            code,
            format!("no rule lets this caller subscribe to `{name}` ({})", kind_name(query.kind)),
        ));
    }
    Ok(())
}

/// What lets a batch skip this query for this caller without running it
/// ([`crate::narrow`]); `None` when its rules reach other models.
pub fn narrow(
    es: &Entities,
    policies: &Policies,
    realtime: &crate::Realtime,
    caller: &Caller,
    query: &LiveQuery,
) -> Option<crate::narrow::Narrow> {
    let guard = Guard::new(policies, es, caller);
    let permitted = permission(&guard, realtime, query).ok()?;
    crate::narrow::Narrow::of(es, policies, caller, query.model, &query.args, permitted)
}

/// The rows the model's `@@realtime` permission admits for this subscriber.
fn permission(guard: &Guard<'_>, realtime: &crate::Realtime, query: &LiveQuery) -> Result<Filter, StoreError> {
    if guard.is_admin() {
        return Ok(Filter::True);
    }
    match realtime.permission(query.model, query.kind) {
        Some(predicate) => guard.predicate_filter(query.model, predicate),
        None => Ok(Filter::Or(Vec::new())),
    }
}

/// Runs `query` for `caller` on `conn` (inside a read transaction): the rows they may see,
/// as they may see them.
pub fn run(
    conn: &mut dyn Conn,
    es: &Entities,
    policies: &Policies,
    realtime: &crate::Realtime,
    caller: &Caller,
    query: &LiveQuery,
) -> Result<Vec<Row>, StoreError> {
    let args = guarded(es, policies, realtime, caller, query)?;
    let rows = read::find(conn, es, query.model, &args)?;
    Ok(rows_of(es, query.model, rows))
}

/// [`run`] for several subscribers' queries at once: those of one model, under their
/// callers' rules, read in one statement where the store can ([`read::find_each`]); one
/// query's failure (its rules, or its read) is its own. Also says how many statements
/// read the rows.
pub fn run_each(
    conn: &mut dyn Conn,
    es: &Entities,
    policies: &Policies,
    realtime: &crate::Realtime,
    each: &[(&Caller, &LiveQuery)],
) -> (Vec<Result<Vec<Row>, StoreError>>, u64) {
    let mut statements = 0;
    let mut results: Vec<Option<Result<Vec<Row>, StoreError>>> = each.iter().map(|_| None).collect();
    let mut by_model: Vec<(usize, Vec<(usize, FindArgs)>)> = Vec::new();
    for (i, (caller, query)) in each.iter().enumerate() {
        match guarded(es, policies, realtime, caller, query) {
            Err(e) => results[i] = Some(Err(e)),
            Ok(args) => match by_model.iter_mut().find(|(m, _)| *m == query.model) {
                Some((_, reads)) => reads.push((i, args)),
                None => by_model.push((query.model, vec![(i, args)])),
            },
        }
    }
    for (model, reads) in
        by_model.iter().flat_map(|(m, reads)| reads.chunks(MAX_READS_PER_STATEMENT).map(move |c| (*m, c)))
    {
        let all: Vec<&FindArgs> = reads.iter().map(|(_, args)| args).collect();
        let (rows, ran) = read::find_each(conn, es, model, &all);
        statements += ran;
        for ((i, _), rows) in reads.iter().zip(rows) {
            results[*i] = Some(rows.map(|rows| rows_of(es, model, rows)));
        }
    }
    (results.into_iter().map(|r| r.unwrap_or_else(|| Ok(Vec::new()))).collect(), statements)
}

/// The most groups' reads in one statement: SQLite takes at most 500 terms in a compound
/// `SELECT`, and a statement of thousands would cost more to plan than it saves.
const MAX_READS_PER_STATEMENT: usize = 100;

/// `query`'s arguments under `caller`'s rules and the model's `@@realtime` permission.
fn guarded(
    es: &Entities,
    policies: &Policies,
    realtime: &crate::Realtime,
    caller: &Caller,
    query: &LiveQuery,
) -> Result<FindArgs, StoreError> {
    let guard = Guard::new(policies, es, caller);
    let mut args = query.args.clone();
    let permitted = permission(&guard, realtime, query)?;
    args.filter = Filter::And(vec![std::mem::replace(&mut args.filter, Filter::True), permitted]);
    guard.find(query.model, &mut args)?;
    Ok(args)
}

/// Rows as the live view keeps them: each with its id.
fn rows_of(es: &Entities, model: usize, rows: Vec<Json>) -> Vec<Row> {
    let entity = &es.entities[model];
    rows.into_iter()
        .map(|data| {
            let parts: Vec<Json> = entity.id.iter().map(|&f| data[entity.fields[f].name.as_str()].clone()).collect();
            let id = if parts.len() == 1 { parts.into_iter().next().unwrap_or(Json::Null) } else { Json::Array(parts) };
            Row { id, data }
        })
        .collect()
}
