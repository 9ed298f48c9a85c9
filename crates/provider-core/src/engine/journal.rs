//! The journal: every finished action written to the hub's state at once,
//! so a run killed at any point leaves state that names what it made.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::graph::NodeId;
use super::plan::{Action, Step};
use crate::error::Result;
use crate::events::Change;
use crate::provider::TAG_RESOURCE;
use crate::state::{HubState, ResourceRecord, StateStore, unix_now};

/// Records finished actions in the hub's state as they happen.
pub(crate) struct Journal {
    store: Arc<dyn StateStore>,
    state: Mutex<HubState>,
}

impl Journal {
    pub(crate) fn new(store: Arc<dyn StateStore>, state: HubState) -> Journal {
        Journal {
            store,
            state: Mutex::new(state),
        }
    }

    /// Records resources that exist and match the spec, whether or not
    /// this run made them.
    pub(crate) async fn record_unchanged(
        &self,
        unchanged: &[super::plan::Unchanged],
    ) -> Result<()> {
        let mut state = self.state.lock().await;
        let before = state.resources.clone();
        for item in unchanged {
            let key = item.node.to_string();
            if state
                .resources
                .get(&key)
                .is_none_or(|r| r.physical != item.physical)
            {
                state.resources.insert(
                    key,
                    ResourceRecord {
                        physical: item.physical.clone(),
                        outputs: Default::default(),
                        recorded_at: unix_now(),
                    },
                );
            }
        }
        if state.resources == before && state.serial > 0 {
            return Ok(());
        }
        state.serial += 1;
        self.store.write(&state).await
    }

    pub(crate) async fn record(&self, action: &Action) -> Result<()> {
        let mut state = self.state.lock().await;
        let key = action.node.to_string();
        match action.change {
            Change::Delete => {
                if state
                    .resources
                    .get(&key)
                    .is_some_and(|r| r.physical == action.physical)
                {
                    state.resources.remove(&key);
                }
            }
            Change::Wait if matches!(action.step, Step::Await { gone: true, .. }) => {
                if state
                    .resources
                    .get(&key)
                    .is_some_and(|r| r.physical == action.physical)
                {
                    state.resources.remove(&key);
                }
            }
            _ => {
                state.resources.insert(
                    key,
                    ResourceRecord {
                        physical: action.physical.clone(),
                        outputs: Default::default(),
                        recorded_at: unix_now(),
                    },
                );
                // Pools created inside the cluster's operation are recorded with it.
                if let Step::CreateCluster { initial_pools, .. } = &action.step {
                    for pool in initial_pools {
                        if let Some(node) = pool
                            .tags
                            .get(TAG_RESOURCE)
                            .and_then(|t| NodeId::from_tag(t))
                        {
                            let record = ResourceRecord {
                                physical: pool.name.clone(),
                                outputs: Default::default(),
                                recorded_at: unix_now(),
                            };
                            state.resources.insert(node.to_string(), record);
                        }
                    }
                }
            }
        }
        state.serial += 1;
        self.store.write(&state).await
    }
}
