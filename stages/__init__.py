"""Video-STaR as a DVC pipeline: one module per stage plus a few shared modules.

Shared modules: ``config`` (typed params), ``records`` (JSONL I/O and the record schema),
``prompts`` (every prompt string), ``labels`` (label-type registry: parse, verify, render),
``video`` (encode/decode), ``toyworld`` (the built-in dataset), ``model`` (the video LMM).
"""
