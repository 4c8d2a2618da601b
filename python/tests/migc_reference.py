"""MIGC written from the official architecture (limuloo/MIGC `migc_arch.py`, `migc_layers.py`,
`MIGCProcessor` in `migc_pipeline.py`), independently of the exporter: the same structure, layer
names and Python-side work (masks from box lists at full resolution, box reordering, the
[uncond; cond × (n+1)] batch). SAC's `torch.randperm` is an argument (`perm`), identity by default."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self, query_dim, context_dim=None, heads=8, dim_head=64):
        super().__init__()
        inner = dim_head * heads
        context_dim = context_dim or query_dim
        self.scale, self.heads = dim_head ** -0.5, heads
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))

    def heads_first(self, t):
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, -1).permute(0, 2, 1, 3).reshape(b * self.heads, n, -1)

    def forward(self, x, context=None, guidance_mask=None):
        b = x.shape[0]
        context = x if context is None else context
        q, k, v = map(self.heads_first, (self.to_q(x), self.to_k(context), self.to_v(context)))
        sim = torch.einsum("bid,bjd->bij", q, k) * self.scale
        if guidance_mask is not None:  # LayoutAttention
            _, phase_num, H, W = guidance_mask.shape
            HW = H * W
            o = guidance_mask.view(b * phase_num, HW, 1)
            t = guidance_mask.view(b * phase_num, 1, HW)
            msim = torch.bmm(o, t).view(b, phase_num, HW, HW).sum(dim=1)
            msim[msim > 1] = 1
            msim = msim.view(b, 1, HW, HW).repeat(1, self.heads, 1, 1).view(b * self.heads, HW, HW)
            sim[:, :, :HW][msim == 0] = -torch.finfo(sim.dtype).max
        out = torch.einsum("bij,bjd->bid", sim.softmax(dim=-1), v)
        out = out.reshape(b, self.heads, out.shape[1], -1).permute(0, 2, 1, 3).reshape(b, out.shape[1], -1)
        return self.to_out(out)


class ChannelGate(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(c, c // r), nn.ReLU(), nn.Linear(c // r, c))

    def forward(self, x):
        a = self.mlp(F.avg_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3))))
        m = self.mlp(F.max_pool2d(x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3))))
        return x * torch.sigmoid(a + m).unsqueeze(2).unsqueeze(3).expand_as(x)


class BasicConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, stride=1, padding=3, bias=False)


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = BasicConv()

    def forward(self, x):
        c = torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)
        return x * torch.sigmoid(self.spatial.conv(c))


class CBAM(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.ChannelGate = ChannelGate(c, r)
        self.SpatialGate = SpatialGate()

    def forward(self, x):
        return self.SpatialGate(self.ChannelGate(x))


class SAC(nn.Module):
    def __init__(self, C, number_pro=30):
        super().__init__()
        self.C, self.number_pro = C, number_pro
        self.conv1 = nn.Conv2d(C + 1, C, 1, 1)
        self.cbam1 = CBAM(C)
        self.conv2 = nn.Conv2d(C, 1, 1, 1)
        self.cbam2 = CBAM(number_pro, 1)
        self.perm = None  # the official code: torch.randperm(28) on every call

    def forward(self, x, guidance_mask):
        B, phase_num, HW, C = x.shape
        _, _, H, W = guidance_mask.shape
        guidance_mask = guidance_mask.view(guidance_mask.shape[0], phase_num, -1)[..., None]
        x = torch.cat([x, torch.zeros_like(x[:, [0]])], dim=1)
        guidance_mask = torch.cat([guidance_mask, torch.zeros_like(guidance_mask[:, [0]])], dim=1)
        phase_num += 1
        scale = torch.cat([x, guidance_mask], dim=-1).view(-1, H, W, C + 1).permute(0, 3, 1, 2)
        scale = self.conv2(self.cbam1(self.conv1(scale))).view(B, phase_num, H, W)
        null_scale = scale[:, [-1]]
        scale, x = scale[:, :-1], x[:, :-1]
        pad_num = self.number_pro - phase_num + 1
        ori_phase_num = scale[:, 1:-1].shape[1]
        phase_scale = torch.cat([scale[:, 1:-1], null_scale.repeat(1, pad_num, 1, 1)], dim=1)
        order = torch.arange(phase_scale.shape[1]) if self.perm is None else self.perm
        inv = torch.argsort(order)
        scale = torch.cat([scale[:, [0]], phase_scale[:, order], scale[:, [-1]]], dim=1)
        scale = self.cbam2(scale).view(B, self.number_pro, HW)[..., None]
        phase_scale = scale[:, 1:-1][:, inv[:ori_phase_num]]
        scale = torch.cat([scale[:, [0]], phase_scale, scale[:, [-1]]], dim=1).softmax(dim=1)
        return (x * scale).sum(dim=1, keepdims=True)


class PositionNet(nn.Module):
    def __init__(self, out_dim=768, freqs=8):
        super().__init__()
        self.freq_bands = 100 ** (torch.arange(freqs) / freqs)
        self.linears_position = nn.Sequential(nn.Linear(freqs * 8, 512), nn.SiLU(), nn.Linear(512, 512), nn.SiLU(),
                                              nn.Linear(512, out_dim))

    def forward(self, boxes):
        out = []
        for f in self.freq_bands:
            out += [torch.sin(f * boxes), torch.cos(f * boxes)]
        return self.linears_position(torch.cat(out, -1))


class MIGC(nn.Module):
    def __init__(self, C, context_dim=768, heads=8):
        super().__init__()
        self.ea = CrossAttention(C, context_dim, heads, C // heads)
        self.la = CrossAttention(C, None, heads, C // heads)
        self.norm = nn.LayerNorm(C)
        self.sac = SAC(C)
        self.pos_net = PositionNet(768)

    def forward(self, ca_x, guidance_mask, info):
        full_H, full_W = info["height"], info["width"]
        B, _, HW, C = ca_x.shape
        n = guidance_mask.shape[1]
        down = int(math.sqrt(full_H * full_W // ca_x.shape[2]))
        H, W = full_H // down, full_W // down
        guidance_mask = F.interpolate(guidance_mask, size=(H, W), mode="bilinear")
        supplement_mask = F.interpolate(info["supplement_mask"], size=(H, W), mode="bilinear")
        image_token = info["image_token"]
        box_token = self.pos_net(info["box"].view(B * n, 1, -1))
        context = torch.cat([info["context_pooler"][1:], box_token], dim=1)
        ea_x = self.ea(self.norm(image_token[:, 1:].reshape(B * n, HW, C)), context=context)
        ea_x = ea_x.view(B, n, HW, C) * guidance_mask.view(B, n, HW, 1)
        ca_x = ca_x.clone()
        ca_x[:, 1:] = ca_x[:, 1:] * guidance_mask.view(B, n, HW, 1) + ea_x
        tmpl = self.la(image_token[:, 0], guidance_mask=torch.cat([guidance_mask, supplement_mask], dim=1))
        ca_x = torch.cat([ca_x, tmpl.view(B, 1, HW, C)], dim=1)
        ca_x[:, 0] = ca_x[:, 0] * supplement_mask.view(B, HW, 1)
        gm = torch.cat([supplement_mask, guidance_mask, torch.ones(B, 1, H, W)], dim=1)
        return self.sac(ca_x, gm)


class Processor:
    """MIGCProcessor's arithmetic for one attention layer: vanilla (`migc` None; cross-attention
    uses only encoder_hidden_states[:2]) or MIGC, fed the official Python inputs."""

    def __init__(self, migc, bboxes, embeds_pooler, height, width):
        self.migc, self.bboxes, self.pooler, self.height, self.width = migc, bboxes, embeds_pooler, height, width

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, **_):
        is_cross = encoder_hidden_states is not None
        n = len(self.bboxes)
        vanilla = self.migc is None
        if is_cross and vanilla:
            encoder_hidden_states = encoder_hidden_states[:2]
        if is_cross and not vanilla:
            hidden_states_cond = hidden_states[[1]].repeat(n + 1, 1, 1)
            hidden_states = torch.cat([hidden_states[[0]], hidden_states_cond])
        ctx = encoder_hidden_states if is_cross else hidden_states
        q, k, v = (attn.head_to_batch_dim(t) for t in (attn.to_q(hidden_states), attn.to_k(ctx), attn.to_v(ctx)))
        out = attn.batch_to_head_dim(torch.bmm(attn.get_attention_scores(q, k, None), v))
        out = attn.to_out[1](attn.to_out[0](out))
        if not is_cross or vanilla:
            return out
        masks, in_box = [], []
        for b in self.bboxes:
            m = np.zeros((self.height, self.width))
            m[int(self.height * b[1]):int(self.height * b[3]), int(self.width * b[0]):int(self.width * b[2])] = 1.0
            masks.append(m[None])
            in_box.append([b[0], b[2], b[1], b[3]])
        sup = np.zeros_like(masks[0])
        for m in masks:
            sup += m
        sup[sup >= 1] = 1
        lat = (self.height // 8, self.width // 8)
        supplement = F.interpolate(torch.from_numpy((1 - sup)[None]), lat, mode="bilinear").float()
        guidance = F.interpolate(torch.from_numpy(np.concatenate(masks)[None]).float(), lat, mode="bilinear")
        info = {"image_token": hidden_states_cond[None], "box": torch.tensor([in_box]).float(),
                "context_pooler": self.pooler, "supplement_mask": supplement, "height": self.height, "width": self.width}
        cond = self.migc(out[1:].unsqueeze(0), guidance, info).squeeze(1)
        return torch.cat([out[[0]], cond])
