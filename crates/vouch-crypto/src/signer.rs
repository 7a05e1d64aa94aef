//! (owned by the signing-core work: issue 4)
