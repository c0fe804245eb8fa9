"""``vwfund demo``: a deterministic synthetic organisation, and every campaign job run on it."""
