//! Conformance cases for state stores and the object stores under them.
//!
//! Every [`StateStore`] keeps the promises the engine relies on: state is
//! created once and a write made from an old read is refused, so racing
//! writers lose no update; a lock is taken by exactly one of many racers,
//! whether it was free or stale; a live lock refuses a second taker and
//! names its holder and lock id; only the holder renews and releases it; a
//! lock whose lease ran out is stale. Every [`ObjectStore`] (S3, GCS, Azure
//! Blob, a directory) does as [`MemoryObjects`](provider_core::state::MemoryObjects)
//! does: each conditional change is one step, and a failed condition
//! changes nothing.
//!
//! Use [`state_store_suite!`](crate::state_store_suite) and
//! [`object_store_suite!`](crate::object_store_suite) to get one
//! `#[tokio::test]` per case. Each case wants a fresh, empty place.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use provider_core::ErrorKind;
use provider_core::state::{
    HubState, LockInfo, ObjectStore, Outcome, ResourceRecord, StateStore, Version, unix_now,
};
use tokio::sync::Barrier;

/// How many runs race in the racing cases.
pub const RACERS: usize = 8;

/// Two handles on one fresh, empty place (a directory, a bucket and
/// prefix), as two processes would open it.
pub struct StateSubject {
    /// One handle.
    pub store: Arc<dyn StateStore>,
    /// Another handle on the same place.
    pub other: Arc<dyn StateStore>,
    _cleanup: Cleanup,
}

impl StateSubject {
    /// Two handles on the same fresh place.
    pub fn new(store: Arc<dyn StateStore>, other: Arc<dyn StateStore>) -> StateSubject {
        StateSubject {
            store,
            other,
            _cleanup: Cleanup(None),
        }
    }

    /// Runs `cleanup` (removing a directory, say) when the case is done.
    pub fn with_cleanup(mut self, cleanup: impl FnOnce() + Send + 'static) -> StateSubject {
        self._cleanup = Cleanup(Some(Box::new(cleanup)));
        self
    }

    /// Racer `i`'s handle: the two handles take turns.
    fn handle(&self, i: usize) -> Arc<dyn StateStore> {
        if i.is_multiple_of(2) {
            self.store.clone()
        } else {
            self.other.clone()
        }
    }
}

/// A fresh, empty place in an object store.
pub struct ObjectSubject {
    /// The objects.
    pub objects: Arc<dyn ObjectStore>,
    _cleanup: Cleanup,
}

impl ObjectSubject {
    /// Objects in a fresh place.
    pub fn new(objects: Arc<dyn ObjectStore>) -> ObjectSubject {
        ObjectSubject {
            objects,
            _cleanup: Cleanup(None),
        }
    }

    /// Runs `cleanup` (removing a directory, say) when the case is done.
    pub fn with_cleanup(mut self, cleanup: impl FnOnce() + Send + 'static) -> ObjectSubject {
        self._cleanup = Cleanup(Some(Box::new(cleanup)));
        self
    }
}

/// What to do when a case is done with its place.
struct Cleanup(Option<Box<dyn FnOnce() + Send>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(cleanup) = self.0.take() {
            cleanup();
        }
    }
}

