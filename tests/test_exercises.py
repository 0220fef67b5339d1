"""Every exercise accepts its own answer (as a number, as text or as the choice's letter and text),
refuses a wrong one with a hint, and has a worked solution; the "write" exercises accept code that
computes what the library computes, and refuse, with the reason and a hint, code that does not."""

import pytest
import torch

from effnet_lib import exercises


def _wrong(ex, right):
    if ex.choices:
        return next(chr(97 + i) for i in range(len(ex.choices)) if chr(97 + i) != right)
    if isinstance(right, str):
        return "z->z"
    return right * 1.5 + 1


VALUE_EXERCISES = sorted(k for k, ex in exercises.EXERCISES.items() if ex.verify is None)
CODE_EXERCISES = sorted(k for k, ex in exercises.EXERCISES.items() if ex.verify is not None)


@pytest.mark.parametrize("key", VALUE_EXERCISES)
def test_right_wrong_and_worked_answers(key, capsys):
    ex = exercises.EXERCISES[key]
    right = exercises.answer(key)
    assert exercises.check(key, right)
    if ex.choices:
        assert right in "abcdefgh"[: len(ex.choices)]
        assert exercises.check(key, f"({right.upper()})")
        assert exercises.check(key, ex.choices[ord(right) - 97])
        assert "(a)" in exercises.question(key)
    elif not isinstance(right, str):
        assert exercises.check(key, str(right))  # numbers may come as text
    assert not exercises.check(key, _wrong(ex, right))
    assert "Hint:" in capsys.readouterr().out
    assert not exercises.check(key, None)
    assert ex.choices or str(right) in exercises.solution(key) or f"{right:,}" in exercises.solution(key)
    assert exercises.question(key)


def test_known_answers():
    assert exercises.answer("00.1") == 26  # B3: 2+3+3+5+5+6+2
    assert exercises.answer("00.2") == 19  # B3's 26 blocks minus the first of each of 7 stages
    assert exercises.answer("02.3") == 8  # 32 x 1.15^8 = 98 px: 98 -> 49 -> 25 -> 13 -> 7 -> 4
    assert exercises.answer("03.4") == 28.7  # sqrt(1e-8 + 1e-3) / (sqrt(1e-8) + 1e-3)
    assert exercises.answer("00.3") == 25 * 144 * 28 * 28
    assert exercises.answer("03.1") == 28
    assert exercises.answer("05.1") == "b->c"
    assert exercises.answer("01.1") == 80 * 320 * 1 * 1  # the base's head at 32 px
    assert exercises.answer("01.3") == 4
    assert exercises.answer("01.2") == "a"
    assert exercises.check("00.3", "2,822,400")
    with pytest.raises(KeyError, match="no exercise"):
        exercises.check("99.9", 1)


def test_the_head_counted_by_hand_is_what_the_flop_counter_counts():
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from effnet_lib.model.variants import efficientnet
    from effnet_lib.study.scaling_study import BASE

    model = efficientnet(BASE.width, BASE.depth, num_classes=10).eval()
    head = model.features[-1]  # the 1x1 convolution, BatchNorm and activation after the last stage
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        head(torch.zeros(1, head[0].in_channels, 1, 1))  # the last stage's 1x1 map at 32 px
    assert counter.get_total_flops() // 2 == exercises.answer("01.1")


def test_the_two_triples_are_compared_by_the_notebooks_rule():
    from effnet_lib.study import scaling_analysis as A
    from effnet_lib.study import scaling_results as R

    t = R.load_results()[0]
    p, f = (A.compound_curve(t, e).set_index("phi").loc[3] for e in ("compound_paper", "compound_found"))
    verdict = A.compare(p.test_mean, p.test_std, p.seeds, f.test_mean, f.test_std, f.seeds)[2]
    assert exercises.answer("02.1") == {"beats": "a", "ties": "b", "loses": "c"}[verdict]


