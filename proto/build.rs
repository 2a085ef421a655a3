//! Compiles every `.proto` under `gongkai/v1/` with the pure-Rust `protox`
//! compiler, so building needs no system `protoc`, and writes the encoded
//! descriptor set to `OUT_DIR` for gRPC reflection, with a second one of the
//! vendored `google/rpc/` error model (descriptors only: its Rust types come
//! from `tonic-types`).

use std::path::{Path, PathBuf};

/// The `.proto` files directly in `dir`, sorted, each watched for changes.
fn protos(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    files.sort();
    println!("cargo:rerun-if-changed={}", dir.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(files)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let descriptors = protox::compile(protos(&root.join("gongkai/v1"))?, [&root])?;
    std::fs::write(out_dir.join("gongkai_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;

    let error_model = protox::compile(protos(&root.join("google/rpc"))?, [&root])?;
    std::fs::write(out_dir.join("google_rpc_descriptor.bin"), prost::Message::encode_to_vec(&error_model))?;
    Ok(())
}