/// Runs `racers` tasks that start `run` at the same moment, and gives
/// their outcomes in racer order.
async fn race<H, T, F, Fut>(racers: usize, handle: impl Fn(usize) -> H, run: F) -> Vec<T>
where
    F: Fn(usize, H) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(Barrier::new(racers));
    let tasks: Vec<_> = (0..racers)
        .map(|i| {
            let start = start.clone();
            let run = run(i, handle(i));
            tokio::spawn(async move {
                start.wait().await;
                run.await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a racer panicked"));
    }
    outcomes
}

fn live_lock() -> LockInfo {
    LockInfo::for_this_process("apply", Duration::from_secs(600))
}

/// A lock of this live process whose lease ran out: stale by its lease only.
fn expired_lock() -> LockInfo {
    LockInfo {
        expires_at: unix_now() - 1,
        ..live_lock()
    }
}

fn locked_by(error: &provider_core::Error, holder: &LockInfo) -> bool {
    matches!(error.kind(), ErrorKind::Locked { lock_id, .. } if lock_id == &holder.id)
}

fn record(name: &str) -> ResourceRecord {
    ResourceRecord {
        physical: name.into(),
        outputs: Default::default(),
        recorded_at: 1,
    }
}

fn state_with(serial: u64, resources: &[&str]) -> HubState {
    let mut state = HubState::new("hub", "sim");
    state.serial = serial;
    for name in resources {
        state.resources.insert((*name).into(), record(name));
    }
    state
}

fn names(state: &HubState) -> Vec<&str> {
    state.resources.keys().map(String::as_str).collect()
}

/// Of many runs that find no state and write their first one, exactly one
/// succeeds; the others are refused with `Conflict` and nothing of theirs
/// is stored.
pub async fn state_is_created_once(s: StateSubject) {
    let outcomes = race(
        RACERS,
        |i| s.handle(i),
        |i, store| async move {
            let state = state_with(1, &[&format!("made-by-{i}")]);
            store.write(&state).await
        },
    )
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|i| outcomes[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert_eq!(error.kind(), &ErrorKind::Conflict, "{error}");
        }
    }
    let stored = s.other.read("hub").await.unwrap().expect("state is stored");
    assert_eq!(names(&stored), [format!("made-by-{}", winners[0])]);
    assert_eq!(stored.serial, 1);
    assert_eq!(s.store.hubs().await.unwrap(), ["hub"]);
}

/// A write made from a read that another write has since overtaken is
/// refused and leaves the other write in place; made again from a fresh
/// read, it keeps both. Writing what is stored again (a retry) succeeds.
pub async fn a_lost_update_is_refused(s: StateSubject) {
    s.store.write(&state_with(1, &["cluster"])).await.unwrap();
    let mut mine = s.store.read("hub").await.unwrap().unwrap();
    let mut theirs = s.other.read("hub").await.unwrap().unwrap();
    theirs.resources.insert("theirs".into(), record("theirs"));
    theirs.serial += 1;
    s.other.write(&theirs).await.unwrap();

    mine.resources.insert("mine".into(), record("mine"));
    mine.serial += 1;
    let refused = s.store.write(&mine).await.unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::Conflict, "{refused}");
    let stored = s.store.read("hub").await.unwrap().unwrap();
    assert_eq!(names(&stored), ["cluster", "theirs"]);
    assert_eq!(stored.serial, 2);

    let mut again = stored;
    again.resources.insert("mine".into(), record("mine"));
    again.serial += 1;
    s.store.write(&again).await.unwrap();
    s.store.write(&again).await.unwrap();
    let stored = s.other.read("hub").await.unwrap().unwrap();
    assert_eq!(names(&stored), ["cluster", "mine", "theirs"]);
    assert_eq!(stored.serial, 3);
}

