//! The gongkai.v1 contract, generated from `proto/gongkai/v1/*.proto`.
//!
//! This crate owns the wire format only: event envelopes and fact messages,
//! the ingestion and supervision services, and the descriptor sets that every
//! gRPC server offers through reflection (the contract's, and that of the
//! `google.rpc` error model its refusals carry). Domain rules live elsewhere.

#![allow(unreachable_pub, missing_debug_implementations, clippy::all)]

/// Messages and services of package `gongkai.v1`.
pub mod v1 {
    tonic::include_proto!("gongkai.v1");
}

/// The encoded `FileDescriptorSet` of the whole contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gongkai_descriptor.bin"));

/// The encoded `FileDescriptorSet` of `google/rpc/status.proto` and
/// `google/rpc/error_details.proto` (with their imports), for gRPC
/// reflection: refusals carry a `google.rpc.Status` whose details (a
/// `google.rpc.BadRequest`, ...) a client can then decode by reflection
/// alone. Their Rust types are `tonic_types`'.
pub const ERROR_MODEL_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/google_rpc_descriptor.bin"));

/// Fully qualified names of the six gRPC services in the contract.
pub const SERVICE_NAMES: [&str; 6] = [
    "gongkai.v1.ProjectService",
    "gongkai.v1.TenderService",
    "gongkai.v1.QualificationReviewService",
    "gongkai.v1.AwardService",
    "gongkai.v1.ContractService",
    "gongkai.v1.SupervisionService",
];
