//! TAXII 1.1 / 1.0 XML binding (in progress).
