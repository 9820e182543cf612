//! The schema's `@@policy` rules, compiled once per model of the API's shape, operation
//! and guarded field; the `@@auth` model and the fields rules read of it.
//!
//! Dialect-free: built from the IR and the [`Shape`] alone, so the guard that enforces the
//! rules on requests (`ssot-access`) and the generators that describe them (the OpenAPI
//! document in `ssot-codegen`) read the same compiled rules.

use crate::predicate::Predicate;
use ssot_schema::ir::Schema;
use ssot_schema::Diagnostic;
use ssot_shape::Shape;

/// An operation a policy opens: `read`, `create`, `update` or `delete` (`write` and `*`
/// are expanded by the schema).
pub use ssot_schema::annotations::Operation as Op;

const OPS: [Op; 4] = [Op::Read, Op::Create, Op::Update, Op::Delete];

fn slot(op: Op) -> usize {
    match op {
        Op::Read => 0,
        Op::Create => 1,
        Op::Update => 2,
        Op::Delete => 3,
    }
}

/// What guards one field or relation for one operation (its policies OR-ed).
#[derive(Debug, Clone)]
struct Guard {
    /// A scalar field's index, or a relation's (`relation` set).
    index: usize,
    relation: bool,
    op: Op,
    rule: Predicate,
}

#[derive(Debug, Clone, Default)]
struct ModelRules {
    /// Per operation: the OR of its row-level policies, or `None` (nobody).
    rows: [Option<Predicate>; 4],
    guards: Vec<Guard>,
    /// Fields nobody reads, filters or orders by: the `@@auth` model's password.
    write_only: Vec<usize>,
    /// Per operation, the rules as written (for the start-up summary).
    texts: [Vec<String>; 4],
    /// Field rules as written: field (or relation), operation, rule.
    field_texts: Vec<(String, Op, String)>,
    /// What its rules (row and field rules, its `@@realtime` permissions) read as
    /// `auth.<name>`, sorted.
    auth_reads: Vec<String>,
    /// Whether one of them reads `now()`.
    reads_now: bool,
}

/// Rules that do not compile (the schema was not checked first).
#[derive(Debug, thiserror::Error)]
#[error("the policies do not compile: {}", .0.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("; "))]
pub struct CompileError(pub Vec<Diagnostic>);

/// Every model's rules, by entity index.
#[derive(Debug, Clone)]
pub struct Policies {
    models: Vec<ModelRules>,
    /// The `@@auth` model (an entity index), its password field and login field.
    pub auth: Option<AuthModel>,
    /// Every `@@service`'s name, and every action it offers with its rule (on the caller alone).
    pub services: Vec<String>,
    pub actions: Vec<ActionRule>,
    /// Which users may open the admin studio (`@@auth(studio: ...)`, on the caller alone);
    /// `None`: only the admin key.
    pub studio: Option<Predicate>,
}

/// An action of a `@@service`: who may call it.
#[derive(Debug, Clone)]
pub struct ActionRule {
    pub name: String,
    pub service: String,
    pub rule: Predicate,
}

#[derive(Debug, Clone)]
pub struct AuthModel {
    pub model: usize,
    pub password: usize,
    pub identity: usize,
    /// Fields some rule reads as `auth.<field>` (`role` for `isAdmin`): they decide what
    /// rules allow, so only the admin key, or a field rule that holds, may set them.
    pub privileged: Vec<usize>,
}

/// Whether `predicate` reads `now()` (then what it admits changes with time).
fn reads_now(predicate: &Predicate) -> bool {
    use crate::predicate::Operand;
    match predicate {
        Predicate::Const(_) => false,
        Predicate::And(parts) | Predicate::Or(parts) => parts.iter().any(reads_now),
        Predicate::Not(inner) | Predicate::Quantified { body: inner, .. } => reads_now(inner),
        Predicate::Compare { left, right, .. } => matches!(left, Operand::Now) || matches!(right, Operand::Now),
        Predicate::In { value, list } => matches!(value, Operand::Now) || matches!(list, Operand::Now),
    }
}

/// The names rules read as `auth.<name>`.
fn auth_names(predicate: &Predicate, out: &mut Vec<String>) {
    use crate::predicate::Operand;
    let operand = |o: &Operand, out: &mut Vec<String>| {
        if let Operand::Auth(path) = o {
            if let Some(first) = path.first() {
                out.push(first.clone());
            }
        }
    };
    match predicate {
        Predicate::Const(_) => {}
        Predicate::And(parts) | Predicate::Or(parts) => parts.iter().for_each(|p| auth_names(p, out)),
        Predicate::Not(inner) => auth_names(inner, out),
        Predicate::Compare { left, right, .. } => {
            operand(left, out);
            operand(right, out);
        }
        Predicate::In { value, list } => {
            operand(value, out);
            operand(list, out);
        }
        Predicate::Quantified { body, .. } => auth_names(body, out),
    }
}

