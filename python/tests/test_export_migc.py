"""`amdm export migc`: MIGC_SD14.ckpt + the SD-1.4 base → the MIGC graph and the plain UNet. The
MIGC graph is compared with the base UNet running a processor written from the official
architecture (migc_reference.py: masks from box lists, the [uncond; cond × (n+1)] batch, SAC with
the identity order), for several instance counts; bad checkpoints fail with a message naming
the file and the key or shape; `amdm generate` runs the exported folder."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from amdm_tools.export import migc
from amdm_tools.export.__main__ import main as export_main
from conftest import amdm
from migc_reference import MIGC, Processor
from tiny_checkpoints import LATENT, MIGC_LDM_BLOCKS, WIDTH, write_migc

TOL = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory, clip_tokenizer_dir):
    root = tmp_path_factory.mktemp("migc")
    ckpt, base = write_migc(root, clip_tokenizer_dir)
    out = root / "out"
    assert export_main(["migc", "--from", str(ckpt), "--base", str(base), "--out", str(out)]) == 0
    return ckpt, base, out


def reference_unet(ckpt, base, bboxes, pooler):
    """The base UNet with the official processor arithmetic on every attention layer."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(base / "unet")).eval()
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    migcs = {}
    for key, value in state.items():
        ldm = key.split(".transformer_blocks")[0].removeprefix("model.diffusion_model.")
        migcs.setdefault(ldm, {})[key.split(".migc.")[1]] = value
    targets = {"input_blocks.8.1": "down_blocks.2.attentions.1", "middle_block.1": "mid_block.attentions.0",
               "output_blocks.3.1": "up_blocks.1.attentions.0", "output_blocks.4.1": "up_blocks.1.attentions.1",
               "output_blocks.5.1": "up_blocks.1.attentions.2"}
    procs = {}
    for name in unet.attn_processors:
        procs[name] = Processor(None, bboxes, pooler, LATENT * 8, LATENT * 8)
    for ldm, block in targets.items():
        m = MIGC(migcs[ldm]["norm.bias"].shape[0])
        m.load_state_dict(migcs[ldm])
        procs[f"{block}.transformer_blocks.0.attn2.processor"] = Processor(m.eval(), bboxes, pooler, LATENT * 8, LATENT * 8)
    unet.set_attn_processor(procs)
    return unet


@pytest.mark.parametrize("n", [1, 2, 5])
def test_migc_graph_matches_the_official_architecture(exported, n):
    ckpt, base, out = exported
    g = torch.Generator().manual_seed(n)
    lo = torch.rand(n, 2, generator=g) * 0.6
    xyxy = torch.cat([lo, lo + 0.1 + 0.3 * torch.rand(n, 2, generator=g)], 1).clamp(max=1)
    bboxes = xyxy.tolist()
    sample, text = torch.randn(2, 4, LATENT, LATENT, generator=g), torch.randn(n + 2, 77, WIDTH, generator=g)
    pooler = torch.randn(n + 1, 1, WIDTH, generator=g)  # caption first (embeds_pooler)
    t = torch.tensor(421.0)
    with torch.no_grad():
        want = reference_unet(ckpt, base, bboxes, pooler)(sample, t, text).sample.numpy()
    gm, sm = migc.box_masks(xyxy, LATENT)
    feeds = {"sample": sample, "timestep": t, "encoder_hidden_states": text[:2], "instance_embeddings": text[2:],
             "instance_pooler": pooler[1:], "instance_boxes": xyxy[:, [0, 2, 1, 3]].contiguous(),
             "guidance_mask": gm, "supplement_mask": sm}
    sess = ort.InferenceSession(str(out / "unet/model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
    assert np.abs(got - want).max() / np.abs(want).max() < TOL
    plain = ort.InferenceSession(str(out / "plain/model.onnx"), providers=["CPUExecutionProvider"])
    p = plain.run(None, {"sample": sample.numpy(), "timestep": t.numpy(), "encoder_hidden_states": text[:2].numpy()})[0]
    assert np.abs(p - want)[1].max() > 1e-3 * np.abs(want).max()  # MIGC changes the cond row
    assert np.abs(p - want)[0].max() <= TOL * np.abs(want).max()  # and leaves the uncond row


def test_sac_order_matters_in_the_official_code():
    """Why the export fixes the order: another permutation of SAC's 28 slots changes the output."""
    torch.manual_seed(0)
    m = MIGC(32).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape) * 0.1)
    x, masks = torch.randn(1, 4, 16, 32), torch.rand(1, 4, 4, 4)
    with torch.no_grad():
        a = m.sac(x, masks)
        m.sac.perm = torch.randperm(28, generator=torch.Generator().manual_seed(1))
        b = m.sac(x, masks)
    assert (a - b).abs().max() > 1e-4


def test_manifest_and_report(exported):
    _, _, out = exported
    assert json.loads((out / "amdm.json").read_text()) == migc.manifest()
    report = json.loads((out / "export.json").read_text())
    assert report["source"]["migc_blocks"] == sorted(["down_blocks.2.attentions.1", "mid_block.attentions.0",
                                                      "up_blocks.1.attentions.0", "up_blocks.1.attentions.1",
                                                      "up_blocks.1.attentions.2"])


