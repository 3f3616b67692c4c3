//! Page objects rendered once: query answers are written around their bytes.

use super::workspace::Workspace;
use super::{State, lock};
use crate::notion::ApiVersion;

/// Rendered page objects by (page index, API version), valid for one workspace version: every
/// change bumps the version (as for the query cache), so a cached page is never stale.
#[derive(Default)]
pub(crate) struct PageCache {
    version: u64,
    pages: std::collections::HashMap<(usize, ApiVersion), bytes::Bytes>,
}

impl State {
    /// A page object as JSON bytes: from the cache, else rendered and kept.
    pub(crate) fn page_json(
        &self,
        workspace: &Workspace,
        index: usize,
        version: ApiVersion,
    ) -> bytes::Bytes {
        let mut cache = lock(&self.page_cache);
        if cache.version != workspace.version {
            cache.pages.clear();
            cache.version = workspace.version;
        }
        cache
            .pages
            .entry((index, version))
            .or_insert_with(|| {
                let page = workspace.render_page(&workspace.pages[index], version, &[]);
                bytes::Bytes::from(serde_json::to_vec(&page).unwrap_or_default())
            })
            .clone()
    }

    /// Renders every page once (the `tasksync simulator` command does it before serving, so
    /// the first sync measured against it is not paying for rendering).
    pub(crate) fn render_all(&self) {
        let workspace = lock(&self.workspace);
        for index in 0..workspace.pages.len() {
            self.page_json(&workspace, index, ApiVersion::default());
        }
    }
}
