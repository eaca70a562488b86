//! The SQL migrations are embedded at compile time (`refinery::embed_migrations!`): rebuild
//! when any of them changes, or the binary would carry a stale schema.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
