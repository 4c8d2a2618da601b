"""The SD-1.x UNet block layout that InteractDiffusion's and MIGC's checkpoints address (MIGC's
loader maps LDM block indices onto it and hard-codes its 32 attention processors): 4 levels,
cross-attention in the first three down and last three up levels, 2 layers per block, 768-wide
text. Widths may differ (the tests use tiny ones)."""
from __future__ import annotations

from .common import ExportError

SD1_DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
SD1_UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
SD1_TEXT_WIDTH = 768


def check_sd1_layout(config: dict, path: str) -> None:
    """Raise an ExportError naming the config field that departs from the SD-1.x layout."""
    want = {"cross_attention_dim": SD1_TEXT_WIDTH, "layers_per_block": 2, "down_block_types": SD1_DOWN,
            "up_block_types": SD1_UP, "in_channels": 4, "out_channels": 4}
    for key, value in want.items():
        got = config.get(key)
        got = list(got) if isinstance(got, (list, tuple)) else got
        if got != value:
            raise ExportError(f"{path}: {key} is {got!r}; expected {value!r} (the Stable Diffusion 1.x UNet layout)")
