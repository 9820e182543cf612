//! Login rate limits: per account and per client address, in fixed windows kept in
//! memory (one instance; a cluster counts per instance).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Failed logins an account may take per window.
    pub per_account: u32,
    /// Login attempts an address may make per window.
    pub per_address: u32,
    pub window: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings { per_account: 10, per_address: 100, window: Duration::from_secs(15 * 60) }
    }
}

pub struct Limits {
    settings: LimitSettings,
    accounts: Mutex<HashMap<String, (u32, Instant)>>,
    addresses: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

impl Limits {
    pub fn new(settings: LimitSettings) -> Limits {
        Limits { settings, accounts: Mutex::default(), addresses: Mutex::default() }
    }

    fn count(&self, map: &Mutex<HashMap<String, (u32, Instant)>>, key: &str, add: u32) -> u32 {
        let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let window = self.settings.window;
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, start)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_string()).or_insert((0, now));
        if now.duration_since(entry.1) >= window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(add);
        entry.0
    }

    /// Counts an attempt from `address` at `account`; the seconds to wait when either is
    /// over its limit.
    pub fn attempt(&self, account: &str, address: &str) -> Option<u64> {
        let by_address = self.count(&self.addresses, address, 1);
        let by_account = self.count(&self.accounts, account, 0);
        (by_address > self.settings.per_address || by_account >= self.settings.per_account)
            .then_some(self.settings.window.as_secs())
    }

    /// Counts a failed login at `account`.
    pub fn failed(&self, account: &str) {
        self.count(&self.accounts, account, 1);
    }

    /// A successful login clears the account's failures.
    pub fn succeeded(&self, account: &str) {
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(account);
    }
}
