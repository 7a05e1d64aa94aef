pub mod oci;
pub mod oci_server;
