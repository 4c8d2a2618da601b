"""The mini-zoo networks: VAE (3x32x32 <-> 4x8x8), text encoder (CLIP-like, causal, pooler at
EOS), base UNet ("mini SD") and the three adapters' extra layers.

Adapters (each on a frozen copy of the base UNet, as the real ones are trained on frozen SD):
- InteractDiffusion-mini: GLIGEN gated self-attention over grounding tokens (subject, object and
  action tokens from box Fourier features + phrase pooler embeddings; masked slots are left out
  of the attention); gate tanh(gamma), gamma initialised at 0. Unlike GLIGEN, the attention to
  the grounding tokens is box-masked and the visual tokens get a cell-position embedding
  (GatedSelfAttention says why).
- MIGC-mini: per-instance cross-attention (phrase last_hidden_state plus one token made from its
  pooler and box) whose outputs are laid out by the guidance masks, plus a background branch on
  the caption laid out by the supplement mask; gated (tanh, init 0), conditional rows only.
  Unlike MIGC, each instance's query and output also see where the cell lies inside that
  instance's box (InstanceBranch says why).
- IP-Adapter-mini: decoupled cross-attention (new to_k_ip / to_v_ip, initialised from the base
  to_k / to_v) over image tokens, output = attn(text) + scale * attn(image tokens).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TOKENS = 77
LATENT = (4, 8, 8)


# ---------------------------------------------------------------- diffusion schedule

def sd_alphas_cumprod(steps=1000, beta_start=0.00085, beta_end=0.012):
    """SD 1.x 'scaled_linear' betas = linspace(sqrt(b0), sqrt(b1), T)^2 -> cumprod(1 - beta)."""
    betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, steps, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


# ---------------------------------------------------------------- building blocks

def attention(q, k, v, heads, mask=None):
    """Multi-head scaled dot-product attention; q [B,N,C], k/v [B,M,C] -> [B,N,C]."""
    B, N, C = q.shape
    M = k.shape[1]
    d = C // heads
    q = q.reshape(B, N, heads, d).transpose(1, 2)
    k = k.reshape(B, M, heads, d).transpose(1, 2)
    v = v.reshape(B, M, heads, d).transpose(1, 2)
    w = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
    if mask is not None:
        w = w + mask
    w = torch.softmax(w, dim=-1)
    return torch.matmul(w, v).transpose(1, 2).reshape(B, N, C)


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return self.out(attention(q, k, v, self.heads, mask))


class CrossAttention(nn.Module):
    """attn(x, context); with `ip_tokens` > 0 the last ip_tokens context rows go through the
    decoupled image branch (IP-Adapter) scaled by `scale`."""

    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.to_k_ip = None
        self.to_v_ip = None

    def add_ip(self):
        self.to_k_ip = nn.Linear(self.to_k.in_features, self.to_k.out_features, bias=False)
        self.to_v_ip = nn.Linear(self.to_v.in_features, self.to_v.out_features, bias=False)
        self.to_k_ip.weight.data.copy_(self.to_k.weight.data)
        self.to_v_ip.weight.data.copy_(self.to_v.weight.data)

    def forward(self, x, ctx, ip=None, scale=None):
        q = self.to_q(x)
        h = attention(q, self.to_k(ctx), self.to_v(ctx), self.heads)
        if ip is not None:
            h = h + scale * attention(q, self.to_k_ip(ip), self.to_v_ip(ip), self.heads)
        return self.out(h)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=2):
        super().__init__()
        self.a = nn.Linear(dim, dim * mult)
        self.b = nn.Linear(dim * mult, dim)

    def forward(self, x):
        return self.b(F.gelu(self.a(x)))


def fourier_boxes(boxes, freqs=8):
    """GLIGEN's Fourier embedding of xyxy boxes: [..., 4] -> [..., 4*2*freqs]."""
    f = (2.0 ** torch.arange(freqs, dtype=torch.float32, device=boxes.device)) * math.pi
    a = boxes.unsqueeze(-1) * f  # [..., 4, F]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1).flatten(-2)


# ---------------------------------------------------------------- text encoder

