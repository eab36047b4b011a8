"""Video-STaR: self-training that turns any labeled video dataset into video instruction data.

One room per concern (see README "Architecture"); ``stages/`` holds the thin DVC entry points.
"""