def test_ldm_key_mapping_follows_load_migc():
    k = lambda ldm: f"model.diffusion_model.{ldm}.1.transformer_blocks.0.migc.norm.bias"  # noqa: E731
    assert migc.diffusers_block(k("input_blocks.1"), "f") == "down_blocks.0.attentions.0"
    assert migc.diffusers_block(k("input_blocks.5"), "f") == "down_blocks.1.attentions.1"
    assert migc.diffusers_block(k("middle_block"), "f").startswith("mid_block.attentions.0")
    assert migc.diffusers_block(k("output_blocks.11"), "f") == "up_blocks.3.attentions.2"
    with pytest.raises(migc.ExportError, match="input_blocks.3 is a downsampler"):
        migc.diffusers_block(k("input_blocks.3"), "f")


def _fails(tmp_path, capsys, ckpt, base, *needles):
    out = tmp_path / "out"
    args = ["migc", "--from", str(ckpt), "--out", str(out)] + (["--base", str(base)] if base else [])
    assert export_main(args) == 2
    err = capsys.readouterr().err
    for s in needles:
        assert s in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


@pytest.fixture(scope="module")
def sources(tmp_path_factory, clip_tokenizer_dir):
    root = tmp_path_factory.mktemp("migc-bad")
    return write_migc(root, clip_tokenizer_dir)


def test_ckpt_without_state_dict(tmp_path, capsys, sources):
    _, base = sources
    bad = tmp_path / "bad.ckpt"
    torch.save({"model": {"w": torch.zeros(2)}}, bad)
    _fails(tmp_path, capsys, bad, base, f"{bad}: no 'state_dict' in the checkpoint (found ['model'])")


def test_missing_migc_key(tmp_path, capsys, sources):
    ckpt, base = sources
    obj = torch.load(ckpt, weights_only=True)
    key = next(k for k in obj["state_dict"] if "output_blocks.4" in k and k.endswith("sac.conv2.weight"))
    del obj["state_dict"][key]
    bad = tmp_path / "bad.ckpt"
    torch.save(obj, bad)
    _fails(tmp_path, capsys, bad, base, f"{bad}: MIGC weights of up_blocks.1.attentions.1", "1 missing key(s): sac.conv2.weight")


def test_non_migc_key(tmp_path, capsys, sources):
    ckpt, base = sources
    obj = torch.load(ckpt, weights_only=True)
    obj["state_dict"]["model.diffusion_model.out.0.weight"] = torch.zeros(3)
    bad = tmp_path / "bad.ckpt"
    torch.save(obj, bad)
    _fails(tmp_path, capsys, bad, base, "state_dict key 'model.diffusion_model.out.0.weight' is not a MIGC key")


def test_wrong_base_width(tmp_path, capsys, sources, clip_tokenizer_dir):
    ckpt, _ = sources
    # a base whose up_blocks.1 has other channels than the checkpoint's MIGC modules
    from tiny_sd import tiny_unet_config, write_tiny_sd

    other = write_tiny_sd(tmp_path / "other", clip_tokenizer_dir, text_width=WIDTH)
    cfg = json.loads((other / "unet/config.json").read_text())
    from diffusers import UNet2DConditionModel

    conf = {**tiny_unet_config(WIDTH, LATENT), "block_out_channels": (16, 16, 48, 48)}
    UNet2DConditionModel(**conf).save_pretrained(str(other / "unet"))
    assert cfg["cross_attention_dim"] == WIDTH
    _fails(tmp_path, capsys, ckpt, other, "MIGC weights for down_blocks.2.attentions.1 have 32 channels (migc.norm.bias)",
           "has 48 there")


def test_sd2_base_and_missing_base(tmp_path, capsys, sources):
    ckpt, base = sources
    _fails(tmp_path, capsys, ckpt, None, "--base: required for migc")
    cfg = json.loads((base / "unet/config.json").read_text())
    sd2 = tmp_path / "sd2"
    import shutil

    shutil.copytree(base, sd2)
    (sd2 / "unet/config.json").write_text(json.dumps({**cfg, "cross_attention_dim": 1024, "use_linear_projection": True}))
    _fails(tmp_path, capsys, ckpt, sd2, "cross_attention_dim 1024", "SD-2.x")


def test_generate_runs_the_export(exported, tmp_path):
    _, _, out = exported
    job = {"prompt": "a cat and a dog", "negativePrompt": "", "steps": 3, "guidance": 5, "seed": 1, "device": "cpu",
           "height": LATENT * 8, "width": LATENT * 8, "output": str(tmp_path / "gen"),
           "models": [{"folder": str(out), "kind": "migc", "name": "migc",
                       "conditions": {"phrases": ["cat", "dog"], "boxes": [[0.1, 0.1, 0.5, 0.9], [0.5, 0.4, 0.9, 0.9]],
                                      "migcSteps": 1}}]}
    (tmp_path / "job.json").write_text(json.dumps(job))
    amdm("generate", str(tmp_path / "job.json"), "--no-progress")
    assert list((tmp_path / "gen").glob("*.png"))