class TextEncoder(nn.Module):
    """input_ids [B,L] (CLIP ids) -> last_hidden_state [B,L,D], pooler_output [B,D].

    A 49408-entry table maps each CLIP id to a compact id (0 = unknown), so the embedding holds
    only the ids the world uses. Causal self-attention and absolute positions, as CLIP's, so the
    hidden state of a token does not depend on the padding after it and the pooler (the hidden
    state at argmax(input_ids), the first EOS) is the same at any padded length.
    """

    def __init__(self, used_ids, dim=64, layers=2, heads=4, vocab_size=49408):
        super().__init__()
        table = torch.zeros(vocab_size, dtype=torch.int32)
        for i, t in enumerate(used_ids):
            table[int(t)] = i + 1
        self.register_buffer("remap", table)
        self.embed = nn.Embedding(len(used_ids) + 1, dim)
        self.pos = nn.Parameter(torch.randn(TOKENS, dim) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(dim), "attn": SelfAttention(dim, heads),
                "ln2": nn.LayerNorm(dim), "ff": FeedForward(dim, 4),
            }))
        self.ln = nn.LayerNorm(dim)
        causal = torch.full((TOKENS, TOKENS), -1e9).triu(1)
        self.register_buffer("causal", causal)
        self.dim = dim

    def forward(self, input_ids):
        L = input_ids.shape[1]
        ids = self.remap[input_ids.long()].long()
        x = self.embed(ids) + self.pos[:L]
        mask = self.causal[:L, :L]
        for blk in self.layers:
            x = x + blk["attn"](blk["ln1"](x), mask)
            x = x + blk["ff"](blk["ln2"](x))
        x = self.ln(x)
        idx = input_ids.long().argmax(dim=1)
        pooled = torch.gather(x, 1, idx[:, None, None].expand(x.shape[0], 1, x.shape[2])).squeeze(1)
        return x, pooled


# ---------------------------------------------------------------- VAE

class VAE(nn.Module):
    """Autoencoder 3x32x32 <-> 4x8x8 that works at 8x8 only: 4x4 pixel patches become 48
    channels (pixel unshuffle), 3x3 convolutions at 8x8 map them to 4 latent channels and back,
    pixel shuffle restores the image. Trained with a small latent noise and an L2 penalty;
    `latent_scale` makes the latents unit-std on the data."""

    def __init__(self, ch=96):
        super().__init__()
        self.enc = nn.Sequential(
            nn.PixelUnshuffle(4),
            nn.Conv2d(48, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 4, 3, padding=1),
        )
        self.dec = nn.Sequential(
            nn.Conv2d(4, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 48, 1),
            nn.PixelShuffle(4),
        )
        self.register_buffer("latent_scale", torch.ones(()))

    def encode(self, x):
        return self.enc(x) * self.latent_scale

    def decode(self, z):
        return self.dec(z / self.latent_scale)


# ---------------------------------------------------------------- UNet

class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(t)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class Transformer(nn.Module):
    """Self-attention, cross-attention to the text, feed-forward on the HxW tokens, plus the
    adapter hooks (GLIGEN fuser, MIGC instance branch)."""

    def __init__(self, dim, ctx_dim, heads=4):
        super().__init__()
        self.norm_in = nn.GroupNorm(8, dim)
        self.ln1 = nn.LayerNorm(dim)
        self.attn1 = SelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.attn2 = CrossAttention(dim, ctx_dim, heads)
        self.ln3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)
        self.fuser = None  # GatedSelfAttention (InteractDiffusion-mini)
        self.migc = None  # InstanceBranch (MIGC-mini)
        self.factor = 1  # latent size / this level's size (set by the UNet)

    def forward(self, x, ctx, cond):
        B, C, H, W = x.shape
        h = self.norm_in(x).flatten(2).transpose(1, 2)
        h = h + self.attn1(self.ln1(h))
        if self.fuser is not None and "grounding" in cond:
            h = self.fuser(h, cond["grounding"], H, W)
        ip = cond.get("ip")
        n = self.ln2(h)
        h = h + self.attn2(n, ctx, ip, cond.get("ip_scale"))
        if self.migc is not None and "instances" in cond:
            h = h + self.migc(n, ctx, cond["instances"], self.factor, H, W)
        h = h + self.ff(self.ln3(h))
        return x + h.transpose(1, 2).reshape(B, C, H, W)


