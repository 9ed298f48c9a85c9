//! Tags on cloud resources, as every provider handles them: changing a
//! resource's tags to the wanted ones ([`TagDiff`]), and finding the
//! resources a hub owns by their tags ([`owned`]).
//!
//! The tags themselves are defined with the provider traits
//! ([`crate::provider::ownership_tags`], [`crate::provider::resource_tags`])
//! and the resource tag's value with [`crate::id::NodeId::tag`].

use std::collections::BTreeMap;
use std::future::Future;

use crate::error::Result;
use crate::provider::owned_by;

/// Tags as clouds carry them: key to value.
pub type Tags = BTreeMap<String, String>;

/// What changes a resource's tags from `current` to `desired`: the keys
/// to set (new or with another value) and the stale keys to remove.
/// Tagging APIs add and overwrite but never drop a key on their own, so a
/// retag that only sets leaves a removed tag behind for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagDiff {
    /// Keys to set, with their values.
    pub set: Tags,
    /// Keys the resource has and the desired tags do not.
    pub remove: Vec<String>,
}

impl TagDiff {
    /// The change from `current` to `desired`.
    pub fn between(current: &Tags, desired: &Tags) -> TagDiff {
        TagDiff {
            set: desired
                .iter()
                .filter(|(key, value)| current.get(*key) != Some(*value))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            remove: current
                .keys()
                .filter(|key| !desired.contains_key(*key))
                .cloned()
                .collect(),
        }
    }

    /// Whether the tags are as desired already.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Sends the change with the cloud's two calls, each only when it has
    /// something to do: `untag` with the stale keys first, then `tag` with
    /// the keys to set.
    pub async fn apply<U, UF, T, TF, A, B>(self, untag: U, tag: T) -> Result<()>
    where
        U: FnOnce(Vec<String>) -> UF,
        UF: Future<Output = Result<A>>,
        T: FnOnce(Tags) -> TF,
        TF: Future<Output = Result<B>>,
    {
        if !self.remove.is_empty() {
            untag(self.remove).await?;
        }
        if !self.set.is_empty() {
            tag(self.set).await?;
        }
        Ok(())
    }
}

/// Of `candidates` (names or ids a listing gave), those `hub` owns, each
/// with its tags, in listing order. `read` reads one candidate's tags
/// (with whatever else the caller wants of it); `None` passes it over (it
/// went between the listing and the read).
pub async fn owned<C, R, F, Fut>(
    hub: &str,
    candidates: impl IntoIterator<Item = C>,
    mut read: F,
) -> Result<Vec<(R, Tags)>>
where
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Option<(R, Tags)>>>,
{
    let mut kept = Vec::new();
    for candidate in candidates {
        if let Some((item, tags)) = read(candidate).await?
            && owned_by(&tags, hub)
        {
            kept.push((item, tags));
        }
    }
    Ok(kept)
}

/// `tags` in the shape a cloud SDK takes them (`Vec<aws_sdk_iam::types::Tag>`),
/// made by `tag` from each key and value.
pub fn each<T>(tags: &Tags, tag: impl Fn(&str, &str) -> T) -> Vec<T> {
    tags.iter().map(|(key, value)| tag(key, value)).collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::provider::ownership_tags;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_diff_sets_what_is_new_or_changed_and_removes_what_is_stale() {
        let current = tags(&[("team", "a"), ("cost", "x"), ("same", "1")]);
        let desired = tags(&[("team", "b"), ("same", "1"), ("new", "y")]);
        let diff = TagDiff::between(&current, &desired);
        assert_eq!(diff.set, tags(&[("team", "b"), ("new", "y")]));
        assert_eq!(diff.remove, ["cost"]);
        assert!(!diff.is_empty());
        assert!(TagDiff::between(&desired, &desired).is_empty());
        let from_nothing = TagDiff::between(&Tags::new(), &desired);
        assert_eq!((from_nothing.set, from_nothing.remove.len()), (desired, 0));
    }

    #[tokio::test]
    async fn apply_removes_first_and_calls_nothing_when_nothing_changes() {
        let calls = RefCell::new(Vec::new());
        let untag = |keys: Vec<String>| {
            calls.borrow_mut().push(format!("untag {}", keys.join(",")));
            async { Ok(()) }
        };
        let tag = |set: Tags| {
            let keys: Vec<String> = set.into_keys().collect();
            calls.borrow_mut().push(format!("tag {}", keys.join(",")));
            async { Ok(()) }
        };
        TagDiff::between(&tags(&[("old", "1"), ("k", "1")]), &tags(&[("k", "2")]))
            .apply(untag, tag)
            .await
            .unwrap();
        assert_eq!(*calls.borrow(), ["untag old", "tag k"]);
        calls.borrow_mut().clear();
        TagDiff::between(&tags(&[("k", "2")]), &tags(&[("k", "2")]))
            .apply(untag, tag)
            .await
            .unwrap();
        assert!(calls.borrow().is_empty());
    }

    #[tokio::test]
    async fn a_failed_untag_stops_before_tagging() {
        let tagged = RefCell::new(false);
        let error = TagDiff::between(&tags(&[("old", "1")]), &tags(&[("k", "2")]))
            .apply(
                |_| async { Err::<(), _>(Error::new(ErrorKind::PermissionDenied, "t", "no")) },
                |_| {
                    *tagged.borrow_mut() = true;
                    async { Ok(()) }
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::PermissionDenied);
        assert!(!*tagged.borrow());
    }

    #[tokio::test]
    async fn owned_keeps_the_hubs_in_order_and_passes_over_the_rest() {
        let mut theirs = ownership_tags("hub");
        theirs.insert("extra".into(), "1".into());
        let tags_of = |name: &str| match name {
            "a" | "d" => Some(theirs.clone()),
            "b" => Some(ownership_tags("other")),
            "c" => Some(Tags::new()),
            _ => None,
        };
        let kept = owned("hub", ["a", "b", "c", "gone", "d"], |name| {
            let found = tags_of(name).map(|t| (name.to_uppercase(), t));
            async move { Ok(found) }
        })
        .await
        .unwrap();
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "D"]);
        assert_eq!(kept[0].1, theirs);

        let failed = owned("hub", ["a"], |_| async {
            Err::<Option<((), Tags)>, _>(Error::new(ErrorKind::Transient, "t", "5xx"))
        })
        .await;
        assert!(failed.is_err(), "a failed read fails the listing");
    }

    #[test]
    fn each_builds_the_sdk_shape() {
        let built = each(&tags(&[("a", "1"), ("b", "2")]), |k, v| format!("{k}={v}"));
        assert_eq!(built, ["a=1", "b=2"]);
    }
}
