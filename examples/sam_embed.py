"""Image embeddings with Segment Anything's ViT image encoder: a gpu-orchestrate script to copy.

    gpu-orchestrate --script examples/sam_embed.py --inputs 'photos/**/*.jpg' --output sam.jsonl \\
        --opt checkpoint=sam_vit_b_01ec64.pth --batch-size 4

Each item is an image path. Each result is

    {"embedding": float32 array [256, 64, 64],   # what SAM's mask decoder takes as image input
     "original_size": [h, w], "input_size": [h, w]}   # for mapping masks back to the image

written losslessly (the array's bytes go to the .arrays file beside the output; read them back
with gpu_orchestrate_worker.read_output). The image is preprocessed as SAM does: longest side
resized to 1024, normalised with SAM's pixel mean and std, zero-padded to 1024x1024.

Options (--opt key=value):
    checkpoint=PATH  an official SAM ViT-B checkpoint (its image_encoder.* weights are used) or a
                     state_dict of the encoder alone; without it the weights are random (seeded,
                     the same in every replica) and the embeddings mean nothing.
    model=vit_b      the encoder's size: vit_b (SAM ViT-B), or tiny, a small encoder of the same
                     structure for trying the pipeline on a CPU (random weights only).
    backend=builtin  builtin: sam_encoder.py beside this script (SAM's own module layout, no
                     extra package); timm: timm's samvit_base_patch16 (pip install timm), for
                     checkpoints saved in timm's format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

PIXEL_MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
PIXEL_STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
RANDOM_WEIGHTS_SEED = 0


@dataclass
class Embedder:
    encoder: nn.Module
    device: torch.device
    img_size: int


class TimmFeatures(nn.Module):
    """timm's model ends in a classifier head; the embedding is what comes before it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> Tensor:
        return self.model.forward_features(images)


def build_encoder(options: dict[str, str]) -> tuple[nn.Module, int]:
    size, backend = options.get("model", "vit_b"), options.get("backend", "builtin")
    if backend == "timm":
        try:
            import timm  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RuntimeError("--opt backend=timm: timm is not installed; pip install timm, or drop the option to use the built-in SAM encoder") from exc
        if size != "vit_b":
            raise ValueError(f"--opt backend=timm offers model=vit_b only (samvit_base_patch16), not {size!r}")
        encoder = timm.create_model("samvit_base_patch16", pretrained=False, checkpoint_path=options.get("checkpoint", ""))
        return TimmFeatures(encoder), 1024
    if backend != "builtin":
        raise ValueError(f"--opt backend={backend!r}: use builtin or timm")
    # sam_encoder.py sits beside this script; gpu-orchestrate puts the script's folder on sys.path.
    from sam_encoder import SHAPES, ImageEncoderViT  # type: ignore[import-not-found]

    if size not in SHAPES:
        raise ValueError(f"--opt model={size!r}: use one of {', '.join(SHAPES)}")
    torch.manual_seed(RANDOM_WEIGHTS_SEED)
    encoder = ImageEncoderViT(SHAPES[size])
    if "checkpoint" in options:
        encoder.load_state_dict(encoder_weights(Path(options["checkpoint"])))
    return encoder, SHAPES[size].img_size


def encoder_weights(path: Path) -> dict[str, Tensor]:
    """The image encoder's state_dict from a whole-SAM checkpoint or an encoder-only one."""
    if not path.is_file():
        raise FileNotFoundError(f"--opt checkpoint={path}: no such file")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # data only: never run code
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"--opt checkpoint={path}: expected a state_dict, got a {type(checkpoint).__name__}")
    prefix = "image_encoder."
    if any(key.startswith(prefix) for key in checkpoint):
        return {key[len(prefix) :]: value for key, value in checkpoint.items() if key.startswith(prefix)}
    return dict(checkpoint)


def setup(ctx: Any) -> Embedder:
    encoder, img_size = build_encoder(ctx.options)
    return Embedder(encoder.to(ctx.device).eval(), ctx.device, img_size)


def load_image(path: str, img_size: int) -> tuple[Tensor, list[int], list[int]]:
    """SAM's ResizeLongestSide, normalisation and padding: (tensor [3, S, S], original, resized)."""
    with Image.open(path) as image:
        rgb = np.array(image.convert("RGB"))  # a writable copy: torch refuses read-only arrays
    height, width = rgb.shape[:2]
    scale = img_size / max(height, width)
    resized = (int(height * scale + 0.5), int(width * scale + 0.5))
    pixels = torch.from_numpy(rgb).permute(2, 0, 1).float()[None]
    pixels = F.interpolate(pixels, size=resized, mode="bilinear", align_corners=False, antialias=True)[0]
    pixels = (pixels - PIXEL_MEAN) / PIXEL_STD
    pixels = F.pad(pixels, (0, img_size - resized[1], 0, img_size - resized[0]))
    return pixels, [height, width], list(resized)


def infer(model: Embedder, batch: list[Any]) -> list[dict[str, Any]]:
    prepared = [load_image(item if isinstance(item, str) else item["path"], model.img_size) for item in batch]
    images = torch.stack([pixels for pixels, _, _ in prepared]).to(model.device)
    with torch.inference_mode():
        embeddings = model.encoder(images).float().cpu()
    return [
        {"embedding": embedding, "original_size": original, "input_size": resized}
        for embedding, (_, original, resized) in zip(embeddings, prepared)
    ]
