//! Losses with their gradients (being written).