fn or(parts: Vec<Predicate>) -> Option<Predicate> {
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(Predicate::Or(parts)),
    }
}

impl Policies {
    /// Compiles every policy of `schema` against the API's shape of it. The rules were
    /// checked when the schema was loaded; an error here means the schema changed since.
    pub fn compile(schema: &Schema, es: &Shape) -> Result<Policies, CompileError> {
        let mut models = vec![ModelRules::default(); es.entities.len()];
        let mut errors = Vec::new();
        let mut auth = None;
        let mut read_from_auth = Vec::new();
        for model in &schema.models {
            let Some(index) = es.by_name(&model.name) else { continue };
            let entity = &es.entities[index];
            let rules = &mut models[index];
            let mut rows: [Vec<Predicate>; 4] = Default::default();
            for policy in &model.annotations.policies {
                let predicate = match crate::compile(schema, model, &policy.rule, "") {
                    Ok(p) => p,
                    Err(e) => {
                        errors.extend(e);
                        continue;
                    }
                };
                auth_names(&predicate, &mut read_from_auth);
                auth_names(&predicate, &mut rules.auth_reads);
                rules.reads_now |= reads_now(&predicate);
                for &op in &policy.operations {
                    match &policy.fields {
                        None => {
                            rows[slot(op)].push(predicate.clone());
                            rules.texts[slot(op)].push(policy.rule.text.clone());
                        }
                        Some(names) => {
                            for name in names {
                                rules.field_texts.push((name.to_string(), op, policy.rule.text.clone()));
                                let (index, relation) = match (entity.field(name), entity.relation(name)) {
                                    (Some(f), _) => (f, false),
                                    (None, Some(r)) => (r, true),
                                    (None, None) => continue,
                                };
                                // Several policies guarding one field for one operation are OR-ed.
                                match rules
                                    .guards
                                    .iter_mut()
                                    .find(|g| g.index == index && g.relation == relation && g.op == op)
                                {
                                    Some(g) => {
                                        let earlier = std::mem::replace(&mut g.rule, Predicate::Const(false));
                                        g.rule = Predicate::Or(vec![earlier, predicate.clone()]);
                                    }
                                    None => rules.guards.push(Guard { index, relation, op, rule: predicate.clone() }),
                                }
                            }
                        }
                    }
                }
            }
            rules.rows = rows.map(or);
            if let Some(a) = &model.annotations.auth {
                if let (Some(password), Some(identity)) =
                    (entity.field(&a.password_field), entity.field(&a.identity_field))
                {
                    rules.write_only.push(password);
                    auth = Some(AuthModel { model: index, password, identity, privileged: Vec::new() });
                }
            }
        }
        // `@@realtime` permissions read `auth` too.
        for model in &schema.models {
            let Some(index) = es.by_name(&model.name) else { continue };
            for permission in model.annotations.realtime.iter().flat_map(|r| &r.permissions) {
                if let Ok(p) = crate::compile(schema, model, &permission.rule, "") {
                    auth_names(&p, &mut read_from_auth);
                    auth_names(&p, &mut models[index].auth_reads);
                    models[index].reads_now |= reads_now(&p);
                }
            }
            models[index].auth_reads.sort();
            models[index].auth_reads.dedup();
        }
        let (mut services, mut actions) = (Vec::new(), Vec::new());
        for model in &schema.models {
            for service in &model.annotations.services {
                services.push(service.name.clone());
                for action in &service.actions {
                    match crate::compile(schema, model, &action.rule, "") {
                        Ok(rule) => {
                            // `auth.role` decides who may call it: users may not set their own.
                            auth_names(&rule, &mut read_from_auth);
                            actions.push(ActionRule { name: action.name.clone(), service: service.name.clone(), rule });
                        }
                        Err(diagnostics) => errors.extend(diagnostics),
                    }
                }
            }
        }
        let mut studio = None;
        for model in &schema.models {
            if let Some(rule) = model.annotations.auth.as_ref().and_then(|a| a.studio.as_ref()) {
                match crate::compile(schema, model, rule, "") {
                    Ok(rule) => {
                        auth_names(&rule, &mut read_from_auth);
                        studio = Some(rule);
                    }
                    Err(diagnostics) => errors.extend(diagnostics),
                }
            }
        }
        if let Some(a) = &mut auth {
            let entity = &es.entities[a.model];
            a.privileged = entity
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| read_from_auth.contains(&f.name))
                .map(|(i, _)| i)
                .collect();
        }
        if errors.is_empty() {
            Ok(Policies { models, auth, services, actions, studio })
        } else {
            Err(CompileError(errors))
        }
    }

    /// The action called `name`, if a service offers one.
    pub fn action(&self, name: &str) -> Option<&ActionRule> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The row-level rule for `op` on `model`; `None` when no policy opens it.
    pub fn rule(&self, model: usize, op: Op) -> Option<&Predicate> {
        self.models.get(model).and_then(|m| m.rows[slot(op)].as_ref())
    }

    fn guard(&self, model: usize, index: usize, relation: bool, op: Op) -> Option<&Predicate> {
        let guards = &self.models.get(model)?.guards;
        guards.iter().find(|g| g.index == index && g.relation == relation && g.op == op).map(|g| &g.rule)
    }

    /// The rule guarding scalar field `field` for `op`, if it has one.
    pub fn field_rule(&self, model: usize, field: usize, op: Op) -> Option<&Predicate> {
        self.guard(model, field, false, op)
    }

    /// The rule guarding relation `relation` for reading, if it has one.
    pub fn relation_rule(&self, model: usize, relation: usize) -> Option<&Predicate> {
        self.guard(model, relation, true, Op::Read)
    }

    /// Whether `field` of `model` is an `@@auth` field that rules read as `auth.<field>`.
    /// What the rules of `model` (row and field rules, `@@realtime` permissions) read as
    /// `auth.<name>`, sorted: two users alike in these are alike to those rules.
    pub fn auth_reads(&self, model: usize) -> &[String] {
        self.models.get(model).map_or(&[], |m| m.auth_reads.as_slice())
    }

    /// Whether a rule of `model` (a row or field rule, a `@@realtime` permission) reads
    /// `now()`: what it admits then changes with time, not only with the rows.
    pub fn reads_now(&self, model: usize) -> bool {
        self.models.get(model).is_some_and(|m| m.reads_now)
    }

    pub fn privileged(&self, model: usize, field: usize) -> bool {
        self.auth.as_ref().is_some_and(|a| a.model == model && a.privileged.contains(&field))
    }

    /// Whether nobody may ever read field `field` (the password).
    pub fn write_only(&self, model: usize, field: usize) -> bool {
        self.models.get(model).is_some_and(|m| m.write_only.contains(&field))
    }

    /// What `ssot serve` prints at start: per model and operation, the rule that opens it.
    /// Who may do what, per model (the start-up table as JSON, for the admin studio): each
    /// operation's row rules as written (none: nobody but the admin key), and the field rules.
    pub fn table(&self, es: &Shape) -> serde_json::Value {
        let models: Vec<serde_json::Value> = es
            .entities
            .iter()
            .enumerate()
            .map(|(index, entity)| {
                let rules = &self.models[index];
                let operations: serde_json::Map<String, serde_json::Value> = OPS
                    .iter()
                    .map(|&op| (format!("{op:?}").to_lowercase(), serde_json::json!(rules.texts[slot(op)])))
                    .collect();
                let fields: Vec<serde_json::Value> = rules
                    .field_texts
                    .iter()
                    .map(|(field, op, rule)| {
                        serde_json::json!({"field": field, "operation": format!("{op:?}").to_lowercase(), "rule": rule})
                    })
                    .collect();
                serde_json::json!({
                    "model": entity.name.as_str(),
                    "path": format!("/api/{}", entity.resource),
                    "operations": operations,
                    "fieldRules": fields,
                })
            })
            .collect();
        serde_json::json!({ "models": models })
    }

    pub fn describe(&self, es: &Shape, admin_key: bool) -> String {
        let admin = if admin_key { "; the admin key may do anything" } else { "" };
        let mut out = String::new();
        for (index, entity) in es.entities.iter().enumerate() {
            let open: Vec<String> = OPS
                .iter()
                .map(|&op| {
                    let texts = &self.models[index].texts[slot(op)];
                    let who = if texts.is_empty() { "nobody".to_string() } else { texts.join(" | ") };
                    format!("{}: {who}", format!("{op:?}").to_lowercase())
                })
                .collect();
            let guarded = self.models[index].guards.len();
            let fields = if guarded > 0 { format!(" ({guarded} field rules)") } else { String::new() };
            out.push_str(&format!("  {:24} /api/{:<24} {}{fields}\n", entity.name, entity.resource, open.join(", ")));
        }
        if !admin.is_empty() {
            out.push_str(&format!("  (rules apply to every caller{admin})\n"));
        }
        out
    }
}