/// Many writers, through both handles at once, each add resources by
/// read, change, write, and read again when refused: every resource is
/// stored in the end, and the serial counts every write.
pub async fn racing_writers_lose_no_update(s: StateSubject) {
    const EACH: usize = 4;
    let outcomes = race(
        RACERS,
        |i| s.handle(i),
        |i, store| async move {
            let mut refusals = 0;
            for n in 0..EACH {
                loop {
                    let mut state = match store.read("hub").await? {
                        Some(state) => state,
                        None => HubState::new("hub", "sim"),
                    };
                    let name = format!("writer-{i}-{n}");
                    state.resources.insert(name.clone(), record(&name));
                    state.serial += 1;
                    match store.write(&state).await {
                        Ok(()) => break,
                        Err(error) if error.kind() == &ErrorKind::Conflict && refusals < 500 => {
                            refusals += 1;
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
            Ok::<usize, provider_core::Error>(refusals)
        },
    )
    .await;
    for outcome in &outcomes {
        assert!(outcome.is_ok(), "a writer gave up: {outcome:?}");
    }
    let stored = s.store.read("hub").await.unwrap().unwrap();
    let expected: BTreeSet<String> = (0..RACERS)
        .flat_map(|i| (0..EACH).map(move |n| format!("writer-{i}-{n}")))
        .collect();
    let got: BTreeSet<String> = stored.resources.keys().cloned().collect();
    assert_eq!(got, expected, "updates were lost");
    assert_eq!(stored.serial, (RACERS * EACH) as u64);
}

/// Of many runs that find a hub unlocked and lock it at once, exactly one
/// holds the lock; every other is told who does, with the lock id.
pub async fn one_of_many_takes_a_free_lock(s: StateSubject) {
    one_of_many_locks(&s, None).await;
}

/// Many runs find one stale lock at once, round after round: exactly one
/// takes it over (a compare-and-swap against the stale lock it read) and
/// is told whose it was; every other is told who holds it now.
pub async fn one_of_many_takes_over_a_stale_lock(s: StateSubject) {
    const ROUNDS: usize = 6;
    let mut holder: Option<LockInfo> = None;
    for _ in 0..ROUNDS {
        if let Some(holder) = holder.take() {
            s.store.unlock("hub", &holder.id).await.unwrap();
        }
        let stale = expired_lock();
        assert_eq!(s.store.lock("hub", &stale).await.unwrap(), None);
        holder = Some(one_of_many_locks(&s, Some(&stale)).await);
    }
}

/// Racers lock the hub at once, through both handles, where `found` is
/// the lock (stale) or nothing. Exactly one takes the lock and is told it
/// took over `found`; every other is told the winner holds it. The winner.
async fn one_of_many_locks(s: &StateSubject, found: Option<&LockInfo>) -> LockInfo {
    let requests: Vec<LockInfo> = (0..RACERS).map(|_| live_lock()).collect();
    let outcomes = race(
        RACERS,
        |i| (s.handle(i), requests[i].clone()),
        |_, (store, request)| async move { store.lock("hub", &request).await },
    )
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|i| outcomes[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "found {found:?}: {outcomes:?}");
    let winner = &requests[winners[0]];
    for outcome in &outcomes {
        match outcome {
            Ok(taken_over) => assert_eq!(
                taken_over.as_ref().map(|l| &l.id),
                found.map(|l| &l.id),
                "the winner is told whose lock it took over, if any"
            ),
            Err(error) => assert!(locked_by(error, winner), "{error}"),
        }
    }
    assert_eq!(
        s.other.current_lock("hub").await.unwrap().as_ref(),
        Some(winner)
    );
    winner.clone()
}

/// A live lock refuses a second taker with `Locked`, naming the holder and
/// the lock id (and how to clear it), and stays as it was.
pub async fn a_live_lock_refuses_a_second_taker(s: StateSubject) {
    let holder = live_lock();
    assert_eq!(s.store.lock("hub", &holder).await.unwrap(), None);
    for store in [&s.store, &s.other] {
        let error = store.lock("hub", &live_lock()).await.unwrap_err();
        match error.kind() {
            ErrorKind::Locked {
                holder: named,
                lock_id,
            } => {
                assert_eq!(lock_id, &holder.id);
                assert!(named.contains(&holder.owner), "{named}");
            }
            other => panic!("expected Locked, got {other:?}: {error}"),
        }
        assert!(
            error.message().contains(&holder.id)
                && error
                    .message()
                    .contains(&format!("hubforge state unlock {}", holder.id)),
            "{error}"
        );
    }
    assert_eq!(s.other.current_lock("hub").await.unwrap(), Some(holder));
}

/// Only the holder renews the lock and only its id releases it: another
/// run's renewal is told who holds it, and its release is refused; after
/// the release, renewing and releasing find no lock.
pub async fn only_the_holder_renews_and_releases(s: StateSubject) {
    let now = unix_now();
    // Taken 50 s ago with a 60 s lease: renewal gives it 60 s from now.
    let holder = LockInfo {
        created_at: now - 50,
        expires_at: now + 10,
        ..live_lock()
    };
    s.store.lock("hub", &holder).await.unwrap();
    s.other.renew("hub", &holder).await.unwrap();
    let renewed = s.store.current_lock("hub").await.unwrap().unwrap();
    assert!(
        renewed.expires_at >= now + 60 && renewed.expires_at <= unix_now() + 60,
        "renewed until {} at {now}",
        renewed.expires_at
    );
    assert_eq!(
        (&renewed.id, renewed.created_at),
        (&holder.id, holder.created_at)
    );

    let stranger = live_lock();
    let error = s.other.renew("hub", &stranger).await.unwrap_err();
    assert!(locked_by(&error, &holder), "{error}");
    let error = s.other.unlock("hub", &stranger.id).await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::Conflict, "{error}");
    assert_eq!(s.store.current_lock("hub").await.unwrap(), Some(renewed));

    s.other.unlock("hub", &holder.id).await.unwrap();
    assert_eq!(s.store.current_lock("hub").await.unwrap(), None);
    let error = s.store.renew("hub", &holder).await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::NotFound, "{error}");
    let error = s.store.unlock("hub", &holder.id).await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::NotFound, "{error}");
}

/// A lock whose lease ran out is stale even though its process lives: it
/// is taken over and reported, and its old holder can no longer renew it.
pub async fn an_expired_lease_is_stale(s: StateSubject) {
    let expired = expired_lock();
    assert!(expired.is_stale());
    s.store.lock("hub", &expired).await.unwrap();
    let next = live_lock();
    let taken_over = s.other.lock("hub", &next).await.unwrap();
    assert_eq!(taken_over.as_ref().map(|l| &l.id), Some(&expired.id));
    assert_eq!(
        s.store.current_lock("hub").await.unwrap(),
        Some(next.clone())
    );
    let error = s.store.renew("hub", &expired).await.unwrap_err();
    assert!(locked_by(&error, &next), "{error}");
}

/// Hubs with state or a lock are listed, sorted; removed state is gone,
/// and removing state that is not there is no error.
pub async fn hubs_are_listed_and_state_removed(s: StateSubject) {
    let mut b = state_with(1, &["cluster"]);
    b.hub = "b".into();
    let mut a = b.clone();
    a.hub = "a".into();
    s.store.write(&b).await.unwrap();
    s.other.write(&a).await.unwrap();
    let lock = live_lock();
    s.store.lock("c", &lock).await.unwrap();
    assert_eq!(s.other.hubs().await.unwrap(), ["a", "b", "c"]);
    s.other.remove("a").await.unwrap();
    s.other.remove("nothing-here").await.unwrap();
    assert_eq!(s.store.read("a").await.unwrap(), None);
    assert_eq!(s.store.read("b").await.unwrap().map(|s| s.serial), Some(1));
    s.store.unlock("c", &lock.id).await.unwrap();
    assert_eq!(s.store.hubs().await.unwrap(), ["b"]);
}

/// Generates one `#[tokio::test]` per state-store case. `$subject` is an
/// expression giving a fresh [`StateSubject`], evaluated once per case
/// (it may `.await`).
#[macro_export]
macro_rules! state_store_suite {
    ($subject:expr) => {
        $crate::state_store_suite!(@cases $subject;
            state_is_created_once, a_lost_update_is_refused, racing_writers_lose_no_update,
            one_of_many_takes_a_free_lock, one_of_many_takes_over_a_stale_lock,
            a_live_lock_refuses_a_second_taker, only_the_holder_renews_and_releases,
            an_expired_lease_is_stale, hubs_are_listed_and_state_removed);
    };
    (@cases $subject:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::state::$case($subject).await;
            }
        )*
    };
}

