//! `sqlx::migrate!` embeds the migrations when this crate compiles, but
//! Cargo only rebuilds it for files it was told to watch: without this, a
//! migration added to a directory left the build it was not in, and tests
//! ran on the schema before it.

fn main() {
    println!("cargo:rerun-if-changed=../../../migrations");
}
