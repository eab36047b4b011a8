"""benchmarks/corpus_loss.py: held-out loss per kind of corpus example, scored as training scores
it (response tokens only, weighted by token, whatever the batch size)."""

import numpy as np
import pytest
import torch

from tests.scripts import load_script
from tests.stage_worlds import TEST_TINY, WORDS
from videostar.lmm import families, loading, tiny, training
from videostar.lmm.config import TrainConfig

pytestmark = pytest.mark.usefixtures("cpu_one_thread")


@pytest.fixture(scope="module")
def corpus_loss():
    return load_script("corpus_loss")


@pytest.fixture(scope="module")
def examples() -> list:
    rng = np.random.default_rng(0)
    texts = ["the red ball moves left.", "it goes up.", "So the answer is 3.", "left", "the ball"]
    return [(rng.integers(0, 256, (8, 32, 32, 3), np.uint8), f"question {i}?", text)
            for i, text in enumerate(texts)]  # fmt: skip


def test_scores_are_the_training_loss_whatever_the_batch_size(corpus_loss, examples, tmp_path):
    tiny.build_tiny(TEST_TINY, WORDS, tmp_path)
    model, processor = loading.load(tmp_path)
    enc = training.Encoder(processor, examples, families.for_model(model))
    batch = training.collate(enc, range(len(examples)), processor.tokenizer.pad_token_id)
    with torch.no_grad():
        expected = float(model(**batch).loss)
    whole = corpus_loss.kind_scores(model, processor, examples, batch_size=len(examples))
    split = corpus_loss.kind_scores(model, processor, examples, batch_size=2)
    assert whole["loss"] == pytest.approx(expected, rel=1e-5)
    assert split["loss"] == pytest.approx(expected, rel=1e-5)
    assert whole["exact"] == split["exact"] and 0 <= whole["exact"] <= 1


def test_scores_improve_when_the_model_learns_the_examples(corpus_loss, examples, tmp_path):
    tiny.build_tiny(TEST_TINY, WORDS, tmp_path)
    model, processor = loading.load(tmp_path, for_training=True)
    before = corpus_loss.kind_scores(model.eval(), processor, examples)
    cfg = TrainConfig(method="full", lr=3e-3, weight_decay=0.0, betas=(0.9, 0.98), warmup_steps=5,
                      min_lr_ratio=0.1, decay_fraction=1.0, grad_clip=1.0, batch_size=5, epochs=1.0,
                      min_steps=60, max_steps=60, lora_r=4, lora_alpha=8, lora_dropout=0.0,
                      lora_targets=(), seed=0, micro_batch_size=0, gradient_checkpointing=False,
                      checkpoint_every=0, group_by_length=False, pack_sequences=True)  # fmt: skip
    model = training.train(model, processor, examples, cfg)["model"]
    after = corpus_loss.kind_scores(model, processor, examples)
    assert after["loss"] < 0.5 * before["loss"]
    assert after["exact"] >= before["exact"]
