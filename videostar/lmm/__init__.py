"""The video LMM; the only package that touches transformers and peft. One module per job:

- ``config``: TinyConfig, SamplingConfig, TrainConfig, LoadConfig;
- ``tiny``: the tiny offline Qwen2-VL (and text LM) builder and its BPE tokenizer;
- ``builders``: tiny random-weight checkpoints of every supported family;
- ``loading``: device/dtype, load and save (identity.json, LoRA adapter chains, aliases);
- ``generation``: generate (video + text), generate_text (text only);
- ``training``: the fine-tuning loop;
- ``families``: what differs between model families, one module per family group.

Import the modules (``from videostar.lmm import loading, generation, training, tiny``); this
package re-exports nothing. Benchmarks: ``python benchmarks/bench_model.py``.
"""
