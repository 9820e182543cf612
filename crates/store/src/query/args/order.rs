//! `orderBy`: fields, fields of to-one relations, and counts of to-many relations.

use super::*;

impl ArgsReader<'_> {
    pub fn order(&mut self, model: usize, value: &Json, path: &str) -> Vec<Order> {
        let items: Vec<(String, &Json)> = match value {
            Json::Array(items) => items.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect(),
            other => vec![(path.to_string(), other)],
        };
        let entity = self.entity(model);
        let mut out = Vec::new();
        for (item_path, item) in items {
            let Some(object) = item.as_object() else {
                self.error(&item_path, "expected an object such as {\"createdAt\": \"desc\"}");
                continue;
            };
            for (name, direction) in object {
                let here = join(&item_path, name);
                if let Some(field) = entity.field(name) {
                    let (desc, nulls_last) = match direction {
                        Json::Object(o) => {
                            let desc = self.direction(o.get("sort").unwrap_or(&Json::Null), &join(&here, "sort"));
                            let nulls = match o.get("nulls").and_then(Json::as_str) {
                                Some("first") => Some(false),
                                Some("last") => Some(true),
                                None => None,
                                Some(_) => {
                                    self.error(&join(&here, "nulls"), "expected \"first\" or \"last\"");
                                    None
                                }
                            };
                            (desc, nulls)
                        }
                        other => (self.direction(other, &here), None),
                    };
                    if matches!(entity.fields[field].kind, Kind::Scalar(ScalarType::Json | ScalarType::Bytes))
                        || entity.fields[field].list
                    {
                        self.error(&here, "cannot order by this field's type");
                        continue;
                    }
                    out.push(Order::Field { field, desc, nulls_last, guard: None });
                } else if let Some(relation) = entity.relation(name) {
                    let r = &entity.relations[relation];
                    let Some(inner) = direction.as_object() else {
                        self.error(&here, "expected an object: a field of the related model, or `_count` for a list");
                        continue;
                    };
                    for (key, dir) in inner {
                        let inner_path = join(&here, key);
                        let desc = self.direction(dir, &inner_path);
                        if r.list {
                            if key == "_count" {
                                out.push(Order::Count { relation, desc, scope: Filter::True });
                            } else {
                                self.error(&inner_path, "a list relation orders only by `_count`");
                            }
                        } else if let Some(field) = self.entity(r.target).field(key) {
                            out.push(Order::Related { relation, field, desc, scope: Filter::True });
                        } else {
                            let target = self.entity(r.target);
                            self.unknown_field(target, &inner_path, key);
                        }
                    }
                } else {
                    self.unknown_field(entity, &here, name);
                }
            }
        }
        out
    }

    fn direction(&mut self, value: &Json, path: &str) -> bool {
        match value.as_str() {
            Some("asc") => false,
            Some("desc") => true,
            _ => {
                self.error(path, "expected \"asc\" or \"desc\"");
                false
            }
        }
    }
}
