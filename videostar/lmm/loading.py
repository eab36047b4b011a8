"""Loading and saving video LMMs, and the hardware they run on.

    model, processor = loading.load("models/base")                     # eval mode, merged adapters
    model, processor = loading.load("models/cycle_1", for_training=True)
    loading.save(model, processor, Path("models/cycle_2"), base_dir=Path("models/cycle_1"))

Model folders ``load`` understands:

- a ``save_pretrained`` folder (``tiny.build_tiny`` / ``save`` of a full model);
- a folder with ``identity.json`` ``{"name_or_path": ..., "revision": ...}`` naming a pretrained HF
  video LMM (local folder or hub id), loaded by the same AutoProcessor/AutoModelForImageTextToText
  path. Whether remote code may run is the caller's ``trust_remote_code`` argument alone (from
  params.yaml), never a file in the folder;
- a peft LoRA adapter folder with ``base.json`` ``{"base": <folder relative to the repo root>}``,
  where the base is the folder the trained model was loaded from — itself possibly an adapter
  folder. ``load`` follows the chain down to a full model (or identity.json) and merges every
  adapter on the way back up, oldest first;
- a folder with ``base.json`` and no adapter (``save_alias``): the same model as its base (a
  cycle that kept no sample), stored without a copy of the weights.

Hardware never comes from params: the device is ``$VIDEOSTAR_DEVICE`` (default ``cuda`` when
available, else ``cpu``).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from videostar.core.records import read_json, write_json

IDENTITY_FILE = "identity.json"
BASE_FILE = "base.json"
ADAPTER_CONFIG = "adapter_config.json"


def resolve_device() -> torch.device:
    """``$VIDEOSTAR_DEVICE`` if set, else cuda when available, else cpu. Under a launcher each
    process takes the GPU of its ``LOCAL_RANK``."""
    name = os.environ.get("VIDEOSTAR_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        name = f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return torch.device(name)


def resolve_dtype(
    device: torch.device, *, for_training: bool = False, setting: str = "auto"
) -> torch.dtype:
    """``setting`` when it names a dtype; for "auto", bf16 for inference on a GPU that supports
    it and fp32 otherwise.

    Full training keeps fp32 master weights (AdamW on bf16 weights loses small updates) and uses
    autocast. Under LoRA the base weights are frozen, so "auto" loads them like inference.
    """
    if setting != "auto":
        return getattr(torch, setting)
    if device.type == "cuda" and not for_training and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def seed_torch(seed: int) -> None:
    """Seed torch's CPU and CUDA generators (the streams generation, training and init draw from)."""
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def is_peft(model: Any) -> bool:
    """Whether ``model`` is a peft wrapper (what ``train(method="lora")`` returns)."""
    from peft import PeftModel

    return isinstance(model, PeftModel)


def adapter_chain(path: Path | str) -> tuple[Path, list[Path]]:
    """(the root model folder, the adapter folders on top of it, oldest first) for ``path``.

    Adapter bases are stored relative to the working directory (the repo root).
    """
    adapters: list[Path] = []
    current = Path(path)
    seen: set[Path] = set()
    while (current / BASE_FILE).exists():
        if current.resolve() in seen:
            raise ValueError(f"LoRA adapter chain of {path} loops back to {current}")
        seen.add(current.resolve())
        if (current / ADAPTER_CONFIG).exists():  # else an alias of its base
            adapters.append(current)
        current = Path(read_json(current / BASE_FILE)["base"])
    return current, adapters[::-1]