class GatedSelfAttention(nn.Module):
    """GLIGEN's fuser: h += tanh(gamma) * SA(LN([h; tokens]))[:HW], gamma = 0 at the start.
    Grounding tokens of slots with mask 0 are left out of the attention (keys masked), so 30
    slots with n used give exactly what n slots give (the official model instead attends to
    learned null tokens in the empty slots).

    Two departures from GLIGEN, because on 8x8 latents within minutes of CPU its fusers learned
    that a relation exists but not where (see models/mini-zoo/README.md): a visual token attends
    only to the grounding tokens whose region covers its cell (box-masked attention, as layout
    methods such as MIGC lay their branches out by masks), and the visual tokens get a learned
    (zero-initialised) embedding of their cell's position, so a token can tell where in a box it is.

    With `ff`, the fuser also has GLIGEN's gated feed-forward after the attention
    (h += tanh(gamma_ff) * FF(LN(h)), gamma_ff = 0 at the start, so a fuser trained without it
    continues unchanged): capacity to turn what a cell attended to into the mark it draws.
    """

    def __init__(self, dim, heads=4, pos_freqs=3, ff=False):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.pos_freqs = pos_freqs
        self.pos = nn.Linear(4 * pos_freqs, dim)
        nn.init.zeros_(self.pos.weight)
        nn.init.zeros_(self.pos.bias)
        self.ff = None
        if ff:
            self.ln_ff = nn.LayerNorm(dim)
            self.ff = FeedForward(dim, 4)
            self.gamma_ff = nn.Parameter(torch.zeros(()))

    def forward(self, h, grounding, H, W):
        tokens, keep, regions = grounding  # [B,T,C], [B,T] (1 = attend), [B,T,4] xyxy in [0,1]
        B, N, T = h.shape[0], h.shape[1], tokens.shape[1]
        covered = (cell_overlap(regions, H, W) > 0).to(keep.dtype) * keep[:, None, :]  # [B,N,T]
        vis_rows = torch.cat([torch.ones(B, N, N, dtype=keep.dtype, device=keep.device), covered], dim=2)
        tok_rows = torch.cat([torch.ones(B, T, N, dtype=keep.dtype, device=keep.device),
                              keep[:, None, :].expand(B, T, T)], dim=2)
        mask = ((1 - torch.cat([vis_rows, tok_rows], dim=1)) * -1e9)[:, None]
        x = self.ln(torch.cat([h, tokens], dim=1))
        x = torch.cat([x[:, :N] + self.pos(cell_position_features(H, W, self.pos_freqs, h)), x[:, N:]], dim=1)
        a = self.attn(x, mask)[:, :N]
        h = h + torch.tanh(self.gamma) * a
        if self.ff is not None:
            h = h + torch.tanh(self.gamma_ff) * self.ff(self.ln_ff(h))
        return h


def cell_overlap(boxes, H, W):
    """Fraction of each cell of an HxW grid over [0,1]^2 covered by each xyxy box:
    boxes [B,T,4] -> [B,H*W,T] (cells row-major, as the flattened visual tokens)."""
    lo_y = torch.arange(H, dtype=boxes.dtype, device=boxes.device) / H
    lo_x = torch.arange(W, dtype=boxes.dtype, device=boxes.device) / W
    x0, y0, x1, y1 = [boxes[..., k, None] for k in range(4)]  # [B,T,1]
    ox = (torch.minimum(x1, lo_x + 1.0 / W) - torch.maximum(x0, lo_x)).clamp(min=0) * W  # [B,T,W]
    oy = (torch.minimum(y1, lo_y + 1.0 / H) - torch.maximum(y0, lo_y)).clamp(min=0) * H  # [B,T,H]
    return (oy[..., :, None] * ox[..., None, :]).flatten(2).transpose(1, 2)


def cell_position_features(H, W, freqs, like):
    """Fourier features of the cell centres of an HxW grid over [0,1]^2: [H*W, 4*freqs]."""
    y = (torch.arange(H, dtype=like.dtype, device=like.device) + 0.5) / H
    x = (torch.arange(W, dtype=like.dtype, device=like.device) + 0.5) / W
    yx = torch.stack([y[:, None].expand(H, W), x[None, :].expand(H, W)], dim=-1).reshape(H * W, 2)
    f = (2.0 ** torch.arange(freqs, dtype=like.dtype, device=like.device)) * math.pi
    a = yx[..., None] * f
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1).flatten(-2)


