"""`interactdiffusion` export: the grounded UNet against diffusers' GLIGEN modules with the same
weights, the interaction position net against a module written from the checkpoint's keys, the
plain UNet, bad checkpoints, and `amdm generate` on the exported folder."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from amdm_tools.export import interactdiffusion as idx
from amdm_tools.export._interim_common import ExportError
from export_helpers import generate, rel_err, run_onnx
from tiny_checkpoints import LATENT, WIDTH, RefInteractionNet, interact_unet, unet_config, write_interactdiffusion

TOL = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("interact")
    src = write_interactdiffusion(root / "src")
    out = root / "out"
    manifest = idx.export_folder(src, out, latent=LATENT)
    return src, out, manifest


def reference_unet(src):
    """diffusers' gated UNet + the reference interaction net, loaded from the checkpoint file."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel(**unet_config(attention_type="gated"))
    unet.position_net = RefInteractionNet(WIDTH, WIDTH)
    unet.load_state_dict(load_file(str(src / "unet/diffusion_pytorch_model.safetensors")))
    return unet.eval()


def test_grounded_unet_matches_diffusers_gligen(exported):
    src, out, manifest = exported
    assert manifest["unet"]["inputs"]["masks"] == "masks"
    args = idx.example_inputs(WIDTH, LATENT, seed=7)
    names = ["sample", "timestep", "encoder_hidden_states", *idx.GROUNDING_INPUTS]
    got = run_onnx(out / "unet/model.onnx", dict(zip(names, args)))
    gligen = dict(zip(idx.GROUNDING_INPUTS, args[3:]))
    with torch.no_grad():
        want = reference_unet(src)(args[0], args[1].expand(2), args[2], cross_attention_kwargs={"gligen": gligen}).sample
        plain = reference_unet(src)(args[0], args[1].expand(2), args[2]).sample
    assert rel_err(got, want) < TOL
    # the fusers act: grounding changes ε, in the uncond rows too (null features)
    assert rel_err(plain.numpy(), want) > 1e-3
    assert rel_err(plain[:1].numpy(), want[:1]) > 1e-3


def test_plain_unet_is_the_unet_without_grounding(exported):
    src, out, manifest = exported
    assert manifest["graphs"]["plain"]["file"] == "plain/model.onnx"
    args = idx.example_inputs(WIDTH, LATENT, seed=8)
    got = run_onnx(out / "plain/model.onnx", dict(zip(["sample", "timestep", "encoder_hidden_states"], args[:3])))
    with torch.no_grad():
        want = reference_unet(src)(args[0], args[1].expand(2), args[2]).sample
    assert rel_err(got, want) < TOL


@pytest.mark.parametrize("rows", [30, 32])
def test_position_net_matches_the_reference_module(rows):
    torch.manual_seed(3)
    ref = RefInteractionNet(WIDTH, 40, rows=rows)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn(p.shape) * 0.1)
    net = idx.InteractionPositionNet(WIDTH, 40, interaction_rows=rows)
    net.load_state_dict(ref.state_dict())
    args = idx.example_inputs(WIDTH, LATENT, seed=9)[3:]
    with torch.no_grad():
        want, got = ref(*args), net(*args)
    assert got.shape == (2, 90, 40)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)


def test_between_box_takes_the_middle_coordinates():
    a = torch.tensor([[[0.1, 0.2, 0.5, 0.6]]])
    b = torch.tensor([[[0.4, 0.0, 0.9, 0.3]]])
    assert torch.equal(idx.between_box(a, b), torch.tensor([[[0.4, 0.2, 0.5, 0.3]]]))


def test_folder_files_and_manifest(exported):
    _, out, _ = exported
    for f in ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json",
              "text_encoder/model.onnx", "vae_decoder/model.onnx", "unet/model.onnx", "plain/model.onnx", "amdm.json"]:
        assert (out / f).is_file(), f
    assert json.loads((out / "amdm.json").read_text())["family"] == "interactdiffusion"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")]


def _expect_error(tmp_path, match, **kw):
    src = write_interactdiffusion(tmp_path / "src", **kw)
    with pytest.raises(ExportError, match=match):
        idx.export_folder(src, tmp_path / "out", latent=LATENT)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src"]
    return src


def test_sd2_config_is_rejected(tmp_path):
    src = write_interactdiffusion(tmp_path / "src")
    cfg = json.loads((src / "unet/config.json").read_text())
    (src / "unet/config.json").write_text(json.dumps(dict(cfg, cross_attention_dim=1024)))
    with pytest.raises(ExportError, match=r"config.json: cross_attention_dim 1024 \(Stable Diffusion 2.x\); expected 768"):
        idx.export_folder(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sdxl_config_is_rejected(tmp_path):
    src = write_interactdiffusion(tmp_path / "src")
    cfg = json.loads((src / "unet/config.json").read_text())
    (src / "unet/config.json").write_text(json.dumps(dict(cfg, cross_attention_dim=2048, addition_embed_type="text_time")))
    with pytest.raises(ExportError, match="an SDXL UNet"):
        idx.export_folder(src, tmp_path / "out")


def test_gligen_checkpoint_is_not_interactdiffusion(tmp_path):
    drop = lambda s: {k: v for k, v in s.items() if not k.startswith("position_net.")}  # noqa: E731
    _expect_error(tmp_path, r"diffusion_pytorch_model.safetensors: no key 'position_net.interaction_embedding.emb.weight'",
                  state_edit=drop)


def test_missing_fuser_key_is_named(tmp_path):
    key = "up_blocks.1.attentions.0.transformer_blocks.0.fuser.alpha_attn"
    _expect_error(tmp_path, rf"1 key\(s\) of an InteractDiffusion SD-1.x UNet missing, e.g. '{key}' \(no gated self-attention fusers",
                  state_edit=lambda s: {k: v for k, v in s.items() if k != key})


def test_wrong_shape_is_named(tmp_path):
    key = "position_net.linear_action.4.weight"
    edit = lambda s: {**s, key: torch.zeros(WIDTH, 100)}  # noqa: E731
    _expect_error(tmp_path, rf"'{key}' has shape \[768, 100\], expected \[768, 512\]", state_edit=edit)


def test_generate_runs_the_export(exported, tmp_path):
    _, out, _ = exported
    job = {"prompt": "a man feeding a cat", "models": [{"folder": str(out), "kind": "interactdiffusion", "name": "id",
           "conditions": {"subjects": ["man"], "actions": ["feeding"], "objects": ["cat"],
                          "subjectBoxes": [[0.1, 0.1, 0.5, 0.9]], "objectBoxes": [[0.5, 0.5, 0.9, 0.9]]}}]}
    result = generate(job, tmp_path)
    assert list(result.glob("*.png")), list(result.iterdir())
