//! (owned by the seal work: issue 9)
