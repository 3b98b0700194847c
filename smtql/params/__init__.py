"""Parameter sets: the model (lookup, task folding, leaves), the literal-only
parser of every stored format, and the in-process cache."""