def test_every_notebook_exercise_exists_and_at_least_half_ask_for_work_not_on_screen():
    """The notebooks list exactly the defined exercises; the multiple-choice "why" questions and the
    reading of a given matrix (05.1) are the only ones that need no computation or code."""
    import re
    from pathlib import Path

    listed = set()
    for nb in sorted(Path("notebooks").glob("*.py")):
        for keys in re.findall(r"exercises\.listing\(\[([^\]]*)\]\)", nb.read_text()):
            listed |= set(re.findall(r'"(\d\d\.\d)"', keys))
    assert listed == set(exercises.EXERCISES)
    recall = [k for k, ex in exercises.EXERCISES.items() if ex.choices or k == "05.1"]
    assert len(recall) <= len(exercises.EXERCISES) / 2, recall


def _se(x, w1, b1, w2, b2, act=torch.nn.functional.silu):
    s = x.mean((2, 3))
    s = torch.sigmoid(act(s @ w1.T + b1) @ w2.T + b2)
    return x * s[:, :, None, None]


def _cam(a, g, normalise=True):
    cam = torch.relu((g.mean((1, 2), keepdim=True) * a).sum(0))
    top = cam.max()
    return cam / top if normalise and top > 0 else cam


@pytest.mark.parametrize(
    "key, right, wrongs",
    [
        (
            "00.4",
            _se,
            [
                lambda *a: _se(*a, act=torch.relu),  # ReLU where the block has SiLU
                lambda x, *a: _se(x, *a)[:, :, 0, 0],  # the weights, not the rescaled input
                lambda *a: None,
            ],
        ),  # the notebook's empty stub
        (
            "05.3",
            _cam,
            [
                lambda a, g: _cam(a, g, normalise=False),  # not scaled to [0, 1]
                lambda a, g: (
                    (g.mean((1, 2), keepdim=True) * a).sum(0).clamp(min=0)
                    / (g.mean((1, 2), keepdim=True) * a).sum(0).clamp(min=0).max()
                ),  # 0 / 0 where no evidence
                lambda a, g: _cam(a.mean(0, keepdim=True), g),  # channels averaged before weighting
                lambda a, g: None,
            ],
        ),
    ],
)
def test_write_exercises_run_the_students_code(key, right, wrongs, capsys):
    assert exercises.check(key, right)
    assert exercises.check(key, exercises.answer(key))  # the library's own
    assert "_reference)" in capsys.readouterr().out.splitlines()[-1]
    for wrong in wrongs:
        assert not exercises.check(key, wrong)
        out = capsys.readouterr().out
        assert "not yet" in out and "Hint:" in out
    assert not exercises.check(key, None)
    assert "no answer yet" in capsys.readouterr().out
    assert exercises.solution(key) and exercises.question(key)


def test_the_library_grad_cam_is_the_written_map_upsampled():
    """`cam_from`, which exercise 05.3 checks against, is what `grad_cam` draws: one stays true to the other."""
    from effnet_lib.evaluation.gradcam import cam_from, grad_cam
    from effnet_lib.model.variants import efficientnet

    torch.manual_seed(0)
    model = efficientnet(0.25, 0.34, num_classes=4).eval()
    x = torch.randn(1, 3, 64, 64)
    saved = {}
    layer = model.features[-1]

    def keep(module, inputs, out):  # returns None: the output passes on unchanged
        saved["act"] = out
        out.register_hook(lambda grad: saved.update(grad=grad))

    hook = layer.register_forward_hook(keep)
    cam, target = grad_cam(model, x, layer=layer)
    hook.remove()
    small = cam_from(saved["act"][0].detach(), saved["grad"][0].detach())
    up = torch.nn.functional.interpolate(small[None, None], size=(64, 64), mode="bilinear", align_corners=False)[0, 0]
    assert torch.allclose(cam, up / up.max() if up.max() > 0 else up, atol=1e-5)
