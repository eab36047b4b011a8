"""Length-grouped batches (``TrainConfig.group_by_length``): every row once per epoch, steps of
similar lengths in a random order, and the lengths read without decoding a clip."""

from __future__ import annotations

import random

import pytest
import torch

from tests.stage_worlds import TEST_TINY, WORDS
from videostar.lmm import loading, tiny, training
from videostar.video.frames import ClipItems

BATCH = 4


def lengths_of(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(5, 120) for _ in range(n)]


def test_without_lengths_the_order_is_the_seeded_permutation():
    order = training.epoch_order(50, BATCH, torch.Generator().manual_seed(3))
    assert order == torch.randperm(50, generator=torch.Generator().manual_seed(3)).tolist()


@pytest.mark.parametrize("n", [BATCH * training.LENGTH_GROUP_BATCHES * 2 + 7, 9, 3])
def test_grouped_order_is_a_permutation_of_length_sorted_batches(n):
    lengths = lengths_of(n)
    order = training.epoch_order(n, BATCH, torch.Generator().manual_seed(0), lengths)
    assert sorted(order) == list(range(n))
    span = BATCH * training.LENGTH_GROUP_BATCHES
    drawn = torch.randperm(n, generator=torch.Generator().manual_seed(0)).tolist()
    for start in range(0, n, span):
        group = order[start : start + span]
        assert set(group) == set(drawn[start : start + span])  # batches stay within their group
        full = len(group) - len(group) % BATCH
        batches = [group[i : i + BATCH] for i in range(0, full, BATCH)]
        # Cut from one sorted run: no two batches' length ranges interleave.
        ranges = sorted((min(lengths[r] for r in b), max(lengths[r] for r in b)) for b in batches)
        assert all(hi <= lo for (_, hi), (lo, _) in zip(ranges, ranges[1:], strict=False))


def test_grouped_batches_are_shuffled_deterministically_and_pad_less():
    n = BATCH * training.LENGTH_GROUP_BATCHES
    lengths = lengths_of(n, seed=1)
    first = training.epoch_order(n, BATCH, torch.Generator().manual_seed(0), lengths)
    again = training.epoch_order(n, BATCH, torch.Generator().manual_seed(0), lengths)
    other = training.epoch_order(n, BATCH, torch.Generator().manual_seed(1), lengths)
    plain = training.epoch_order(n, BATCH, torch.Generator().manual_seed(0))
    assert first == again and first != other
    steps = [max(lengths[r] for r in first[i : i + BATCH]) for i in range(0, n, BATCH)]
    assert steps != sorted(steps) and steps != sorted(steps, reverse=True)
    assert training.padded_tokens(first, lengths, BATCH) < 0.8 * training.padded_tokens(
        plain, lengths, BATCH
    )


class Untouchable(dict):
    def __getitem__(self, key):
        raise AssertionError(f"clip {key} was read")


def test_text_lengths_count_prompt_and_response_tokens_without_reading_a_clip(tmp_path):
    tiny.build_tiny(TEST_TINY, WORDS, tmp_path)
    _, processor = loading.load(tmp_path, for_training=True)
    items = [(("a.mp4", None, None), "Which way?", "left."), (("b.mp4", None, None), "Hm", "up")]
    examples = ClipItems(items, Untouchable())
    enc = training.Encoder(processor, examples, family=None)
    count = processor.tokenizer
    expected = [len(count(p, add_special_tokens=False)["input_ids"])
                + len(count(r, add_special_tokens=False)["input_ids"]) for _, p, r in items]  # fmt: skip
    assert enc.text_lengths() == expected
    assert expected[0] > expected[1]


def test_padded_tokens_counts_full_batches_at_their_longest_row():
    assert training.padded_tokens([0, 1, 2, 3, 4], [3, 5, 2, 2, 9], 2) == 2 * 5 + 2 * 2


def test_pack_batch_packs_only_the_tokens_collate_names():
    """A visual tensor that happens to have the batch's (examples, tokens) shape stays whole."""
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0], [4, 0, 0, 0]])
    mask = (ids != 0).long()
    batch = {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": torch.where(mask.bool(), ids, -100),
        "pixel_values_videos": torch.arange(12.0).reshape(3, 4),
        "examples_per_row": torch.tensor([1, 2]),
        "token_keys": ("input_ids", "labels"),
    }
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[None]
    packed = training.pack_batch(batch, positions, pad_id=0)
    assert packed["input_ids"].tolist() == [[5, 6, 7], [8, 9, 4]]
    assert packed["position_ids"].tolist() == [[[0, 1, 2], [0, 1, 0]]]
    assert torch.equal(packed["pixel_values_videos"], batch["pixel_values_videos"])
