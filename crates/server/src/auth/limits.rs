//! Login rate limits: per account and per client address, in fixed windows kept in
//! memory (one instance; a cluster counts per instance).
//!
//! Every attempt counts when it starts (so parallel guesses cannot all pass before the
//! first failure is counted), and a successful login clears its account. Accounts are
//! counted by the identity exactly as it is looked up; addresses by IPv4 address or IPv6
//! /64 (one host usually holds a whole /64). Sign-ups count against their address too.
//! Memory is bounded: expired windows are swept once a minute, and when the table is full
//! the oldest window makes room.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    /// Logins an account may be tried with per window (a success clears the count).
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

/// The most accounts and addresses tracked at once (each entry holds at most a
/// 320-byte identity).
const MAX_TRACKED: usize = 100_000;
const SWEEP_EVERY: Duration = Duration::from_secs(60);

struct Windows {
    counts: HashMap<String, (u32, Instant)>,
    swept: Instant,
}

impl Default for Windows {
    fn default() -> Self {
        Windows { counts: HashMap::new(), swept: Instant::now() }
    }
}

pub struct Limits {
    settings: LimitSettings,
    accounts: Mutex<Windows>,
    addresses: Mutex<Windows>,
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Limits {
        Limits { settings, accounts: Mutex::default(), addresses: Mutex::default() }
    }

    /// Counts one attempt at `key`; whether it is still within `limit`.
    fn take(&self, windows: &Mutex<Windows>, key: &str, limit: u32) -> bool {
        let mut w = windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let window = self.settings.window;
        if now.duration_since(w.swept) >= SWEEP_EVERY {
            w.counts.retain(|_, (_, start)| now.duration_since(*start) < window);
            w.swept = now;
        }
        if !w.counts.contains_key(key) && w.counts.len() >= MAX_TRACKED {
            let oldest = w.counts.iter().min_by_key(|(_, (_, start))| *start).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                w.counts.remove(&oldest);
            }
        }
        let entry = w.counts.entry(key.to_string()).or_insert((0, now));
        if now.duration_since(entry.1) >= window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
        entry.0 <= limit
    }

    /// Counts a login attempt from `address` at `account`: the seconds to wait when
    /// either is over its limit.
    pub fn attempt(&self, account: &str, address: std::net::IpAddr) -> Option<u64> {
        let wait = Some(self.settings.window.as_secs());
        if !self.take(&self.addresses, &address_key(address), self.settings.per_address) {
            return wait;
        }
        if !self.take(&self.accounts, account, self.settings.per_account) {
            return wait;
        }
        None
    }

    /// Counts an attempt at `account` alone (a signed-in user's password check): the
    /// seconds to wait when it is over its limit.
    pub fn account_attempt(&self, account: &str) -> Option<u64> {
        (!self.take(&self.accounts, account, self.settings.per_account)).then_some(self.settings.window.as_secs())
    }

    /// Counts a sign-up from `address`: the seconds to wait when it is over its limit.
    pub fn sign_up(&self, address: std::net::IpAddr) -> Option<u64> {
        (!self.take(&self.addresses, &address_key(address), self.settings.per_address))
            .then_some(self.settings.window.as_secs())
    }

    /// A successful login clears the account's count.
    pub fn succeeded(&self, account: &str) {
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).counts.remove(account);
    }
}

/// The key an address is counted by: an IPv4 address, or an IPv6 address's /64.
fn address_key(address: std::net::IpAddr) -> String {
    match address {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}
