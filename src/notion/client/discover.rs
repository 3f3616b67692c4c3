//! Finding the configured data sources: a database (or a data source id), and the data source
//! chosen among the database's.

use super::{Call, NotionClient};
use crate::model::ids::NotionId;
use crate::model::{DataSource, DataSourceSummary};
use crate::notion::NotionError;
use crate::notion::wire::WireDatabase;

impl NotionClient {
    /// Resolves what the user configured (a database or a data source id) to one data source
    /// with its schema. `wanted` names the data source (name or id) when there are several.
    pub async fn resolve_data_source(
        &self,
        id: &NotionId,
        wanted: Option<&str>,
    ) -> Result<DataSource, NotionError> {
        let mut found = self
            .resolve_data_sources(&[(id.clone(), wanted.map(str::to_string))])
            .await;
        found.pop().unwrap_or_else(|| {
            Err(NotionError::DataSourceChoice {
                database_id: id.to_string(),
                wanted: wanted.map(str::to_string),
                available: Vec::new(),
            })
        })
    }

    /// The data sources of several configured sources (database, data source name or id), in
    /// their order: a database several of them share is read once.
    pub async fn resolve_data_sources(
        &self,
        wanted: &[(NotionId, Option<String>)],
    ) -> Vec<Result<DataSource, NotionError>> {
        // By the id configured: the database's own id (for messages) and its data sources.
        let mut databases: std::collections::HashMap<NotionId, (String, Vec<DataSourceSummary>)> =
            std::collections::HashMap::new();
        let mut resolved = Vec::with_capacity(wanted.len());
        for (id, name) in wanted {
            if !databases.contains_key(id) {
                match self.database_sources(id).await {
                    Ok(available) => {
                        databases.insert(id.clone(), available);
                    }
                    // Perhaps a data source id; if not, the database's 404 says what to do.
                    Err(error) if error.is_not_found() => {
                        resolved.push(match self.retrieve_data_source(id).await {
                            Err(other) if other.is_not_found() => Err(error),
                            result => result,
                        });
                        continue;
                    }
                    Err(error) => {
                        resolved.push(Err(error));
                        continue;
                    }
                }
            }
            let (database_id, available) = match databases.get(id) {
                Some((database_id, available)) => (database_id.clone(), available.as_slice()),
                None => (id.to_string(), &[][..]),
            };
            let result = match choose_data_source(available, name.as_deref()) {
                Some(chosen) => self.retrieve_data_source(&chosen.id).await,
                None => Err(NotionError::DataSourceChoice {
                    database_id,
                    wanted: name.clone(),
                    available: available.to_vec(),
                }),
            };
            resolved.push(result);
        }
        resolved
    }

    /// A database's id (as Notion writes it) and the data sources it lists.
    async fn database_sources(
        &self,
        id: &NotionId,
    ) -> Result<(String, Vec<DataSourceSummary>), NotionError> {
        let database = self
            .send::<WireDatabase>(Call::get(format!("/v1/databases/{id}")))
            .await
            .map_err(|failure| failure.error)?;
        let sources = database
            .data_sources
            .iter()
            .filter_map(|source| {
                Some(DataSourceSummary {
                    id: NotionId::parse(&source.id).ok()?,
                    name: source.name.clone(),
                    database_id: Some(id.clone()),
                })
            })
            .collect();
        Ok((database.id, sources))
    }
}

fn choose_data_source<'a>(
    available: &'a [DataSourceSummary],
    wanted: Option<&str>,
) -> Option<&'a DataSourceSummary> {
    match wanted {
        Some(wanted) => {
            let wanted_id = NotionId::parse(wanted).ok();
            available.iter().find(|source| {
                source.name.eq_ignore_ascii_case(wanted.trim())
                    || wanted_id.as_ref() == Some(&source.id)
            })
        }
        None if available.len() == 1 => available.first(),
        None => None,
    }
}
