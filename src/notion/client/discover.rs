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
        let database = match self
            .send::<WireDatabase>(Call::get(format!("/v1/databases/{id}")))
            .await
        {
            Ok(database) => database,
            Err(failure) if failure.error.is_not_found() => {
                // Perhaps a data source id; if not, the database's 404 says what to do.
                return match self.retrieve_data_source(id).await {
                    Err(other) if other.is_not_found() => Err(failure.error),
                    result => result,
                };
            }
            Err(failure) => return Err(failure.error),
        };
        let available: Vec<DataSourceSummary> = database
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
        let chosen = choose_data_source(&available, wanted).ok_or_else(|| {
            NotionError::DataSourceChoice {
                database_id: database.id.clone(),
                wanted: wanted.map(str::to_string),
                available: available.clone(),
            }
        })?;
        self.retrieve_data_source(&chosen.id).await
    }

    /// The data sources of several configured sources (database, data source name or id), in
    /// their order: a database several of them share is read once.
    pub async fn resolve_data_sources(
        &self,
        wanted: &[(NotionId, Option<String>)],
    ) -> Vec<Result<DataSource, NotionError>> {
        let mut databases: std::collections::HashMap<NotionId, Vec<DataSourceSummary>> =
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
            let available = databases.get(id).map(Vec::as_slice).unwrap_or_default();
            let result = match choose_data_source(available, name.as_deref()) {
                Some(chosen) => self.retrieve_data_source(&chosen.id).await,
                None => Err(NotionError::DataSourceChoice {
                    database_id: id.to_string(),
                    wanted: name.clone(),
                    available: available.to_vec(),
                }),
            };
            resolved.push(result);
        }
        resolved
    }

    /// The data sources a database lists (empty when `id` is not a database's).
    async fn database_sources(&self, id: &NotionId) -> Result<Vec<DataSourceSummary>, NotionError> {
        let database = self
            .send::<WireDatabase>(Call::get(format!("/v1/databases/{id}")))
            .await
            .map_err(|failure| failure.error)?;
        Ok(database
            .data_sources
            .iter()
            .filter_map(|source| {
                Some(DataSourceSummary {
                    id: NotionId::parse(&source.id).ok()?,
                    name: source.name.clone(),
                    database_id: Some(id.clone()),
                })
            })
            .collect())
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
