//! The organisation's customer settings: every role reads them (apps draw their forms with
//! them), administrators change them (ManageSettings).

use std::sync::Arc;

use domain::{Permission, Settings};
use kit::Problem;
use store::{StoreError, VersionedSettings};

use super::{Scope, forbidden, store_problem};
use crate::App;
use crate::http::etag;

/// The settings as stored now (not this instance's cached copy: whoever reads them to change
/// them needs the current version).
pub async fn get(app: &App, scope: &Scope) -> Result<VersionedSettings, Problem> {
    scope.grants.require_any().map_err(forbidden)?;
    app.store
        .settings(&scope.tenant)
        .await
        .map_err(store_problem)
}

/// Replaces the settings at the If-Match version (`expected`, see [`super::modify`]). They
/// must be valid against the current ones (`Settings::validate`) and apply to what is written
/// from now on; stored customers are never rewritten (see docs/api.md, "Settings").
pub async fn put(
    app: &App,
    scope: &Scope,
    expected: Option<Option<u64>>,
    mut settings: Settings,
) -> Result<Arc<VersionedSettings>, Problem> {
    scope.require(Permission::ManageSettings)?;
    let current = app
        .store
        .settings(&scope.tenant)
        .await
        .map_err(store_problem)?;
    if let Some(Some(version)) = expected
        && version != current.version
    {
        return Err(Problem::stale(Some(&etag(current.version))));
    }
    settings
        .validate(&current.settings)
        .map_err(|e| Problem::validation(e.0))?;
    let version = match app
        .store
        .put_settings(&scope.tenant, &settings, current.version)
        .await
    {
        Ok(version) => version,
        Err(StoreError::VersionConflict) => return Err(Problem::stale(None)),
        Err(e) => return Err(store_problem(e)),
    };
    let saved = Arc::new(VersionedSettings { settings, version });
    // This instance answers with the new settings at once; others within the cache's time.
    app.remember(&scope.tenant, saved.clone());
    Ok(saved)
}
