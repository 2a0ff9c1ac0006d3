"""Image classification with ResNet-18: a complete gpu-orchestrate script to copy and adapt.

    gpu-orchestrate --script examples/classify.py --inputs 'photos/**/*.jpg' --output labels.jsonl \\
        --opt weights=resnet18-f37072fd.pth --opt classes=imagenet_classes.txt

Each input item is an image path (or a JSON object with a "path" field). Each result is

    {"top5": [{"class": 281, "score": 0.62, "label": "tabby"}, ...],   # "label" with --opt classes
     "logits_shape": [1000],
     "embedding": float32 array of 512 values}                          # the penultimate layer

The embedding is a numpy array: gpu-orchestrate writes its bytes to the .arrays file beside the
output, and gpu_orchestrate_worker.read_output gives it back bit for bit.

Options (--opt key=value):
    weights=PATH   a ResNet-18 state_dict: torchvision's resnet18-f37072fd.pth, or a checkpoint of
                   your own ({"state_dict": ...} or {"model": ...}, DataParallel "module." prefixes
                   are fine; the number of classes is read from its fc layer). Without it the
                   weights are random and so are the predictions.
    classes=PATH   a text file with one class name a line, in class order: adds "label".
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

# What torchvision's ResNet18_Weights.IMAGENET1K_V1.transforms() does: shorter side to 256,
# centre 224x224 crop, scale to [0, 1], normalise with the ImageNet channel statistics.
RESIZE = 256
CROP = 224
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
TOP_K = 5
RANDOM_WEIGHTS_SEED = 0


@dataclass
class Classifier:
    """What setup returns and infer receives: the network and what it needs around it."""

    network: nn.Module
    device: torch.device
    labels: list[str] | None


def build_resnet18(num_classes: int) -> nn.Module:
    """torchvision's ResNet-18 when torchvision works, else the identical copy in resnet.py."""
    try:
        # Not only ImportError: a torchvision built for another torch (or a CUDA build on a
        # CPU-only torch) imports but then fails registering its operators, with a RuntimeError.
        from torchvision.models import resnet18
    except Exception:
        # resnet.py sits beside this script; gpu-orchestrate puts the script's folder on
        # sys.path, as Python does when the script runs on its own.
        from resnet import resnet18  # type: ignore[no-redef]

        return resnet18(num_classes=num_classes)
    return resnet18(weights=None, num_classes=num_classes)


def load_state_dict(path: Path) -> dict[str, Tensor]:
    """A checkpoint file -> a plain state_dict, whichever of the usual ways it was saved."""
    if not path.is_file():
        raise FileNotFoundError(f"--opt weights={path}: no such file")
    # weights_only: a checkpoint is data; never run code from it (plain torch.load unpickles).
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(checkpoint, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(checkpoint.get(key), Mapping):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, Mapping) or not all(isinstance(v, Tensor) for v in checkpoint.values()):
        raise ValueError(
            f"--opt weights={path}: expected a state_dict (a dict of tensors), or a dict holding "
            f"one under 'state_dict' or 'model'; got a {type(checkpoint).__name__}"
        )
    # nn.DataParallel / DistributedDataParallel save "module.conv1.weight"; torch.compile saves
    # "_orig_mod.conv1.weight". The network itself knows neither prefix.
    state: dict[str, Tensor] = {}
    for key, value in checkpoint.items():
        for prefix in ("module.", "_orig_mod."):
            key = key.removeprefix(prefix)
        state[key] = value
    return state


def read_labels(path: Path, num_classes: int) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--opt classes={path}: cannot be read as a text file of class names ({exc})") from exc
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != num_classes:
        # A list of another length belongs to another model: every label would be wrong.
        raise ValueError(f"--opt classes={path}: {len(names)} names, but the model has {num_classes} classes")
    return names


