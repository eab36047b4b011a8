"""The built-in offline toy world: generated videos with labeled tasks shaped like the paper's
datasets, and the general pretraining corpus that never pairs a task question with its label."""
