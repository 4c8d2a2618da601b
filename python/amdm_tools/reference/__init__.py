"""An independent Python AMDM (paper Algorithm 1 and the official code's loop) over diffusers."""
from .amdm import GuidedModel, algorithm1, deviate, encode_prompts, official_loop, slerp

__all__ = ["GuidedModel", "algorithm1", "deviate", "encode_prompts", "official_loop", "slerp"]