def setup(ctx: Any) -> Classifier:
    """Once per replica: build the network, load the weights, move it to this replica's device."""
    weights = ctx.options.get("weights")
    if weights:
        state = load_state_dict(Path(weights))
        # A fine-tuned checkpoint may have any number of classes: size the head to fit it.
        num_classes = state["fc.weight"].shape[0] if "fc.weight" in state else 1000
        network = build_resnet18(num_classes)
        try:
            network.load_state_dict(state)  # strict: a partial match would give silent garbage
        except RuntimeError as exc:
            raise RuntimeError(f"--opt weights={weights} is not a ResNet-18 checkpoint: {exc}") from exc
    else:
        # The same seed in every replica (and the model is built on the CPU before it moves):
        # random, but the same random model on every device, so an item's result does not
        # depend on which device happened to run it.
        torch.manual_seed(RANDOM_WEIGHTS_SEED)
        network = build_resnet18(1000)
        if ctx.replica == 0 and ctx.device_index == 0:  # one warning per run, not per replica
            print(
                "classify.py: no --opt weights=PATH given: the model has random weights, "
                "so its predictions are meaningless without --opt weights=PATH",
                file=sys.stderr,
            )
    num_classes = network.fc.out_features
    labels = read_labels(Path(ctx.options["classes"]), num_classes) if ctx.options.get("classes") else None

    device = torch.device(ctx.device)
    if device.type == "cuda":
        # Every batch has the same shape (N x 3 x 224 x 224): let cuDNN pick its fastest kernels.
        torch.backends.cudnn.benchmark = True
    # eval(): BatchNorm uses its running statistics, so a result does not depend on its batch.
    return Classifier(network=network.to(device).eval(), device=device, labels=labels)


def image_path(item: Any) -> str:
    """An item from a glob, a folder or a list file is a path; from a .jsonl file, an object."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("path"), str):
        return item["path"]
    raise TypeError(f"expected an image path or an object with a 'path' field, got {item!r}")


def load_image(path: str) -> Tensor:
    """Decode with Pillow, then resize, crop and normalise with torch: a 3 x 224 x 224 tensor."""
    with Image.open(path) as image:
        rgb = np.array(image.convert("RGB"))  # a writable copy; greyscale, palette and RGBA images become RGB
    pixels = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float().div_(255)  # 1 x 3 x H x W

    # Shorter side to RESIZE, the longer one in proportion (torchvision's rounding: truncate).
    height, width = rgb.shape[:2]
    short, long = (height, width) if height <= width else (width, height)
    new_short, new_long = RESIZE, int(RESIZE * long / short)
    size = (new_short, new_long) if height <= width else (new_long, new_short)
    # antialias=True matches Pillow's (and torchvision's) bilinear resize when shrinking.
    pixels = F.interpolate(pixels, size=size, mode="bilinear", align_corners=False, antialias=True)

    top = int(round((size[0] - CROP) / 2.0))
    left = int(round((size[1] - CROP) / 2.0))
    pixels = pixels[0, :, top : top + CROP, left : left + CROP].clamp_(0, 1)
    return (pixels - MEAN) / STD


def features_and_logits(network: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """The forward pass of ResNet, stopping to keep the pooled 512-d feature before fc.

    Uses the submodules by name, which torchvision's model and resnet.py's share.
    """
    x = network.maxpool(network.relu(network.bn1(network.conv1(x))))
    x = network.layer4(network.layer3(network.layer2(network.layer1(x))))
    features = torch.flatten(network.avgpool(x), 1)
    return features, network.fc(features)


def infer(model: Classifier, batch: list[Any]) -> list[dict[str, Any]]:
    """A batch of image paths -> one result per image, in order.

    A file that cannot be decoded raises here; gpu-orchestrate then splits the batch to find it,
    records that one item as failed with the error, and keeps the others' results.
    """
    pixels = torch.stack([load_image(image_path(item)) for item in batch]).to(model.device)
    with torch.inference_mode():
        features, logits = features_and_logits(model.network, pixels)
        probabilities = logits.float().softmax(dim=1)
        scores, classes = probabilities.topk(min(TOP_K, probabilities.shape[1]), dim=1)
        # One device-to-host copy per batch, not one per item.
        embeddings = features.float().cpu().numpy()
        scores_list: list[list[float]] = scores.cpu().tolist()
        classes_list: list[list[int]] = classes.cpu().tolist()

    results = []
    for row, (item_scores, item_classes) in enumerate(zip(scores_list, classes_list)):
        top = []
        for class_index, score in zip(item_classes, item_scores):
            entry: dict[str, Any] = {"class": class_index, "score": score}
            if model.labels is not None:
                entry["label"] = model.labels[class_index]
            top.append(entry)
        results.append(
            {
                "top5": top,
                "logits_shape": list(logits.shape[1:]),
                # A copy: a row view would keep the whole batch's array alive in each result.
                "embedding": np.array(embeddings[row], dtype=np.float32),
            }
        )
    return results