class InstanceBranch(nn.Module):
    """MIGC-mini: for each instance k, cross-attention of the visual tokens to
    [phrase_k last_hidden_state (77 rows); token(pooler_k, box_k)]; the outputs are placed by the
    guidance masks, a background cross-attention to the caption by the supplement mask.
    Added with a tanh(gamma) gate (gamma = 0 at the start) on the conditional rows only.

    One departure from MIGC: every cell also gets Fourier features of its position relative to
    instance k's box (box_relative_features), added to its query for instance k and fed, with
    the attention output, to a small MLP whose output is added to it (both zero-initialised, so
    training starts from plain MIGC-mini). Without them the branch writes nearly the same vector
    into every cell of a box, and a circle differs from a square only in the box's corner
    cells: trained that way, MIGC-mini drew 42 % of its circles as squares (its instance success
    stopped at 0.56). MIGC's own instance shader gets this position from SD's 64x64 features,
    which an 8x8 latent barely has.
    """

    def __init__(self, dim, ctx_dim, heads=4, pos_freqs=3):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.pos_freqs = pos_freqs
        self.pos_q = nn.Linear(4 * pos_freqs, dim)
        self.pos_mlp = nn.Sequential(nn.Linear(dim + 4 * pos_freqs, dim), nn.SiLU(), nn.Linear(dim, dim))
        for m in (self.pos_q, self.pos_mlp[2]):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, n, ctx, inst, factor, H, W):
        # n: [B,H*W,C] visual tokens; inst: embeds [B,K,L,D] (with the box token appended), masks [B,K,H0,W0],
        # supplement [B,1,H0,W0], rows [B] (1 = apply), boxes [B,K,4] xyxy in [0,1]
        emb, masks, supp, rows = inst["embeds"], inst["masks"], inst["supplement"], inst["rows"]
        B, K, L, D = emb.shape
        N = n.shape[1]
        pos = box_relative_features(inst["boxes"], H, W, self.pos_freqs)  # [B,K,N,4F]
        q = self.to_q(n)  # [B,N,C]
        C = q.shape[-1]
        qk = (q.unsqueeze(1) + self.pos_q(pos)).reshape(B * K, N, C)
        e = emb.reshape(B * K, L, D)
        o = attention(qk, self.to_k(e), self.to_v(e), self.heads).reshape(B, K, N, C)
        o = o + self.pos_mlp(torch.cat([o, pos], dim=-1))
        m = resize_masks(masks, factor).flatten(2).unsqueeze(-1)  # [B,K,N,1]
        bg = attention(q, self.to_k(ctx), self.to_v(ctx), self.heads)
        s = resize_masks(supp, factor).flatten(2).transpose(1, 2)  # [B,N,1]
        mixed = (o * m).sum(dim=1) + bg * s
        return torch.tanh(self.gamma) * self.out(mixed) * rows[:, None, None]


def box_relative_features(boxes, H, W, freqs):
    """Fourier features of each cell centre of an HxW grid over [0,1]^2 in each xyxy box's own
    frame (-1 and 1 at the box's edges, 0 at its centre): boxes [B,K,4] -> [B,K,H*W,4*freqs]
    (cells row-major). A degenerate box (zero width or height, as padding slots have) gives
    finite features: its extent is floored at 1e-3."""
    y = (torch.arange(H, dtype=boxes.dtype, device=boxes.device) + 0.5) / H
    x = (torch.arange(W, dtype=boxes.dtype, device=boxes.device) + 0.5) / W
    x0, y0, x1, y1 = [boxes[..., k, None] for k in range(4)]  # [B,K,1]
    u = (2 * x - x0 - x1) / (x1 - x0).clamp(min=1e-3)  # [B,K,W]
    v = (2 * y - y0 - y1) / (y1 - y0).clamp(min=1e-3)  # [B,K,H]
    vu = torch.stack([v[..., :, None].expand(v.shape + (W,)), u[..., None, :].expand(u.shape[:-1] + (H, W))], dim=-1)
    vu = vu.flatten(-3, -2)  # [B,K,H*W,2]
    f = (2.0 ** torch.arange(freqs, dtype=boxes.dtype, device=boxes.device)) * (math.pi / 2)
    a = vu[..., None] * f
    return torch.cat([torch.sin(a), torch.cos(a)], dim=-1).flatten(-2)


def resize_masks(m, factor):
    """Masks at the latent size -> a level `factor` times smaller (average pooling)."""
    return m if factor == 1 else F.avg_pool2d(m, factor)


