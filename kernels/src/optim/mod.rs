//! Optimisers as in-place update kernels (being written).
