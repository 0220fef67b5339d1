"""The model is torchvision's EfficientNet, key for key and logit for logit, and the paper's table."""

import pytest
import torch
import torchvision

import effnet_lib
from effnet_lib import build_model, count_parameters, efficientnet, load_pretrained
from effnet_lib.model.anatomy import se_weights, trace_shapes
from effnet_lib.model.network import BATCHNORM, MBConv

VARIANTS = [f"b{i}" for i in range(8)]
TORCHVISION_PARAMS = {
    "b0": 5_288_548,
    "b1": 7_794_184,
    "b2": 9_109_994,
    "b3": 12_233_232,
    "b4": 19_341_616,
    "b5": 30_389_784,
    "b6": 43_040_704,
    "b7": 66_347_960,
}
# Derived table from the reference: stem, stage out channels, repeats, head.
DERIVED = {
    "b0": (32, [16, 24, 40, 80, 112, 192, 320], [1, 2, 2, 3, 3, 4, 1], 1280),
    "b1": (32, [16, 24, 40, 80, 112, 192, 320], [2, 3, 3, 4, 4, 5, 2], 1280),
    "b2": (32, [16, 24, 48, 88, 120, 208, 352], [2, 3, 3, 4, 4, 5, 2], 1408),
    "b3": (40, [24, 32, 48, 96, 136, 232, 384], [2, 3, 3, 5, 5, 6, 2], 1536),
    "b4": (48, [24, 32, 56, 112, 160, 272, 448], [2, 4, 4, 6, 6, 8, 2], 1792),
    "b5": (48, [24, 40, 64, 128, 176, 304, 512], [3, 5, 5, 7, 7, 9, 3], 2048),
    "b6": (56, [32, 40, 72, 144, 200, 344, 576], [3, 6, 6, 8, 8, 11, 3], 2304),
    "b7": (64, [32, 48, 80, 160, 224, 384, 640], [4, 7, 7, 10, 10, 13, 4], 2560),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_parameter_count_equals_torchvision(variant):
    model = getattr(effnet_lib, f"efficientnet_{variant}")()
    assert count_parameters(model) == TORCHVISION_PARAMS[variant]


@pytest.mark.parametrize("variant", VARIANTS)
def test_torchvision_weights_load_strict_and_give_same_logits(variant):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, f"efficientnet_{variant}")().eval()
    ours = build_model(variant).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        diff = (reference(x) - ours(x)).abs().max().item()
    assert diff <= 1e-5


@pytest.mark.parametrize("variant", VARIANTS)
def test_stem_stages_head_match_derived_table(variant):
    stem, channels, repeats, head = DERIVED[variant]
    model = build_model(variant)
    assert model.features[0][0].out_channels == stem
    for stage, out, n in zip(model.features[1:8], channels, repeats):
        assert len(stage) == n
        assert all(block.block[-1][0].out_channels == out for block in stage)
    assert model.features[8][0].out_channels == head
    assert model.classifier[1].in_features == head


def test_mbconv_structure_residual_and_se_width():
    block = MBConv(40, 40, 5, 1, 6)
    expand, depthwise, se, project = block.block
    assert expand[0].out_channels == 240
    assert depthwise[0].groups == 240 and depthwise[0].kernel_size == (5, 5)
    assert se.fc1.out_channels == 10  # a quarter of the block's input, not of the expanded width
    assert len(project) == 2  # no activation after the projection
    assert block.use_residual
    assert not MBConv(40, 80, 3, 2, 6).use_residual
    assert len(MBConv(32, 16, 3, 1, 1).block) == 3  # MBConv1: no expansion conv


def test_stochastic_depth_grows_linearly_and_only_acts_in_training():
    model = build_model("b0", stochastic_depth_prob=0.2)
    probs = [b.sd_prob for stage in model.features[1:8] for b in stage]
    assert probs[0] == 0 and probs == sorted(probs)
    assert probs[-1] == pytest.approx(0.2 * 15 / 16)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    # In training, a residual block is skipped at random: with rate 0.9 on one block, some rows of
    # its output are exactly its input (dropped), and the others are scaled by 1 / 0.1 (kept).
    block = MBConv(16, 16, 3, 1, 6, sd_prob=0.9).train()
    x = torch.randn(64, 16, 8, 8)
    torch.manual_seed(0)
    with torch.no_grad():
        out = block(x)
        branch = block.block(x)  # BatchNorm in training uses the batch's statistics: same branch output
    dropped = (out - x).flatten(1).abs().amax(1) == 0
    assert 0 < dropped.sum() < 64
    assert torch.allclose(out[~dropped] - x[~dropped], branch[~dropped] / 0.1, atol=1e-4)
    block.eval()
    with torch.no_grad():
        assert torch.allclose(block(x), block.block(x) + x)  # evaluation: every block runs, unscaled


