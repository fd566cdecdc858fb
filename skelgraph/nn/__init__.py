"""MessagePassing convolutions, SkeletonMAE, the STRL classifier and losses."""
