//! `ssot_rank`, the FTS5 auxiliary function searches order by, registered on every SQLite
//! connection through the `fts5_api` pointer.
//!
//! Why not FTS5's own `bm25()`: it reads the whole row's length (hidden columns included)
//! and statistics over every row of the table, rows the caller may not read among them,
//! so the order of a caller's results would depend on text they cannot see.
//! `ssot_rank(fts, w1, w2, ...)` scores a row from its own matches alone: for each phrase
//! of the query and each column, the number of matches `tf` counts as `tf / (tf + 1.2)`
//! (more matches help, with diminishing returns), times the column's weight. A hidden
//! column gets weight 0 (and the query's column filter gives it no matches anyway).
//!
//! All of the FFI of the search lives here.

use super::DbError;
use rusqlite::ffi;
use std::ffi::{c_int, c_void};

/// The function's SQL name.
pub const RANK: &str = "ssot_rank";

/// Registers [`RANK`] on `conn`.
pub fn register(conn: &rusqlite::Connection) -> Result<(), DbError> {
    let failed = |what: &str| DbError::Other(format!("cannot register the search ranking function: {what}"));
    let mut api: *mut ffi::fts5_api = std::ptr::null_mut();
    let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
    // SAFETY: `conn.handle()` is the open connection `conn` owns, used only on this thread
    // while `conn` is borrowed. The statement is prepared from a NUL-terminated literal,
    // and finalized before returning on every path. `sqlite3_bind_pointer` stores `&mut
    // api` (a live local that outlives the statement) under the type name FTS5 expects,
    // a static C string; `SELECT fts5(?1)` writes the API pointer into it during the step.
    let rc = unsafe {
        let db = conn.handle();
        let rc = ffi::sqlite3_prepare_v2(db, c"SELECT fts5(?1)".as_ptr(), -1, &mut stmt, std::ptr::null_mut());
        if rc != ffi::SQLITE_OK {
            return Err(failed("fts5() is not available"));
        }
        let mut rc = ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        if rc == ffi::SQLITE_OK {
            rc = ffi::sqlite3_step(stmt);
        }
        ffi::sqlite3_finalize(stmt);
        rc
    };
    if rc != ffi::SQLITE_ROW || api.is_null() {
        return Err(failed("no fts5_api"));
    }
    // SAFETY: `api` is the non-null `fts5_api` of this connection, valid as long as the
    // connection is open (FTS5 owns it). `xCreateFunction` copies the name; the function
    // pointer is a `'static` fn, and there is no user data to free.
    let rc = unsafe {
        match (*api).xCreateFunction {
            Some(create) => create(api, c"ssot_rank".as_ptr(), std::ptr::null_mut(), Some(rank), None),
            None => ffi::SQLITE_ERROR,
        }
    };
    if rc != ffi::SQLITE_OK {
        return Err(failed("xCreateFunction failed"));
    }
    Ok(())
}

/// Saturation of repeated matches: `tf / (tf + K)`.
const K: f64 = 1.2;

/// `ssot_rank(fts, w1, w2, ...)`: see the module's documentation.
///
/// # Safety
/// Called by FTS5 only, with `api` and `fts` valid for the row being ranked, `ctx` the
/// function's result context, and `values` pointing at `n` argument values.
unsafe extern "C" fn rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    n: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 passes a valid `api` for the duration of the call (the function's contract).
    let api = unsafe { &*api };
    let (Some(column_count), Some(phrase_count), Some(inst_count), Some(inst)) =
        (api.xColumnCount, api.xPhraseCount, api.xInstCount, api.xInst)
    else {
        // SAFETY: `ctx` is this call's result context.
        unsafe { ffi::sqlite3_result_error_code(ctx, ffi::SQLITE_ERROR) };
        return;
    };
    // SAFETY: `fts` is the current row's context, valid during this call; the out-pointers
    // are live locals; `values` holds `n` valid values (read only within that bound).
    unsafe {
        let columns = usize::try_from(column_count(fts)).unwrap_or(0);
        let phrases = usize::try_from(phrase_count(fts)).unwrap_or(0);
        let arguments = usize::try_from(n).unwrap_or(0);
        let weights: Vec<f64> =
            (0..columns).map(|c| if c < arguments { ffi::sqlite3_value_double(*values.add(c)) } else { 0.0 }).collect();
        let mut count: c_int = 0;
        let rc = inst_count(fts, &mut count);
        if rc != ffi::SQLITE_OK {
            ffi::sqlite3_result_error_code(ctx, rc);
            return;
        }
        let mut tf = vec![0u32; phrases * columns];
        for i in 0..count {
            let (mut phrase, mut column, mut offset): (c_int, c_int, c_int) = (0, 0, 0);
            let rc = inst(fts, i, &mut phrase, &mut column, &mut offset);
            if rc != ffi::SQLITE_OK {
                ffi::sqlite3_result_error_code(ctx, rc);
                return;
            }
            let (Ok(p), Ok(c)) = (usize::try_from(phrase), usize::try_from(column)) else { continue };
            if p < phrases && c < columns {
                if let Some(slot) = tf.get_mut(p * columns + c) {
                    *slot += 1;
                }
            }
        }
        let mut score = 0.0;
        for (i, &t) in tf.iter().enumerate() {
            if t > 0 {
                let t = f64::from(t);
                score += weights.get(i % columns.max(1)).copied().unwrap_or(0.0) * t / (t + K);
            }
        }
        ffi::sqlite3_result_double(ctx, score);
    }
}