def test_batchnorm_is_a_named_choice():
    assert BATCHNORM["seed"] == (1e-3, 0.1) and BATCHNORM["tf"] == (1e-3, 0.01)
    bn = build_model("b0", bn="seed").features[0][1]
    assert (bn.eps, bn.momentum) == (1e-3, 0.1)
    bn = build_model("b0").features[0][1]
    assert (bn.eps, bn.momentum) == (1e-5, 0.1)
    bn = build_model("b7").features[0][1]
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)
    bn = efficientnet(0.5, 0.5, bn="tf", bn_momentum=0.2).features[0][1]
    assert (bn.eps, bn.momentum) == (1e-3, 0.2)
    with pytest.raises(ValueError, match="unknown BatchNorm"):
        efficientnet(bn="nope")


def test_tiny_models_below_one_and_other_inputs():
    model = efficientnet(width=0.25, depth=0.34, num_classes=12, dropout=0.1, in_channels=1)
    assert model.features[0][0].in_channels == 1
    assert [len(s) for s in model.features[1:8]] == [1, 1, 1, 2, 2, 2, 1]  # ceil(3 * 0.34) = 2
    out = model(torch.randn(3, 1, 32, 32))
    assert out.shape == (3, 12)
    assert model.classifier[0].p == 0.1


def test_trace_shapes_follow_table_1():
    rows = dict(trace_shapes(build_model("b0").eval(), torch.zeros(1, 3, 224, 224)))
    assert rows["stem"] == (1, 32, 112, 112)
    assert rows["stage 3"] == (1, 24, 56, 56)
    assert rows["stage 8"] == (1, 320, 7, 7)
    assert rows["head conv"] == (1, 1280, 7, 7)
    assert rows["classifier"] == (1, 1000)


def test_load_pretrained_transfer_and_mismatch(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.efficientnet_b0()
    path = tmp_path / "b0.pth"
    torch.save(tv.state_dict(), path)
    model = load_pretrained(build_model("b0", num_classes=5), path)
    assert torch.equal(model.features[3][1].block[1][0].weight, tv.features[3][1].block[1][0].weight)
    assert model.classifier[1].out_features == 5
    same = load_pretrained(build_model("b0"), path)
    assert torch.equal(same.classifier[1].weight, tv.classifier[1].weight)
    features = tmp_path / "features.pth"  # the features alone: a fresh classifier, though 1000 = 1000
    torch.save({k: v for k, v in tv.state_dict().items() if not k.startswith("classifier.")}, features)
    torch.manual_seed(1)
    fresh = load_pretrained(build_model("b0"), features)
    assert torch.equal(fresh.features[3][1].block[1][0].weight, tv.features[3][1].block[1][0].weight)
    assert not torch.equal(fresh.classifier[1].weight, tv.classifier[1].weight)
    with pytest.raises(ValueError, match=r"b0\.pth.*missing"):
        load_pretrained(build_model("b1"), path)
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        load_pretrained(build_model("b0"), tmp_path / "absent.pth")


def test_se_weights_are_the_blocks_channel_scales():
    model = build_model("b0").eval()
    x = torch.randn(1, 3, 64, 64)
    block = model.features[3][0]
    with torch.no_grad():
        h = block.block[1](block.block[0](model.features[:3](x)))
        expected = block.block[2].scale(h).flatten(1)
    w = se_weights(model, x, stage=4)
    assert w.shape == (1, 144) and torch.allclose(w, expected) and (0 < w).all() and (w < 1).all()


@pytest.mark.parametrize("variant", ["b0", "b1", "b2", "b3"])
def test_timm_network_has_our_parameters_and_with_our_weights_our_logits(variant):
    """timm's efficientnet_b0..b3, an independent implementation: the same parameter count, and with
    our weights copied in by position (tensor for tensor, shapes checked) the same logits."""
    import timm  # a dev dependency: an independent implementation to check against

    torch.manual_seed(0)
    ours = build_model(variant).eval()
    theirs = timm.create_model(f"efficientnet_{variant}", pretrained=False).eval()
    assert count_parameters(theirs) == count_parameters(ours) == TORCHVISION_PARAMS[variant]
    source, target = ours.state_dict(), theirs.state_dict()
    assert len(source) == len(target)
    mapped = {}
    for (ours_key, value), (their_key, slot) in zip(source.items(), target.items()):
        assert value.shape == slot.shape, (ours_key, their_key)
        mapped[their_key] = value
    theirs.load_state_dict(mapped, strict=True)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))
