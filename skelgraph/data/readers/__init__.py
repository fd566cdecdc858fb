"""One reader per source format; each returns the canonical keypoint [M, T, V, C]."""
