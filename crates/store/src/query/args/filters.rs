//! `where`: filters on fields (with their operators) and on relations.

use super::*;

impl ArgsReader<'_> {
    pub fn filter(&mut self, model: usize, value: &Json, path: &str, depth: usize) -> Filter {
        if depth > MAX_DEPTH {
            self.error(path, format!("nested more than {MAX_DEPTH} levels deep"));
            return Filter::True;
        }
        let Some(object) = value.as_object() else {
            self.error(path, "expected an object");
            return Filter::True;
        };
        let entity = self.entity(model);
        let mut parts = Vec::new();
        for (key, value) in object {
            let here = join(path, key);
            match key.as_str() {
                "AND" | "OR" | "NOT" => {
                    let items: Vec<&Json> = match value {
                        Json::Array(items) => items.iter().collect(),
                        other => vec![other],
                    };
                    let filters: Vec<Filter> = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.filter(model, item, &format!("{here}[{i}]"), depth + 1))
                        .collect();
                    parts.push(match key.as_str() {
                        "AND" => Filter::And(filters),
                        "OR" => Filter::Or(filters),
                        _ => Filter::Not(Box::new(Filter::Or(filters))),
                    });
                }
                name => {
                    if let Some(field) = entity.field(name) {
                        parts.push(self.field_filter(model, field, value, &here));
                    } else if let Some(relation) = entity.relation(name) {
                        parts.push(self.relation_filter(model, relation, value, &here, depth));
                    } else {
                        self.unknown_field(entity, &here, name);
                    }
                }
            }
        }
        match parts.len() {
            0 => Filter::True,
            1 => parts.pop().unwrap_or(Filter::True),
            _ => Filter::And(parts),
        }
    }

    fn encode(&mut self, model: usize, field: usize, value: &Json, path: &str) -> Option<Value> {
        let kind = self.entity(model).fields[field].kind;
        match encode_one(kind, &self.entities.stored_enums, self.entities.dialect, value) {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(path, message);
                None
            }
        }
    }

    fn field_filter(&mut self, model: usize, field: usize, value: &Json, path: &str) -> Filter {
        let f = &self.entity(model).fields[field];
        if f.list {
            return self.list_filter(model, field, value, path);
        }
        let object = match value {
            Json::Null => return Filter::Null { field, is_null: true },
            Json::Object(o) => o,
            // A bare value means `equals`.
            other => {
                return match self.encode(model, field, other, path) {
                    Some(v) => Filter::Compare { field, cmp: Cmp::Eq, value: v, insensitive: false },
                    None => Filter::True,
                };
            }
        };
        let kind = f.kind;
        let textual = kind == Kind::Scalar(ScalarType::String);
        let ordered =
            !matches!(kind, Kind::Scalar(ScalarType::Boolean | ScalarType::Json | ScalarType::Bytes) | Kind::Enum(_));
        let insensitive = match object.get("mode") {
            None => false,
            Some(Json::String(m)) if m == "insensitive" && textual => true,
            Some(Json::String(m)) if m == "default" => false,
            Some(_) if !textual => {
                self.error(&join(path, "mode"), "applies only to String fields");
                false
            }
            Some(_) => {
                self.error(&join(path, "mode"), "expected \"default\" or \"insensitive\"");
                false
            }
        };
        let mut parts = Vec::new();
        for (op, operand) in object {
            let here = join(path, op);
            let cmp = match op.as_str() {
                "mode" => continue,
                "equals" => Some(Cmp::Eq),
                "lt" => Some(Cmp::Lt),
                "lte" => Some(Cmp::Lte),
                "gt" => Some(Cmp::Gt),
                "gte" => Some(Cmp::Gte),
                _ => None,
            };
            if let Some(cmp) = cmp {
                if cmp != Cmp::Eq && !ordered {
                    self.error(&here, format!("`{op}` does not apply to this field's type"));
                    continue;
                }
                if operand.is_null() {
                    if cmp == Cmp::Eq {
                        parts.push(Filter::Null { field, is_null: true });
                    } else {
                        self.error(&here, "cannot compare with null");
                    }
                    continue;
                }
                if let Some(v) = self.encode(model, field, operand, &here) {
                    parts.push(Filter::Compare { field, cmp, value: v, insensitive });
                }
                continue;
            }
            match op.as_str() {
                "not" => match operand {
                    Json::Null => parts.push(Filter::Null { field, is_null: false }),
                    Json::Object(_) => {
                        let inner = self.field_filter(model, field, operand, &here);
                        parts.push(Filter::Not(Box::new(inner)));
                    }
                    other => {
                        if let Some(v) = self.encode(model, field, other, &here) {
                            parts.push(Filter::Compare { field, cmp: Cmp::Ne, value: v, insensitive });
                        }
                    }
                },
                "in" | "notIn" => {
                    let Some(items) = operand.as_array() else {
                        self.error(&here, "expected a list");
                        continue;
                    };
                    let mut values = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        if let Some(v) = self.encode(model, field, item, &format!("{here}[{i}]")) {
                            values.push(v);
                        }
                    }
                    parts.push(Filter::In { field, values, negated: op == "notIn", insensitive });
                }
                "contains" | "startsWith" | "endsWith" => {
                    if !textual {
                        self.error(&here, format!("`{op}` applies only to String fields"));
                        continue;
                    }
                    let text = match crate::value::text(operand) {
                        Ok(text) => text,
                        Err(message) => {
                            self.error(&here, message);
                            continue;
                        }
                    };
                    let op = match op.as_str() {
                        "contains" => TextOp::Contains,
                        "startsWith" => TextOp::StartsWith,
                        _ => TextOp::EndsWith,
                    };
                    parts.push(Filter::Text { field, op, value: text.to_string(), insensitive });
                }
                other => self.error(
                    &here,
                    format!(
                        "unknown operator `{other}`; expected one of: equals, not, in, notIn, lt, lte, gt, gte, contains, startsWith, endsWith, mode"
                    ),
                ),
            }
        }
        match parts.len() {
            0 => Filter::True,
            1 => parts.pop().unwrap_or(Filter::True),
            _ => Filter::And(parts),
        }
    }

    /// Counts a relation filter at `path` against [`QueryLimits`]; false past a limit.
    fn admit_relation_filter(&mut self, path: &str) -> bool {
        let limits = self.entities.limits;
        self.relation_filters += 1;
        let refused = if self.relation_depth + 1 > limits.relation_depth {
            Some((
                "relation_filter_depth",
                format!(
                    "{path}: relation filters may nest {} levels deep at most; this one is level {}",
                    limits.relation_depth,
                    self.relation_depth + 1
                ),
            ))
        } else if self.relation_filters > limits.relation_filters {
            Some((
                "relation_filter_count",
                format!("{path}: a request may hold {} relation filters at most", limits.relation_filters),
            ))
        } else {
            None
        };
        match refused {
            Some((code, message)) => {
                self.too_complex.get_or_insert(StoreError::TooComplex { code, message });
                false
            }
            None => true,
        }
    }

    /// The filter on the related rows, read one relation level deeper.
    fn related_filter(&mut self, target: usize, value: &Json, path: &str, depth: usize) -> Filter {
        if !self.admit_relation_filter(path) {
            return Filter::True;
        }
        self.relation_depth += 1;
        let inner = self.filter(target, value, path, depth + 1);
        self.relation_depth -= 1;
        inner
    }

    fn relation_filter(&mut self, model: usize, relation: usize, value: &Json, path: &str, depth: usize) -> Filter {
        let r = &self.entity(model).relations[relation];
        let target = r.target;
        let list = r.list;
        if value.is_null() && !list {
            return Filter::RelationNull { relation, is_null: true };
        }
        let Some(object) = value.as_object() else {
            self.error(path, "expected an object of relation operators");
            return Filter::True;
        };
        let operators: &[&str] = if list { &["some", "every", "none"] } else { &["is", "isNot"] };
        let uses_operators = object.keys().any(|k| operators.contains(&k.as_str()));
        // `{author: {name: "x"}}` is shorthand for `is` on a to-one relation.
        if !list && !uses_operators {
            let inner = self.related_filter(target, value, path, depth);
            return Filter::Relation { relation, quantifier: Quantifier::Is, filter: Box::new(inner) };
        }
        let mut parts = Vec::new();
        for (op, operand) in object {
            let here = join(path, op);
            let quantifier = match op.as_str() {
                "some" if list => Quantifier::Some,
                "every" if list => Quantifier::Every,
                "none" if list => Quantifier::None,
                "is" if !list => Quantifier::Is,
                "isNot" if !list => Quantifier::IsNot,
                other => {
                    self.error(
                        &here,
                        format!("unknown relation operator `{other}`; expected one of: {}", operators.join(", ")),
                    );
                    continue;
                }
            };
            if operand.is_null() && !list {
                parts.push(Filter::RelationNull { relation, is_null: quantifier == Quantifier::Is });
                continue;
            }
            let inner = self.related_filter(target, operand, &here, depth);
            parts.push(Filter::Relation { relation, quantifier, filter: Box::new(inner) });
        }
        match parts.len() {
            0 => Filter::True,
            1 => parts.pop().unwrap_or(Filter::True),
            _ => Filter::And(parts),
        }
    }

    /// `{tags: {has: "x"}}`, `hasEvery`, `hasSome`, `isEmpty`, `equals` on a scalar list.
    fn list_filter(&mut self, model: usize, field: usize, value: &Json, path: &str) -> Filter {
        let Some(object) = value.as_object() else {
            self.error(path, "expected an object such as {\"has\": ...}");
            return Filter::True;
        };
        let kind = self.entity(model).fields[field].kind;
        let mut parts = Vec::new();
        for (op, operand) in object {
            let here = join(path, op);
            let list_op = match op.as_str() {
                "has" => ListOp::Has,
                "hasEvery" => ListOp::HasEvery,
                "hasSome" => ListOp::HasSome,
                "equals" => ListOp::Equals,
                "isEmpty" => match operand.as_bool() {
                    Some(empty) => {
                        parts.push(Filter::List { field, op: ListOp::IsEmpty(empty), values: Vec::new() });
                        continue;
                    }
                    None => {
                        self.error(&here, "expected true or false");
                        continue;
                    }
                },
                other => {
                    self.error(
                        &here,
                        format!(
                            "unknown list operator `{other}`; expected one of: has, hasEvery, hasSome, isEmpty, equals"
                        ),
                    );
                    continue;
                }
            };
            let items: Vec<&Json> = match (list_op, operand) {
                (ListOp::Has, one) => vec![one],
                (_, Json::Array(items)) => items.iter().collect(),
                _ => {
                    self.error(&here, "expected a list");
                    continue;
                }
            };
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match encode_one(kind, &self.entities.stored_enums, self.entities.dialect, item) {
                    Ok(v) => values.push(v),
                    Err(message) => self.error(&format!("{here}[{i}]"), message),
                }
            }
            parts.push(Filter::List { field, op: list_op, values });
        }
        match parts.len() {
            0 => Filter::True,
            1 => parts.pop().unwrap_or(Filter::True),
            _ => Filter::And(parts),
        }
    }
}
