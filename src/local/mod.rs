//! Embedded Allma Admin API (placeholder; being written).
