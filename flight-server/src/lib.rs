//! lienthong-server (placeholder).
