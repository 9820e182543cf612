//! Answers of full-text searches kept while the database does not change: a search asked
//! again (a word being typed by many users, a popular query) is answered from memory.
//!
//! Correctness rests on the change log: every committed write, by ssot or by anyone else
//! (its triggers record them), moves its `seq` on. An answer is stored with the `seq` its
//! own snapshot stood at and served only to a request that finds the log at that same
//! `seq`, read from the database as it arrives; the first answer stored at a newer `seq`
//! drops all the older ones. The key is the model, the request's arguments and the whole
//! caller (kind and claims, the current row's fields among them), so one caller never gets
//! another's rows. Rules that read `now()` change their answer without a write: with any
//! of them in the schema, nothing is cached.
//!
//! A search asked again while the same one is still running (many users typing the same
//! word at once), with the log at the same `seq`, waits for that one's answer instead of
//! running too ([`SearchCache::begin`]): its snapshot is taken after that `seq` was read,
//! so it holds every write the later asker could have seen.

use ssot_access::operation::{Action, Outcome, Request};
use ssot_access::Caller;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The default memory for answers: 64 MiB (a page of 20 rows of a few hundred words is
/// 15 KiB of JSON: a few thousand answers).
pub const DEFAULT_BYTES: usize = 64 << 20;

pub struct SearchCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
    /// Searches running now, by key: the `seq` the log stood at when each was asked, and
    /// who waits for its answer.
    running: Mutex<Running>,
}

/// Searches running, by key: the `seq` each was asked at, and its followers.
type Running = HashMap<String, (i64, Vec<oneshot::Sender<Outcome>>)>;

/// Whether a search is to run or to wait for the same one already running.
pub enum Flight<'c> {
    /// Run it, and [`Lead::finish`] with the answer.
    Lead(Lead<'c>),
    /// Wait: the answer of the one running (an error when that one failed or was
    /// cancelled, and then this one runs itself).
    Follow(oneshot::Receiver<Outcome>),
}

/// The search running for a key: its followers hear its answer, or, when it is dropped
/// without one, that they must run themselves.
pub struct Lead<'c> {
    cache: &'c SearchCache,
    /// The entry it holds in `running` (none when it runs alone).
    key: Option<String>,
}

