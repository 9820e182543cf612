//! `GET /` and `GET /api`: what this server is and where to go from here (its name and
//! version, links to its documents and endpoints, its resources), so that a person or a
//! client landing on the root finds the API instead of a 404.

use serde_json::{json, Value as Json};
use ssot_store::entity::Entities;

/// The index document, built once at start (it depends on the schema alone).
pub fn document(entities: &Entities, auth: Option<&ssot_access::AuthModel>) -> Json {
    let resources: Vec<Json> =
        entities.entities.iter().map(|e| json!({"model": e.name, "path": format!("/api/{}", e.resource)})).collect();
    let mut links = json!({
        "openapi": "/api/openapi.json",
        "health": "/healthz",
        "metrics": "/metrics",
        "batch": "/api/$batch",
    });
    if let Some(auth) = auth {
        let identity = entities.entities.get(auth.model).and_then(|e| e.fields.get(auth.identity)).map(|f| &f.name);
        links["auth"] = json!({
            // The login body's field besides `password` (`email` unless `@@auth` names another).
            "identity": identity,
            "signup": "/api/auth/signup",
            "login": "/api/auth/login",
            "refresh": "/api/auth/refresh",
            "logout": "/api/auth/logout",
            "me": "/api/auth/me",
        });
    }
    json!({
        "name": "ssot",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "a REST API served from a Prisma schema; every route is described by the OpenAPI document",
        "links": links,
        "resources": resources,
    })
}