/// An object is created once: a second create changes nothing, and of
/// many racing creates exactly one is made.
pub async fn objects_are_created_once(subject: ObjectSubject) {
    let o = subject.objects.clone();
    assert_eq!(o.create("a/x.json", b"first").await.unwrap(), Outcome::Done);
    assert_eq!(
        o.create("a/x.json", b"second").await.unwrap(),
        Outcome::ConditionFailed
    );
    assert_eq!(o.get("a/x.json").await.unwrap().unwrap().body, b"first");

    one_of_many_changes(&o, "a/raced.json", None).await;
}

/// Replace and delete need the version that is there: an old version, or
/// an object that is gone, fails the condition and changes nothing.
pub async fn changes_need_the_current_version(subject: ObjectSubject) {
    let o = subject.objects.clone();
    assert_eq!(o.get("k.json").await.unwrap(), None);
    assert_eq!(o.create("k.json", b"one").await.unwrap(), Outcome::Done);
    let one = o.get("k.json").await.unwrap().unwrap().version;
    assert_eq!(
        o.replace("k.json", &one, b"two").await.unwrap(),
        Outcome::Done
    );
    let two = o.get("k.json").await.unwrap().unwrap();
    assert_eq!(two.body, b"two");
    assert_ne!(two.version, one, "new content, new version");
    let failed = Outcome::ConditionFailed;
    assert_eq!(o.replace("k.json", &one, b"three").await.unwrap(), failed);
    assert_eq!(o.delete("k.json", &one).await.unwrap(), failed);
    assert_eq!(o.get("k.json").await.unwrap().unwrap(), two);

    assert_eq!(
        o.delete("k.json", &two.version).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(o.get("k.json").await.unwrap(), None);
    assert_eq!(
        o.replace("k.json", &two.version, b"x").await.unwrap(),
        failed
    );
    assert_eq!(o.delete("k.json", &two.version).await.unwrap(), failed);
    assert_eq!(o.get("k.json").await.unwrap(), None);
    assert_eq!(o.create("k.json", b"again").await.unwrap(), Outcome::Done);
}

/// Of many racing replacements of one version, exactly one is made.
pub async fn racing_replacements_leave_one_winner(subject: ObjectSubject) {
    let o = subject.objects.clone();
    assert_eq!(o.create("r.json", b"start").await.unwrap(), Outcome::Done);
    let start = o.get("r.json").await.unwrap().unwrap().version;
    one_of_many_changes(&o, "r.json", Some(start)).await;
}

/// Racers change `key` at once, each to its own body: they create it
/// (`version` is `None`) or replace `version`. Exactly one change is made,
/// every other fails its condition, and the object holds the winner's body.
async fn one_of_many_changes(
    o: &Arc<dyn ObjectStore>,
    key: &'static str,
    version: Option<Version>,
) {
    let outcomes = race(
        RACERS,
        |_| (o.clone(), version.clone()),
        |i, (o, version)| async move {
            let body = format!("racer {i}");
            match version {
                None => o.create(key, body.as_bytes()).await,
                Some(version) => o.replace(key, &version, body.as_bytes()).await,
            }
        },
    )
    .await;
    let winners: Vec<usize> = (0..RACERS)
        .filter(|i| matches!(outcomes[*i], Ok(Outcome::Done)))
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok()), "{outcomes:?}");
    assert_eq!(
        o.get(key).await.unwrap().unwrap().body,
        format!("racer {}", winners[0]).as_bytes()
    );
}

/// Keys are listed by prefix, sorted.
pub async fn keys_are_listed_by_prefix(subject: ObjectSubject) {
    let o = subject.objects.clone();
    for key in ["b/x.json", "a/y.json", "ab/z.json", "a/x.json"] {
        assert_eq!(o.create(key, b"{}").await.unwrap(), Outcome::Done);
    }
    assert_eq!(o.list("a/").await.unwrap(), ["a/x.json", "a/y.json"]);
    assert_eq!(
        o.list("").await.unwrap(),
        ["a/x.json", "a/y.json", "ab/z.json", "b/x.json"]
    );
    assert!(o.list("c/").await.unwrap().is_empty());
}

/// Generates one `#[tokio::test]` per object-store case. `$objects` is an
/// expression giving a fresh [`ObjectSubject`], evaluated once per case
/// (it may `.await`).
#[macro_export]
macro_rules! object_store_suite {
    ($objects:expr) => {
        $crate::object_store_suite!(@cases $objects;
            objects_are_created_once, changes_need_the_current_version,
            racing_replacements_leave_one_winner, keys_are_listed_by_prefix);
    };
    (@cases $objects:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::state::$case($objects).await;
            }
        )*
    };
}
