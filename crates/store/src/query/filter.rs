//! `where` and `orderBy` as SQL.
//!
//! Logic is two-valued, as the API promises: a comparison with null is false, and `NOT`
//! of something false is true. SQL's third value appears only under `NOT`, so `NOT` is
//! written `NOT COALESCE(x, FALSE)` and everything else stays plain (and indexable).

use super::args::{Cmp, Filter, ListOp, Order, Quantifier, TextOp};
use crate::dialect::Dialect;
use crate::entity::{Entities, JoinTable, Link};
use crate::sql::Sql;

/// Hands out table aliases (`t0`, `t1`, ...) unique within one statement.
#[derive(Default)]
pub struct Aliases(u32);

impl Aliases {
    pub fn fresh(&mut self) -> String {
        self.0 += 1;
        format!("t{}", self.0)
    }
}

pub fn write_filter(sql: &mut Sql, es: &Entities, model: usize, alias: &str, filter: &Filter, aliases: &mut Aliases) {
    let entity = &es.entities[model];
    let columns = &es.storage[model].columns;
    match filter {
        Filter::True => {
            sql.push("TRUE");
        }
        Filter::And(parts) | Filter::Or(parts) => {
            if parts.is_empty() {
                // An empty AND holds; an empty OR does not (as in Prisma).
                sql.push(if matches!(filter, Filter::And(_)) { "TRUE" } else { "FALSE" });
                return;
            }
            let joiner = if matches!(filter, Filter::And(_)) { " AND " } else { " OR " };
            sql.push("(");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push(joiner);
                }
                write_filter(sql, es, model, alias, part, aliases);
            }
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("NOT COALESCE(");
            write_filter(sql, es, model, alias, inner, aliases);
            sql.push(", FALSE)");
        }
        Filter::Compare { field, cmp, value, insensitive } => {
            let f = &columns[*field];
            let op = match cmp {
                Cmp::Eq => " = ",
                Cmp::Ne => " <> ",
                Cmp::Lt => " < ",
                Cmp::Lte => " <= ",
                Cmp::Gt => " > ",
                Cmp::Gte => " >= ",
            };
            if *insensitive {
                sql.push("lower(").column(alias, &f.name).push(")").push(op).push("lower(");
                sql.param(value.clone(), "text").push(")");
            } else {
                sql.column(alias, &f.name).push(op);
                sql.param(value.clone(), &f.cast);
            }
        }
        Filter::Null { field, is_null } => {
            sql.column(alias, &columns[*field].name);
            sql.push(if *is_null { " IS NULL" } else { " IS NOT NULL" });
        }
        Filter::In { field, values, negated, insensitive } => {
            if values.is_empty() {
                sql.push(if *negated { "TRUE" } else { "FALSE" });
                return;
            }
            let f = &columns[*field];
            if *insensitive {
                sql.push("lower(").column(alias, &f.name).push(")");
            } else {
                sql.column(alias, &f.name);
            }
            sql.push(if *negated { " NOT IN (" } else { " IN (" });
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                if *insensitive {
                    sql.push("lower(").param(v.clone(), "text").push(")");
                } else {
                    sql.param(v.clone(), &f.cast);
                }
            }
            sql.push(")");
        }
        Filter::Text { field, op, value, insensitive } => {
            let column = &columns[*field].name;
            write_text_match(sql, alias, column, *op, value, *insensitive);
        }
        Filter::List { field, op, values } => {
            let f = &columns[*field];
            // The element type: the column's without its `[]`.
            let element = f.cast.strip_suffix("[]").unwrap_or(&f.cast).to_string();
            let array = |sql: &mut Sql, values: &[crate::conn::Value]| {
                sql.push("ARRAY[");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.param(v.clone(), &element);
                }
                sql.push("]::").push(&f.cast);
            };
            match op {
                ListOp::IsEmpty(empty) => {
                    sql.push("COALESCE(cardinality(").column(alias, &f.name).push(")");
                    sql.push(if *empty { ", 0) = 0" } else { ", 0) > 0" });
                }
                ListOp::Has => {
                    let Some(value) = values.first() else {
                        sql.push("FALSE");
                        return;
                    };
                    sql.param(value.clone(), &element).push(" = ANY(").column(alias, &f.name).push(")");
                }
                ListOp::HasEvery | ListOp::HasSome | ListOp::Equals => {
                    sql.column(alias, &f.name).push(match op {
                        ListOp::HasEvery => " @> ",
                        ListOp::HasSome => " && ",
                        _ => " = ",
                    });
                    array(sql, values);
                }
            }
        }
        Filter::Relation { relation, quantifier, filter } => {
            let r = &entity.relations[*relation];
            let child = aliases.fresh();
            match quantifier {
                Quantifier::Some | Quantifier::Is => sql.push("EXISTS ("),
                Quantifier::None | Quantifier::IsNot | Quantifier::Every => sql.push("NOT EXISTS ("),
            };
            write_link_scope(sql, es, model, *relation, alias, &child, "1");
            sql.push(" AND ");
            if *quantifier == Quantifier::Every {
                sql.push("NOT COALESCE(");
                write_filter(sql, es, r.target, &child, filter, aliases);
                sql.push(", FALSE)");
            } else {
                write_filter(sql, es, r.target, &child, filter, aliases);
            }
            sql.push(")");
        }
        Filter::RelationNull { relation, is_null } => {
            let r = &entity.relations[*relation];
            match &r.link {
                Link::Owns { local, .. } => {
                    sql.push("(");
                    for (i, &l) in local.iter().enumerate() {
                        if i > 0 {
                            sql.push(if *is_null { " OR " } else { " AND " });
                        }
                        sql.column(alias, &columns[l].name);
                        sql.push(if *is_null { " IS NULL" } else { " IS NOT NULL" });
                    }
                    sql.push(")");
                }
                _ => {
                    let child = aliases.fresh();
                    sql.push(if *is_null { "NOT EXISTS (" } else { "EXISTS (" });
                    write_link_scope(sql, es, model, *relation, alias, &child, "1");
                    sql.push(")");
                }
            }
        }
    }
}

