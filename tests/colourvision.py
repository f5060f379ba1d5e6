"""WCAG contrast and colour-vision-deficiency simulation, to check the map's palette.

The matrices are Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for
Simulation of Color Vision Deficiency" (IEEE TVCG 15(6)), severity 1.0, applied in linear RGB.
"""

from __future__ import annotations

import re

import numpy as np

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868],
                   [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968],
                     [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779],
                   [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
VISIONS = ["normal", *MACHADO]


def parse(css: str) -> tuple[np.ndarray, float]:
    """sRGB 0..1 and alpha of `#rgb`, `#rrggbb`, `rgb(...)` or `rgba(...)`."""
    css = css.strip().lower()
    if css.startswith("#"):
        h = css[1:]
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255.0, 1.0
    nums = [float(v) for v in re.findall(r"[\d.]+", css)]
    return np.array(nums[:3]) / 255.0, (nums[3] if len(nums) > 3 else 1.0)


def to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def to_srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def over(top: np.ndarray, alpha: float, under: np.ndarray) -> np.ndarray:
    """What the screen shows: `top` at `alpha` over `under` (browsers blend in sRGB)."""
    return alpha * top + (1 - alpha) * under


def simulate(srgb: np.ndarray, vision: str) -> np.ndarray:
    if vision == "normal":
        return srgb
    return to_srgb(np.array(MACHADO[vision]) @ to_linear(srgb))


def luminance(srgb: np.ndarray) -> float:
    return float(np.dot([0.2126, 0.7152, 0.0722], to_linear(srgb)))


def contrast(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG 2 contrast ratio, 1..21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
