//! A `@@service` annotation made ready to run: its environment read (a missing variable is
//! a start-up error naming it), its URL parsed, its filter and action rules compiled, the
//! payload's fields chosen. Nothing is read from the environment after start.

use crate::sign::Secret;
use crate::ServiceError;
use ssot_policy::predicate::Predicate;
use ssot_schema::annotations::{RealtimeEvent, Setting};
use ssot_schema::ir::Schema;
use ssot_shape::Shape;
use std::time::Duration;

#[derive(Debug)]
pub struct Service {
    pub name: String,
    /// The model's index in the shape, and its label in the change log.
    pub model: usize,
    pub label: String,
    /// `post` for `Post`: events are typed `post.created`.
    pub type_prefix: String,
    pub url: hyper::Uri,
    pub secret: Secret,
    pub created: bool,
    pub updated: bool,
    pub deleted: bool,
    pub filter: Option<Predicate>,
    /// Indices of the fields a payload carries.
    pub fields: Vec<usize>,
    pub retries: u32,
    pub timeout: Duration,
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
}

/// Every `@@service` of `schema` on a model the API serves, compiled; `env` reads a variable.
pub fn compile(
    schema: &Schema,
    shape: &Shape,
    policies: &ssot_policy::rules::Policies,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Service>, ServiceError> {
    let mut out = Vec::new();
    for model in &schema.models {
        for service in &model.annotations.services {
            let Some(index) = shape.by_name(&model.name) else {
                return Err(ServiceError::NotServed { service: service.name.clone(), model: model.name.to_string() });
            };
            let read = |setting: &Setting| match setting {
                Setting::Literal(text) => Ok(text.clone()),
                Setting::Env(var) => env(var)
                    .ok_or_else(|| ServiceError::MissingEnv { service: service.name.clone(), variable: var.clone() }),
            };
            let url_text = read(&service.url)?;
            let url: hyper::Uri = url_text
                .parse()
                .ok()
                .filter(|u: &hyper::Uri| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some())
                .ok_or_else(|| ServiceError::BadUrl { service: service.name.clone() })?;
            let secret_text = env(&service.secret).ok_or_else(|| ServiceError::MissingEnv {
                service: service.name.clone(),
                variable: service.secret.clone(),
            })?;
            let secret = Secret::parse(&secret_text).ok_or_else(|| ServiceError::BadSecret {
                service: service.name.clone(),
                variable: service.secret.clone(),
            })?;
            let mut headers = Vec::new();
            for (name, value) in &service.headers {
                let value = read(value)?;
                let pair = hyper::header::HeaderName::from_bytes(name.as_bytes())
                    .ok()
                    .zip(hyper::header::HeaderValue::from_str(&value).ok())
                    .ok_or_else(|| ServiceError::BadHeader { service: service.name.clone(), header: name.clone() })?;
                headers.push(pair);
            }
            let compile = |rule| {
                ssot_policy::compile(schema, model, rule, "")
                    .map_err(|_| ServiceError::Rule { service: service.name.clone() })
            };
            // Actions' rules are the policies' (`ssot_policy::rules::Policies::action`).
            let filter = service.filter.as_ref().map(compile).transpose()?;
            let entity = &shape.entities[index];
            let fields = match &service.fields {
                // The password is never sent, even when named.
                Some(names) => {
                    names.iter().filter_map(|n| entity.field(n)).filter(|f| !policies.write_only(index, *f)).collect()
                }
                // Fields a rule guards, and the password, stay out unless named.
                None => (0..entity.fields.len())
                    .filter(|f| {
                        policies.field_rule(index, *f, ssot_policy::rules::Op::Read).is_none()
                            && !policies.write_only(index, *f)
                    })
                    .collect(),
            };
            let mut type_prefix = model.name.to_string();
            if let Some(first) = type_prefix.get(..1) {
                type_prefix = format!("{}{}", first.to_lowercase(), type_prefix.get(1..).unwrap_or_default());
            }
            out.push(Service {
                name: service.name.clone(),
                model: index,
                label: model.name.to_string(),
                type_prefix,
                url,
                secret,
                created: service.events.contains(&RealtimeEvent::Created),
                updated: service.events.contains(&RealtimeEvent::Updated),
                deleted: service.events.contains(&RealtimeEvent::Deleted),
                filter,
                fields,
                retries: service.retries,
                timeout: Duration::from_millis(service.timeout_ms),
                headers,
            });
        }
    }
    Ok(out)
}