/// `SELECT <select> FROM <target> AS child ... WHERE <child is linked to parent>`, without
/// the closing parenthesis, ready for `AND <filter>`.
pub fn write_link_scope(
    sql: &mut Sql,
    es: &Entities,
    model: usize,
    relation: usize,
    parent: &str,
    child: &str,
    select: &str,
) {
    let r = &es.entities[model].relations[relation];
    let (this, target) = (&es.storage[model], &es.storage[r.target]);
    match &r.link {
        Link::Owns { local, remote } | Link::Inverse { local, remote } => {
            sql.push("SELECT ")
                .push(select)
                .push(" FROM ")
                .push(&target.table)
                .push(" AS ")
                .push(child)
                .push(" WHERE ");
            for (i, (&l, &rm)) in local.iter().zip(remote).enumerate() {
                if i > 0 {
                    sql.push(" AND ");
                }
                sql.column(child, &target.columns[rm].name).push(" = ").column(parent, &this.columns[l].name);
            }
        }
        Link::Join { local, remote } => {
            let Some(JoinTable { table, this_column, other_column, .. }) = es.join(model, relation) else {
                // Every `Join` link has its table (`Entities::new`); were one missing, no row is linked.
                sql.push("SELECT ").push(select).push(" FROM ").push(&target.table).push(" AS ").push(child);
                sql.push(" WHERE FALSE");
                return;
            };
            let join = format!("{child}j");
            sql.push("SELECT ").push(select).push(" FROM ").push(table).push(" AS ").push(&join);
            sql.push(" JOIN ").push(&target.table).push(" AS ").push(child).push(" ON ");
            sql.column(child, &target.columns[*remote].name).push(" = ").column(&join, other_column);
            sql.push(" WHERE ").column(&join, this_column).push(" = ").column(parent, &this.columns[*local].name);
        }
    }
}

