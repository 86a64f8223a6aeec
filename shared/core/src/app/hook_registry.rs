//! Where hooks come from: the configuration (`HOOKS`, fixed at start) and the item
//! store (partition `HOOKS`, one item per hook, editable without a deploy). A
//! configured hook wins over a stored one with the same id.

use super::records::HOOKS_PK;
use super::AppError;
use crate::domain::hook::{parse_hooks, Hook};
use crate::ports::{Condition, Item, ItemStore, Query, WriteOp};
use std::sync::Arc;

#[derive(Clone)]
pub struct HookRegistry {
    configured: Arc<Vec<Hook>>,
    store: Arc<dyn ItemStore>,
}

impl HookRegistry {
    pub fn new(configured: Vec<Hook>, store: Arc<dyn ItemStore>) -> Self {
        Self {
            configured: Arc::new(configured),
            store,
        }
    }

    pub async fn all(&self) -> Result<Vec<Hook>, AppError> {
        let mut out: Vec<Hook> = self.configured.as_ref().clone();
        let page = self.store.query(&Query::table(HOOKS_PK).limit(500)).await?;
        for item in page.items {
            match parse_hooks(&serde_json::Value::Array(vec![item.data.clone()]).to_string()) {
                Ok(mut hooks) => {
                    let hook = hooks.remove(0);
                    if !out.iter().any(|h| h.id == hook.id) {
                        out.push(hook);
                    }
                }
                Err(e) => tracing::warn!(hook = %item.sk, error = %e, "stored hook ignored"),
            }
        }
        Ok(out)
    }

    /// Stores a hook given as JSON (validated as the configuration is).
    pub async fn save(&self, json: &serde_json::Value) -> Result<Hook, AppError> {
        let hook = parse_hooks(&serde_json::Value::Array(vec![json.clone()]).to_string())
            .map_err(|e| AppError::Validation([("hook".to_string(), e)].into()))?
            .remove(0);
        let item = Item::new(HOOKS_PK, &hook.id, json.clone());
        self.store
            .write(vec![WriteOp::Put {
                item,
                condition: Condition::None,
            }])
            .await?;
        Ok(hook)
    }
}
