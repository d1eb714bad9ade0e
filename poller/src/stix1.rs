//! STIX 1.x / CybOX 2.x parsing (in progress).