fn write_text_match(sql: &mut Sql, alias: &str, column: &str, op: TextOp, value: &str, insensitive: bool) {
    let (prefix, suffix) = match op {
        TextOp::Contains => (true, true),
        TextOp::StartsWith => (false, true),
        TextOp::EndsWith => (true, false),
    };
    match sql.dialect {
        // GLOB is case-sensitive; LIKE is not (for ASCII), which is what `insensitive` asks.
        Dialect::Sqlite if !insensitive => {
            let mut pattern = String::with_capacity(value.len() + 2);
            if prefix {
                pattern.push('*');
            }
            for c in value.chars() {
                match c {
                    '*' | '?' | '[' => {
                        pattern.push('[');
                        pattern.push(c);
                        pattern.push(']');
                    }
                    _ => pattern.push(c),
                }
            }
            if suffix {
                pattern.push('*');
            }
            sql.column(alias, column).push(" GLOB ");
            sql.param(crate::conn::Value::Text(pattern), "text");
        }
        _ => {
            let mut pattern = String::with_capacity(value.len() + 2);
            if prefix {
                pattern.push('%');
            }
            for c in value.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            if suffix {
                pattern.push('%');
            }
            let like = match (sql.dialect, insensitive) {
                (Dialect::Postgres, true) => " ILIKE ",
                _ => " LIKE ",
            };
            if sql.dialect == Dialect::Postgres {
                sql.push("CAST(").column(alias, column).push(" AS text)");
            } else {
                sql.column(alias, column);
            }
            sql.push(like);
            sql.param(crate::conn::Value::Text(pattern), "text");
            sql.push(" ESCAPE '\\'");
        }
    }
}

/// `ORDER BY` terms, ending with the identifier so that every order is total (pages
/// never repeat or skip a row). `reverse` turns the whole order around (paging backwards).
pub fn write_order(
    sql: &mut Sql,
    es: &Entities,
    model: usize,
    alias: &str,
    order: &[Order],
    reverse: bool,
    aliases: &mut Aliases,
) {
    let entity = &es.entities[model];
    let columns = &es.storage[model].columns;
    let direction = |desc: bool| if desc != reverse { " DESC" } else { " ASC" };
    sql.push(" ORDER BY ");
    let mut first = true;
    let mut sep = |sql: &mut Sql| {
        if !first {
            sql.push(", ");
        }
        first = false;
    };
    for term in order {
        sep(sql);
        match term {
            Order::Field { field, desc, nulls_last, guard } => {
                // A guarded field orders as null where the caller may not read it, so the
                // order says nothing about values hidden from them.
                if let Some(guard) = guard {
                    sql.push("CASE WHEN ");
                    write_filter(sql, es, model, alias, guard, aliases);
                    sql.push(" THEN ").column(alias, &columns[*field].name).push(" END");
                } else {
                    sql.column(alias, &columns[*field].name);
                }
                sql.push(direction(*desc));
                match nulls_last.map(|last| last != reverse) {
                    Some(true) => sql.push(" NULLS LAST"),
                    Some(false) => sql.push(" NULLS FIRST"),
                    None => sql,
                };
            }
            Order::Related { relation, field, desc, scope } => {
                let r = &entity.relations[*relation];
                let child = aliases.fresh();
                let column = format!("{child}.{}", crate::dialect::quote(&es.column(r.target, *field).name));
                sql.push("(");
                write_link_scope(sql, es, model, *relation, alias, &child, &column);
                sql.push(" AND ");
                write_filter(sql, es, r.target, &child, scope, aliases);
                sql.push(" LIMIT 1)").push(direction(*desc));
            }
            Order::Count { relation, desc, scope } => {
                let r = &entity.relations[*relation];
                let child = aliases.fresh();
                sql.push("(");
                write_link_scope(sql, es, model, *relation, alias, &child, "COUNT(*)");
                sql.push(" AND ");
                write_filter(sql, es, r.target, &child, scope, aliases);
                sql.push(")").push(direction(*desc));
            }
        }
    }
    for &id in &entity.id {
        let already = order.iter().any(|o| matches!(o, Order::Field { field, .. } if *field == id));
        if !already {
            sep(sql);
            sql.column(alias, &columns[id].name).push(direction(false));
        }
    }
}
