"""Planning and meaning: the planner (pre-/post-filter split), the reference
evaluator every store is tested against, and value semantics."""