impl<'c> Lead<'c> {
    /// A search that runs without followers.
    pub fn alone(cache: &'c SearchCache) -> Lead<'c> {
        Lead { cache, key: None }
    }

    /// Hands `outcome` to every follower.
    pub fn finish(mut self, outcome: &Outcome) {
        // Taken, so that the drop that follows cannot remove a later search's entry.
        let Some(key) = self.key.take() else { return };
        let followers = self.cache.running().remove(&key).map(|(_, f)| f).unwrap_or_default();
        for follower in followers {
            let _ = follower.send(outcome.clone());
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // Not finished (failed, or its request went away): the followers' senders go
        // with the entry, which tells them to run themselves.
        if let Some(key) = &self.key {
            self.cache.running().remove(key);
        }
    }
}

#[derive(Default)]
struct Inner {
    /// The `seq` every entry stands at.
    seq: i64,
    entries: HashMap<String, (Outcome, usize)>,
    /// Keys, oldest first: the first to go when the memory is full.
    order: VecDeque<String>,
    bytes: usize,
}

impl SearchCache {
    /// A cache of at most `max_bytes` of answers; `None` when that is 0.
    pub fn new(max_bytes: usize) -> Option<SearchCache> {
        (max_bytes > 0).then(|| SearchCache { max_bytes, inner: Mutex::default(), running: Mutex::default() })
    }

    /// The search for `key`, asked with the log at `seq` (and not in the cache): to lead,
    /// or to follow the same search already running from that same `seq`.
    pub fn begin(&self, key: &str, seq: i64) -> Flight<'_> {
        let mut running = self.running();
        match running.get_mut(key) {
            Some((asked_at, followers)) if *asked_at == seq => {
                let (sender, receiver) = oneshot::channel();
                followers.push(sender);
                Flight::Follow(receiver)
            }
            // Asked at another `seq`: its answer may miss a write this asker saw.
            Some(_) => Flight::Lead(Lead::alone(self)),
            None => {
                running.insert(key.to_string(), (seq, Vec::new()));
                Flight::Lead(Lead { cache: self, key: Some(key.to_string()) })
            }
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key of `request` by `caller`, when it is a search (a list with `search`).
    pub fn key(request: &Request, caller: &Caller) -> Option<String> {
        if request.action != Action::List || !request.args.contains_key("search") {
            return None;
        }
        let who = match caller {
            Caller::Anonymous => "anonymous".to_string(),
            Caller::Admin => "admin".to_string(),
            Caller::User(claims) => serde_json::to_string(&**claims).ok()?,
        };
        // `args` is a sorted map: the same arguments give the same text.
        Some(format!("{}\u{1}{}\u{1}{who}", request.model, serde_json::to_string(&request.args).ok()?))
    }

    /// The answer stored for `key` when the log stands at `seq`.
    pub fn get(&self, key: &str, seq: i64) -> Option<Outcome> {
        let inner = self.lock();
        if inner.seq != seq {
            return None;
        }
        inner.entries.get(key).map(|(outcome, _)| outcome.clone())
    }

    /// Keeps `outcome`, read in a snapshot at `seq`.
    pub fn put(&self, key: String, seq: i64, outcome: &Outcome) {
        // In memory a JSON tree takes about twice its text (an allocation per string and
        // per key, map nodes): counted so, the limit bounds the memory, not the text.
        let size = key.len() + 2 * outcome.body.to_string().len();
        if size > self.max_bytes / 4 {
            return;
        }
        let mut inner = self.lock();
        if seq < inner.seq {
            return;
        }
        if seq > inner.seq {
            *inner = Inner { seq, ..Inner::default() };
        }
        if inner.entries.contains_key(&key) {
            return;
        }
        while inner.bytes + size > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some((_, freed)) = inner.entries.remove(&oldest) {
                inner.bytes -= freed;
            }
        }
        inner.bytes += size;
        inner.order.push_back(key.clone());
        inner.entries.insert(key, (outcome.clone(), size));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(text: &str) -> Outcome {
        Outcome { created: false, body: json!({"data": [text]}), key: None }
    }

    #[test]
    fn answers_only_at_the_seq_they_were_read_at() {
        let cache = SearchCache::new(1 << 20).expect("cache");
        cache.put("a".into(), 5, &outcome("five"));
        assert_eq!(cache.get("a", 5), Some(outcome("five")));
        assert_eq!(cache.get("a", 6), None, "the log moved on: not served");
        assert_eq!(cache.get("b", 5), None);
        cache.put("b".into(), 6, &outcome("six"));
        assert_eq!(cache.get("a", 5), None, "a newer answer drops the older ones");
        cache.put("a".into(), 5, &outcome("late"));
        assert_eq!(cache.get("a", 5), None, "an answer older than the cache is not kept");
        assert_eq!(cache.get("b", 6), Some(outcome("six")));
    }

    #[test]
    fn the_oldest_answers_go_when_memory_is_full() {
        let size = "k0".len() + 2 * outcome("x").body.to_string().len();
        let cache = SearchCache::new(size * 4).expect("cache");
        for i in 0..6 {
            cache.put(format!("k{i}"), 1, &outcome("x"));
        }
        assert_eq!(cache.get("k0", 1), None);
        assert_eq!(cache.get("k1", 1), None);
        assert!(cache.get("k2", 1).is_some() && cache.get("k5", 1).is_some());
        assert!(SearchCache::new(0).is_none(), "0 bytes: no cache");
    }

    #[test]
    fn the_same_search_running_is_followed_not_run_again() {
        let cache = SearchCache::new(1 << 20).expect("cache");
        let Flight::Lead(lead) = cache.begin("q", 7) else { panic!("the first one leads") };
        let Flight::Follow(mut first) = cache.begin("q", 7) else { panic!("the same search at the same seq follows") };
        let Flight::Follow(mut second) = cache.begin("q", 7) else { panic!("and so does a third") };
        assert!(matches!(cache.begin("q", 8), Flight::Lead(_)), "asked at another seq: runs itself");
        assert!(matches!(cache.begin("other", 7), Flight::Lead(_)), "another search runs");
        lead.finish(&outcome("answer"));
        assert_eq!(first.try_recv().ok(), Some(outcome("answer")));
        assert_eq!(second.try_recv().ok(), Some(outcome("answer")));
        assert!(matches!(cache.begin("q", 7), Flight::Lead(_)), "finished: the next one leads");
    }

    #[test]
    fn followers_of_a_search_that_failed_run_themselves() {
        let cache = SearchCache::new(1 << 20).expect("cache");
        let lead = cache.begin("q", 7);
        let Flight::Follow(mut follower) = cache.begin("q", 7) else { panic!("follows") };
        drop(lead);
        assert!(follower.try_recv().is_err(), "told to run itself");
        assert!(matches!(cache.begin("q", 7), Flight::Lead(_)));
    }

    #[test]
    fn only_searches_have_keys_and_each_caller_its_own() {
        let mut args = serde_json::Map::new();
        args.insert("take".into(), json!(20));
        let list = Request { model: 1, action: Action::List, id: None, args: args.clone(), data: None };
        assert_eq!(SearchCache::key(&list, &Caller::Admin), None, "a list without search is not cached");
        args.insert("search".into(), json!("hello"));
        let search = Request { model: 1, action: Action::List, id: None, args, data: None };
        let ann = Caller::User(std::sync::Arc::new(json!({"sub": "ann"}).as_object().cloned().unwrap_or_default()));
        let bob = Caller::User(std::sync::Arc::new(json!({"sub": "bob"}).as_object().cloned().unwrap_or_default()));
        let keys = [&Caller::Anonymous, &Caller::Admin, &ann, &bob].map(|c| SearchCache::key(&search, c));
        for (i, a) in keys.iter().enumerate() {
            assert!(a.is_some());
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
