"""Wrong checkpoints fail before any export with a message naming the file, the key or shape found
and what was expected, and leave nothing behind; `amdm export` without .venv names
`npm run setup:python`."""
from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from amdm_tools.export.__main__ import main
from conftest import amdm
from tiny_sd import write_tiny_ipadapter


def run_export(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    return capsys.readouterr().err


def copy_sd(tiny_sd, tmp_path):
    dst = tmp_path / "sd"
    shutil.copytree(tiny_sd, dst)
    return dst


def assert_nothing_written(out):
    assert not out.exists()
    assert [p for p in os.listdir(out.parent) if p.startswith(f".{out.name}.")] == []


def patch_json(path, **changes):
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.write_text(json.dumps(cfg))


def test_sdxl_is_refused(tiny_sd, tmp_path, capsys):
    sd = copy_sd(tiny_sd, tmp_path)
    patch_json(sd / "model_index.json", _class_name="StableDiffusionXLPipeline", text_encoder_2=["transformers", "CLIPTextModelWithProjection"])
    err = run_export(capsys, "sd", "--from", str(sd), "--out", str(tmp_path / "out"))
    assert "model_index.json" in err and "SDXL" in err
    assert_nothing_written(tmp_path / "out")


def test_sd2_is_refused(tiny_sd, tmp_path, capsys):
    sd = copy_sd(tiny_sd, tmp_path)
    patch_json(sd / "unet" / "config.json", cross_attention_dim=1024, use_linear_projection=True)
    err = run_export(capsys, "sd", "--from", str(sd), "--out", str(tmp_path / "out"))
    assert "unet/config.json" in err and "SD-2.x" in err and "1024" in err


def test_v_prediction_is_refused(tiny_sd, tmp_path, capsys):
    sd = copy_sd(tiny_sd, tmp_path)
    patch_json(sd / "scheduler" / "scheduler_config.json", prediction_type="v_prediction")
    err = run_export(capsys, "sd", "--from", str(sd), "--out", str(tmp_path / "out"))
    assert "scheduler_config.json" in err and "v_prediction" in err and "epsilon" in err


def test_a_missing_unet_weight_is_named(tiny_sd, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    sd = copy_sd(tiny_sd, tmp_path)
    f = sd / "unet" / "diffusion_pytorch_model.safetensors"
    state = load_file(str(f))
    del state["conv_in.weight"]
    save_file(state, str(f))
    err = run_export(capsys, "sd", "--from", str(sd), "--out", str(tmp_path / "out"))
    assert "unet" in err and "conv_in.weight" in err and "missing" in err
    assert_nothing_written(tmp_path / "out")


def test_not_a_diffusers_folder(tmp_path, capsys):
    err = run_export(capsys, "sd", "--from", str(tmp_path), "--out", str(tmp_path / "out"))
    assert "model_index.json" in err and "missing" in err


def test_an_adapter_for_another_base_names_key_and_shapes(tiny_sd, tmp_path, capsys):
    path = write_tiny_ipadapter(tmp_path / "models", tiny_sd)
    state = torch.load(path, weights_only=True)
    state["ip_adapter"]["1.to_k_ip.weight"] = torch.zeros(16, 768)  # an SD-1.5 adapter's width
    torch.save(state, path)
    err = run_export(capsys, "ipadapter", "--from", str(path), "--base", str(tiny_sd), "--out", str(tmp_path / "out"))
    assert "1.to_k_ip.weight is [16, 768], expected [16, 32]" in err
    assert_nothing_written(tmp_path / "out")


def test_ip_adapter_plus_is_refused(tiny_sd, tmp_path, capsys):
    path = tmp_path / "ip-adapter-plus_sd15.bin"
    torch.save({"image_proj": {"latents": torch.zeros(1, 16, 768)}, "ip_adapter": {"1.to_k_ip.weight": torch.zeros(1)}}, path)
    err = run_export(capsys, "ipadapter", "--from", str(path), "--base", str(tiny_sd), "--out", str(tmp_path / "out"))
    assert "IP-Adapter Plus" in err and "proj.weight" in err


def test_ipadapter_needs_a_base(tmp_path, capsys):
    path = tmp_path / "a.bin"
    torch.save({"image_proj": {"proj.weight": torch.zeros(1)}, "ip_adapter": {"1.to_k_ip.weight": torch.zeros(1)}}, path)
    err = run_export(capsys, "ipadapter", "--from", str(path), "--out", str(tmp_path / "out"))
    assert "--base" in err


def test_an_unknown_family(capsys):
    err = run_export(capsys, "sdxl", "--from", "x", "--out", "y")
    assert "sd, ipadapter" in err and "'sdxl'" in err


def test_the_command_without_venv_names_setup_python(tmp_path, monkeypatch):
    monkeypatch.setenv("AMDM_PYTHON", str(tmp_path / "no-python"))
    r = amdm("export", "sd", "--from", str(tmp_path), "--out", str(tmp_path / "out"), check=False)
    assert r.returncode != 0
    assert "npm run setup:python" in r.stderr
    assert not (tmp_path / "out").exists()


def test_the_command_reports_a_failed_export_and_leaves_nothing(tmp_path):
    r = amdm("export", "sd", "--from", str(tmp_path), "--out", str(tmp_path / "out"), check=False)
    assert r.returncode != 0
    assert "model_index.json" in r.stderr and "export sd failed" in r.stderr
    assert_nothing_written(tmp_path / "out")
