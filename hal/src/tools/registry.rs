//! The registry of a board's tools.

use std::collections::BTreeMap;

use super::spec::ToolSpec;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("tool `{0}` is declared twice")]
    Duplicate(String),
}

/// A board's tools by name, in declaration order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolRegistry {
    tools: Vec<ToolSpec>,
    index: BTreeMap<String, usize>,
}

impl ToolRegistry {
    pub fn from_specs(tools: Vec<ToolSpec>) -> Result<Self, RegistryError> {
        let mut index = BTreeMap::new();
        for (i, t) in tools.iter().enumerate() {
            if index.insert(t.name.clone(), i).is_some() {
                return Err(RegistryError::Duplicate(t.name.clone()));
            }
        }
        Ok(Self { tools, index })
    }

    pub fn get(&self, name: &str) -> Option<&ToolSpec> {
        self.index.get(name).map(|&i| &self.tools[i])
    }

    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(|t| t.name.as_str())
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}