class UNet(nn.Module):
    """Latent 4x8x8 UNet: 8x8 and 4x4 levels, a transformer at each, skip connections."""

    def __init__(self, ctx_dim=64, ch=64, temb=128, heads=4):
        super().__init__()
        self.ch = ch
        self.freqs = ch // 2
        self.register_buffer("tfreq", torch.exp(-math.log(10000.0) * torch.arange(self.freqs, dtype=torch.float32) / self.freqs))
        self.temb = nn.Sequential(nn.Linear(ch, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.conv_in = nn.Conv2d(4, ch, 3, padding=1)
        self.r1 = ResBlock(ch, ch, temb)
        self.t1 = Transformer(ch, ctx_dim, heads)
        self.down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
        self.r2 = ResBlock(ch, ch, temb)
        self.t2 = Transformer(ch, ctx_dim, heads)
        self.rm = ResBlock(ch, ch, temb)
        self.tm = Transformer(ch, ctx_dim, heads)
        self.r3 = ResBlock(2 * ch, ch, temb)
        self.t3 = Transformer(ch, ctx_dim, heads)
        self.up = nn.Conv2d(ch, ch, 3, padding=1)
        self.r4 = ResBlock(2 * ch, ch, temb)
        self.t4 = Transformer(ch, ctx_dim, heads)
        self.norm_out = nn.GroupNorm(8, ch)
        self.conv_out = nn.Conv2d(ch, 4, 3, padding=1)
        for t in (self.t2, self.tm, self.t3):
            t.factor = 2

    def transformers(self):
        return [self.t1, self.t2, self.tm, self.t3, self.t4]

    def forward(self, x, t, ctx, cond=None):
        cond = cond or {}
        a = t.float()[:, None] * self.tfreq[None, :]
        te = self.temb(torch.cat([torch.sin(a), torch.cos(a)], dim=1))
        h = self.conv_in(x)
        h1 = self.t1(self.r1(h, te), ctx, cond)
        h = self.down(h1)
        h2 = self.t2(self.r2(h, te), ctx, cond)
        h = self.tm(self.rm(h2, te), ctx, cond)
        h = self.t3(self.r3(torch.cat([h, h2], dim=1), te), ctx, cond)
        h = self.up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.t4(self.r4(torch.cat([h, h1], dim=1), te), ctx, cond)
        return self.conv_out(F.silu(self.norm_out(h)))


# ---------------------------------------------------------------- adapters

class InteractGrounding(nn.Module):
    """Grounding tokens of InteractDiffusion-mini: per slot a subject, an object and an action
    token (MLP of [pooler embedding; Fourier(box)] + role and slot embeddings). The action box
    is get_between_box(subject, object). Returns the tokens and the region each covers in the
    fusers' box-masked attention: the subject box, the object box, and for the action the hull
    of both (the "looking at" dot lies in the subject's box, a link in the gap between the two).
    The masks act in the fusers (masked slots unseen)."""

    def __init__(self, dim, ctx_dim, slots=30, freqs=8):
        super().__init__()
        fin = ctx_dim + 4 * 2 * freqs
        self.inst = nn.Sequential(nn.Linear(fin, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
        self.act = nn.Sequential(nn.Linear(fin, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
        self.role = nn.Parameter(torch.randn(3, dim) * 0.02)
        self.slot = nn.Parameter(torch.randn(slots, dim) * 0.02)

    def forward(self, sb, ob, se, oe, ae):
        ab = between_box(sb, ob)
        S = sb.shape[1]
        toks = []
        for k, (net, box, emb) in enumerate([(self.inst, sb, se), (self.inst, ob, oe), (self.act, ab, ae)]):
            toks.append(net(torch.cat([emb, fourier_boxes(box)], dim=-1)) + self.role[k] + self.slot[:S])
        regions = torch.cat([sb, ob, torch.cat([torch.minimum(sb[..., :2], ob[..., :2]),
                                                torch.maximum(sb[..., 2:], ob[..., 2:])], dim=-1)], dim=1)
        return torch.cat(toks, dim=1), regions


def between_box(a, b):
    """InteractDiffusion's get_between_box: the 2nd and 3rd of the sorted x's and y's of two
    xyxy boxes, written with min/max (for intervals lo<hi: 2nd = min(max lo, min hi), 3rd = max)."""
    p = torch.maximum(a[..., 0:2], b[..., 0:2])
    q = torch.minimum(a[..., 2:4], b[..., 2:4])
    return torch.cat([torch.minimum(p, q), torch.maximum(p, q)], dim=-1)


class ImageEncoder(nn.Module):
    """Tiny conv encoder of the CLIP-normalised style reference: pixel_values [B,3,32,32] ->
    image_embeds [B,E] (mean and std of the 4x4 features, then a Linear)."""

    def __init__(self, ch=32, embed=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, ch, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 2 * ch, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * ch, 2 * ch, 4, stride=2, padding=1), nn.SiLU(),
        )
        self.proj = nn.Linear(4 * ch, embed)

    def forward(self, x):
        f = self.net(x).flatten(2)
        mean = f.mean(dim=2)
        std = (f - mean.unsqueeze(2)).pow(2).mean(dim=2).add(1e-6).sqrt()
        return self.proj(torch.cat([mean, std], dim=1))


class ImageProj(nn.Module):
    """IP-Adapter's ImageProjModel: Linear -> reshape [B,T,D] -> LayerNorm."""

    def __init__(self, embed=64, dim=64, tokens=4):
        super().__init__()
        self.tokens, self.dim = tokens, dim
        self.proj = nn.Linear(embed, tokens * dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, e):
        return self.norm(self.proj(e).reshape(e.shape[0], self.tokens, self.dim))


def add_fusers(unet, ctx_dim, ff=False):
    """InteractDiffusion-mini's layers; `ff`: the fusers' gated feed-forward (GatedSelfAttention)."""
    for t in unet.transformers():
        t.fuser = GatedSelfAttention(unet.ch, ff=ff)
    unet.grounding = InteractGrounding(unet.ch, ctx_dim)


def add_migc(unet, ctx_dim, freqs=8):
    for t in unet.transformers():
        t.migc = InstanceBranch(unet.ch, ctx_dim)
    unet.box_token = nn.Sequential(nn.Linear(ctx_dim + 4 * 2 * freqs, 2 * ctx_dim), nn.SiLU(), nn.Linear(2 * ctx_dim, ctx_dim))


def migc_box_token(unet, pooler, boxes_xyxy):
    """The extra token of each instance: MLP([pooler; Fourier(box)]) -> [..., 1, D]."""
    return unet.box_token(torch.cat([pooler, fourier_boxes(boxes_xyxy)], dim=-1)).unsqueeze(-2)


def add_ip(unet):
    for t in unet.transformers():
        t.attn2.add_ip()


def migc_masks(boxes, n_valid, latent=8, factor=8):
    """MIGC's guidance and supplement masks as src/sd/families/migc.ts builds them: per box a
    mask at (latent*factor)^2 with rows int(H*y0)..int(H*y1)-1 and columns int(W*x0)..int(W*x1)-1,
    supplement = 1 - clip(sum, 0, 1), both bilinear (align_corners=False) to latent^2.
    boxes [B,K,4] xyxy, n_valid [B] -> guidance [B,K,h,w], supplement [B,1,h,w]."""
    B, K, _ = boxes.shape
    S = latent * factor
    b = boxes.double()
    r0, c0 = torch.floor(S * b[..., 1]), torch.floor(S * b[..., 0])
    r1, c1 = torch.floor(S * b[..., 3]), torch.floor(S * b[..., 2])
    idx = torch.arange(S, dtype=torch.float64)
    rows = (idx[None, None, :] >= r0[..., None]) & (idx[None, None, :] < r1[..., None])
    cols = (idx[None, None, :] >= c0[..., None]) & (idx[None, None, :] < c1[..., None])
    valid = (torch.arange(K)[None, :] < n_valid[:, None]).double()
    full = (rows[..., :, None] & cols[..., None, :]).double() * valid[..., None, None]
    supp = 1 - full.sum(dim=1, keepdim=True).clamp(0, 1)
    g = F.interpolate(full.float(), size=(latent, latent), mode="bilinear", align_corners=False)
    s = F.interpolate(supp.float(), size=(latent, latent), mode="bilinear", align_corners=False)
    return g, s


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_normalize(u8):
    """CLIPImageProcessor on a 32x32 uint8 image at size 32 (no resize): x/255, CLIP mean/std."""
    x = u8.float() / 255.0
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def count_params(m):
    return sum(p.numel() for p in m.parameters())
