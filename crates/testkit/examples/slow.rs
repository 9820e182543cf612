//! The query-cost benchmark's helper (`bench/attack/run.sh`): `slow seed URL` writes the
//! slow database's rows into a migrated database; `slow attack` prints the slow filter.

use ssot_store::conn::{Conn, PgConn, SqliteConn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["attack"] => println!("{}", ssot_testkit::slow::attack()),
        ["seed", url] => {
            let mut conn: Box<dyn Conn> = match url.strip_prefix("sqlite:") {
                Some(path) => Box::new(SqliteConn::open(std::path::Path::new(path), false)?),
                None => Box::new(PgConn::connect(url)?),
            };
            ssot_testkit::slow::seed(conn.as_mut())?;
        }
        _ => return Err("usage: slow attack | slow seed URL".into()),
    }
    Ok(())
}