def load(
    path: Path | str,
    *,
    trust_remote_code: bool = False,
    for_training: bool = False,
    frozen: bool = False,
    dtype: str = "auto",
    attn_implementation: str = "auto",
) -> tuple[Any, Any]:
    """Load (model, processor) from a saved folder, an ``identity.json`` folder or a LoRA folder.

    ``for_training`` keeps train mode (and, for full training, fp32 weights); ``frozen``: the
    weights will not be trained (LoRA), so they load in the inference dtype. Otherwise eval mode
    in the device's inference dtype. ``dtype`` and ``attn_implementation`` are
    ``LoadConfig``'s. LoRA adapters (a chain of them) are always merged into their base.
    ``trust_remote_code`` is the only switch for remote code.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    root, adapters = adapter_chain(path)
    source: str = str(root)
    revision: str | None = None
    if (root / IDENTITY_FILE).exists():
        identity = read_json(root / IDENTITY_FILE)
        source, revision = identity["name_or_path"], identity.get("revision")
        if identity.get("trust_remote_code") and not trust_remote_code:
            warnings.warn(
                f"{root / IDENTITY_FILE} asks for trust_remote_code, which only the caller "
                "(params.yaml model.trust_remote_code) can turn on; loading without it",
                stacklevel=2,
            )

    device = resolve_device()
    processor = AutoProcessor.from_pretrained(
        source, revision=revision, trust_remote_code=trust_remote_code
    )
    attention = (
        {} if attn_implementation == "auto" else {"attn_implementation": attn_implementation}
    )
    model = AutoModelForImageTextToText.from_pretrained(
        source,
        revision=revision,
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
        dtype=resolve_dtype(device, for_training=for_training and not frozen, setting=dtype),
        **attention,
    ).to(device)
    if adapters:
        from peft import PeftModel

        for adapter in adapters:
            model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model.train(for_training)
    return model, processor


def _relative(base_dir: Path) -> str:
    return Path(os.path.relpath(Path(base_dir).resolve(), Path.cwd())).as_posix()


def fingerprint(folder: Path) -> str:
    """A digest of every file's path and bytes under ``folder``."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def identity(name_or_path: str, revision: str | None) -> dict[str, Any]:
    """What ``identity.json`` records of a pretrained model, so that a different model reruns
    what depends on it: a local folder with its fingerprint (a changed checkpoint changes it), a
    hub id with its pinned revision (without one, the same id may name other weights tomorrow).
    """
    if Path(name_or_path).is_dir():
        return {"name_or_path": name_or_path, "revision": None,
                "fingerprint": fingerprint(Path(name_or_path))}  # fmt: skip
    if not revision:
        raise ValueError(
            f"model.name_or_path {name_or_path!r} is not a local folder, so it is taken as a hub "
            "id: pin model.revision to the commit you want (or download it and point "
            "model.name_or_path at the folder), so a run can be reproduced"
        )
    return {"name_or_path": name_or_path, "revision": revision}


def save_alias(out_dir: Path, *, base_dir: Path) -> None:
    """Write ``out_dir`` as the same model as ``base_dir``: ``base.json`` only, no weights. It
    holds the base's fingerprint, so when the base changes, so do the alias's bytes, and DVC
    reruns what was computed from the alias."""
    out_dir = Path(out_dir)
    if Path(base_dir).resolve() == out_dir.resolve():
        raise ValueError(f"a model cannot be an alias of itself: {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(
        out_dir / BASE_FILE, {"base": _relative(base_dir), "fingerprint": fingerprint(base_dir)}
    )


def save(model: Any, processor: Any, out_dir: Path, *, base_dir: Path | None = None) -> None:
    """Save a full model (+ processor) or, for a peft model, the adapter + ``base.json``.

    ``base_dir`` is the folder the trained model was loaded from (the previous cycle's model when
    cycles continue, which may itself be an adapter folder), stored relative to the current
    working directory (the repo root) so the pipeline stays relocatable. It is required for an
    adapter and ignored for a full model.
    """
    if not is_peft(model) and hasattr(model, "peft_config"):
        # train(method="lora") injects adapters into the model it was given but returns the peft
        # wrapper; saving the bare model would silently write base + adapter weights unmerged.
        raise ValueError("this model carries LoRA adapters: save the model train() returned")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not is_peft(model):
        model.save_pretrained(out_dir)
        processor.save_pretrained(out_dir)
        return
    if base_dir is None:
        raise ValueError(
            "saving a LoRA adapter needs base_dir, the folder the model was loaded from"
        )
    if Path(base_dir).resolve() == out_dir.resolve():
        raise ValueError(f"a LoRA adapter cannot be its own base: {out_dir}")
    base = _relative(base_dir)
    model.save_pretrained(out_dir)
    # peft writes a boilerplate model card naming the base by whatever path it was loaded from,
    # and stores target_modules as a set (order varies with PYTHONHASHSEED): normalise both so
    # the same adapter always gives the same bytes.
    (out_dir / "README.md").unlink(missing_ok=True)
    adapter_config = read_json(out_dir / ADAPTER_CONFIG)
    adapter_config["base_model_name_or_path"] = base
    if isinstance(adapter_config.get("target_modules"), list):
        adapter_config["target_modules"] = sorted(adapter_config["target_modules"])
    write_json(out_dir / ADAPTER_CONFIG, adapter_config)
    write_json(out_dir / BASE_FILE, {"base": base})
