"""`amdm export interactdiffusion`: the grounded UNet against diffusers' GLIGEN modules with the same
weights, the interaction position net against a module written from the checkpoint's keys, the
plain UNet, bad checkpoints (a message naming the file and the key or field, nothing written), and
`amdm generate` on the exported folder."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file

from amdm_tools.export import interactdiffusion as idx
from amdm_tools.export.__main__ import main as export_main
from conftest import amdm
from tiny_checkpoints import LATENT, WIDTH, RefInteractionNet, unet_config, write_interactdiffusion

TOL = 1e-4


def run_onnx(path, feeds) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v.numpy() for k, v in feeds.items()})[0]


def rel_err(got: np.ndarray, want: torch.Tensor) -> float:
    w = want.detach().numpy()
    return float(np.abs(got - w).max() / np.abs(w).max())


@pytest.fixture(scope="module")
def exported(tmp_path_factory, clip_tokenizer_dir):
    root = tmp_path_factory.mktemp("interact")
    src = write_interactdiffusion(root / "src", clip_tokenizer_dir)
    out = root / "out"
    assert export_main(["interactdiffusion", "--from", str(src), "--out", str(out)]) == 0
    return src, out


@pytest.fixture(scope="module")
def reference(exported):
    """diffusers' gated UNet + the reference interaction net, loaded from the checkpoint file."""
    from diffusers import UNet2DConditionModel

    src, _ = exported
    unet = UNet2DConditionModel(**unet_config(attention_type="gated"))
    unet.position_net = RefInteractionNet(WIDTH, WIDTH)
    unet.load_state_dict(load_file(str(src / "unet/diffusion_pytorch_model.safetensors")))
    return unet.eval()


def test_grounded_unet_matches_diffusers_gligen(exported, reference):
    _, out = exported
    args = idx.example_inputs(WIDTH, LATENT, seed=7)
    names = ["sample", "timestep", "encoder_hidden_states", *idx.GROUNDING_INPUTS]
    got = run_onnx(out / "unet/model.onnx", dict(zip(names, args)))
    gligen = dict(zip(idx.GROUNDING_INPUTS, args[3:]))
    with torch.no_grad():
        want = reference(args[0], args[1], args[2], cross_attention_kwargs={"gligen": gligen}).sample
        plain = reference(args[0], args[1], args[2]).sample
    assert rel_err(got, want) < TOL
    # the fusers act: grounding changes ε, in the uncond rows too (null features)
    assert rel_err(plain.numpy(), want) > 1e-3
    assert rel_err(plain[:1].numpy(), want[:1]) > 1e-3


def test_plain_unet_is_the_unet_without_grounding(exported, reference):
    _, out = exported
    args = idx.example_inputs(WIDTH, LATENT, seed=8)[:3]
    got = run_onnx(out / "plain/model.onnx", dict(zip(["sample", "timestep", "encoder_hidden_states"], args)))
    with torch.no_grad():
        want = reference(*args).sample
    assert rel_err(got, want) < TOL


def test_manifest_and_files(exported):
    _, out = exported
    manifest = json.loads((out / "amdm.json").read_text())
    assert manifest == idx.manifest()
    assert manifest["unet"]["inputs"]["action_positive_embeddings"] == "action_embeddings"
    for f in ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "text_encoder/model.onnx",
              "vae_decoder/model.onnx", "export.json"]:
        assert (out / f).is_file(), f
    report = json.loads((out / "export.json").read_text())
    assert all(g["max_relative_error"] <= TOL for g in report["graphs"])
    assert report["source"]["interaction_rows"] == 30


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


def _fails(tmp_path, capsys, src, *needles):
    out = tmp_path / "out"
    assert export_main(["interactdiffusion", "--from", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for n in needles:
        assert n in err, err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def _edit_config(src, **changes):
    cfg = json.loads((src / "unet/config.json").read_text())
    (src / "unet/config.json").write_text(json.dumps({**cfg, **changes}))


def test_sd2_and_sdxl_configs_are_rejected(tmp_path, capsys, clip_tokenizer_dir):
    src = write_interactdiffusion(tmp_path / "src", clip_tokenizer_dir)
    _edit_config(src, cross_attention_dim=1024, use_linear_projection=True)
    _fails(tmp_path, capsys, src, "unet/config.json: cross_attention_dim 1024", "SD-2.x")
    _edit_config(src, cross_attention_dim=2048, addition_embed_type="text_time")
    _fails(tmp_path, capsys, src, "unet/config.json: addition_embed_type 'text_time' is SDXL")


def test_ungated_unet_is_rejected(tmp_path, capsys, clip_tokenizer_dir):
    src = write_interactdiffusion(tmp_path / "src", clip_tokenizer_dir)
    _edit_config(src, attention_type="default")
    _fails(tmp_path, capsys, src, "unet/config.json: attention_type 'default'; expected 'gated'")


def test_gligen_checkpoint_is_not_interactdiffusion(tmp_path, capsys, clip_tokenizer_dir):
    def gligen(s):
        s = {k: v for k, v in s.items() if not k.startswith("position_net.")}
        return {**s, "position_net.linears.0.weight": torch.zeros(512, WIDTH + 64)}

    src = write_interactdiffusion(tmp_path / "src", clip_tokenizer_dir, state_edit=gligen)
    _fails(tmp_path, capsys, src, "diffusion_pytorch_model.safetensors: no key 'position_net.interaction_embedding.emb.weight'",
           "a GLIGEN UNet, not InteractDiffusion")


def test_missing_fuser_key_is_named(tmp_path, capsys, clip_tokenizer_dir):
    key = "up_blocks.1.attentions.0.transformer_blocks.0.fuser.alpha_attn"
    src = write_interactdiffusion(tmp_path / "src", clip_tokenizer_dir,
                                  state_edit=lambda s: {k: v for k, v in s.items() if k != key})
    _fails(tmp_path, capsys, src, f"1 key(s) missing, e.g. {key} (no gated self-attention fusers")


def test_wrong_shape_is_named(tmp_path, capsys, clip_tokenizer_dir):
    key = "position_net.linear_action.4.weight"
    src = write_interactdiffusion(tmp_path / "src", clip_tokenizer_dir,
                                  state_edit=lambda s: {**s, key: torch.zeros(WIDTH, 100)})
    _fails(tmp_path, capsys, src, f"{key} is [768, 100], expected [768, 512]")


def test_generate_runs_the_export(exported, tmp_path):
    _, out = exported
    job = {"prompt": "a man feeding a cat", "negativePrompt": "", "steps": 3, "guidance": 5, "seed": 1, "device": "cpu",
           "height": LATENT * 8, "width": LATENT * 8, "output": str(tmp_path / "gen"),
           "models": [{"folder": str(out), "kind": "interactdiffusion", "name": "id",
                       "conditions": {"subjects": ["man"], "actions": ["feeding"], "objects": ["cat"],
                                      "subjectBoxes": [[0.1, 0.1, 0.5, 0.9]], "objectBoxes": [[0.5, 0.5, 0.9, 0.9]]}}]}
    (tmp_path / "job.json").write_text(json.dumps(job))
    amdm("generate", str(tmp_path / "job.json"), "--no-progress")
    assert list((tmp_path / "gen").glob("*.png"))
