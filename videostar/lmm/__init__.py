"""The video LMM; the only package that touches transformers and peft. One module per job:

- ``config``: TinyConfig, SamplingConfig, TrainConfig;
- ``tiny``: the tiny offline Qwen2-VL (and text LM) builder and its BPE tokenizer;
- ``loading``: device/dtype, load and save (identity.json, LoRA adapter chains);
- ``generation``: generate (video + text), generate_text (text only);
- ``training``: the fine-tuning loop;
- ``families``: what differs between model families (Qwen2-VL, Qwen2.5-VL so far).

Import the modules (``from videostar.lmm import loading, generation, training, tiny``); this
package re-exports nothing. Benchmarks: ``python benchmarks/bench_model.py``.
"""
