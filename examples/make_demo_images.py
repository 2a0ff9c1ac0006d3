"""Make the demo's input images: small, varied PNGs (gradients and shapes), the same every time.

    python3 examples/make_demo_images.py FOLDER [--count 48]

Idempotent: the images are written once, then a marker file (.complete, hidden, so a folder
given to --inputs does not list it as an item) records how many there are. A later call that
finds the marker with the same count and version does nothing; an interrupted call, which left
no marker, starts again. Pillow and numpy only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

MARKER = ".complete"
VERSION = 1  # bump when the images change, so existing folders are made again
SEED = 20240521
# Landscape, portrait, square and larger: each takes its own path through resize and crop.
SIZES = [(320, 240), (240, 320), (256, 256), (400, 300)]


def image_name(index: int) -> str:
    return f"demo-{index:03d}.png"


def make_image(index: int) -> Image.Image:
    """One image: a two-colour gradient in a random direction with a few random shapes on it."""
    rng = np.random.default_rng(SEED + index)  # one stream per image: image i never changes
    width, height = SIZES[index % len(SIZES)]
    start, end = rng.integers(0, 256, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = xs / width * np.cos(angle) + ys / height * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    pixels = start + t[..., None] * (end - start)
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, size=2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, size=2))
        box = (x0, y0, max(x1, x0 + 8), max(y1, y0 + 8))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse(box, fill=colour)
        elif shape == 1:
            draw.rectangle(box, fill=colour)
        else:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(3)]
            draw.polygon(points, fill=colour)
    # Some greyscale files, so the script's conversion to RGB is exercised too.
    return image.convert("L") if index % 6 == 5 else image


def marker_text(count: int) -> str:
    return f"version={VERSION} count={count}\n"


def make_images(folder: Path, count: int) -> bool:
    """Write the images unless the folder already holds them; True when it wrote them."""
    marker = folder / MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == marker_text(count):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)  # from here until the end the folder is incomplete
    for index in range(count):
        target = folder / image_name(index)
        # Write then rename: a reader never sees half a PNG, even if this is interrupted.
        partial = folder / f".{target.name}.partial"
        make_image(index).save(partial, format="PNG")
        os.replace(partial, target)
    # Images of an earlier, larger count would otherwise become extra inputs.
    for stale in folder.glob("demo-*.png"):
        if stale.name not in {image_name(i) for i in range(count)}:
            stale.unlink()
    marker.write_text(marker_text(count), encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Make gpu-orchestrate's demo images.")
    parser.add_argument("folder", type=Path, help="where to write them (created if needed)")
    parser.add_argument("--count", type=int, default=48, help="how many images (default 48)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if make_images(args.folder, args.count):
        print(f"made {args.count} demo images in {args.folder}")
    else:
        print(f"using the {args.count} demo images in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
