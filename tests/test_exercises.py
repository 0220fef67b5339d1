"""Every exercise accepts its own answer (as a number, as text or as the choice's letter and text),
refuses a wrong one with a hint, and has a worked solution."""

import pytest

from effnet_lib import exercises


def _wrong(ex, right):
    if ex.choices:
        return next(chr(97 + i) for i in range(len(ex.choices)) if chr(97 + i) != right)
    if isinstance(right, str):
        return "z->z"
    return right * 1.5 + 1


@pytest.mark.parametrize("key", sorted(exercises.EXERCISES))
def test_right_wrong_and_worked_answers(key, capsys):
    ex = exercises.EXERCISES[key]
    right = exercises.answer(key)
    assert exercises.check(key, right)
    if ex.choices:
        assert right in "abcdefgh"[:len(ex.choices)]
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
    assert exercises.answer("00.2") == 9  # 16 blocks minus the first of each of 7 stages
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

    from effnet_lib.model import efficientnet
    from effnet_lib.scaling_study import BASE
    model = efficientnet(BASE.width, BASE.depth, num_classes=10).eval()
    head = model.features[-1]  # the 1x1 convolution, BatchNorm and activation after the last stage
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        head(torch.zeros(1, head[0].in_channels, 1, 1))  # the last stage's 1x1 map at 32 px
    assert counter.get_total_flops() // 2 == exercises.answer("01.1")


def test_the_two_triples_are_compared_by_the_notebooks_rule():
    from effnet_lib import scaling_analysis as A
    from effnet_lib import scaling_study as S
    t = S.load_results()[0]
    p, f = (A.compound_curve(t, e).set_index("phi").loc[3] for e in ("compound_paper", "compound_found"))
    verdict = A.compare(p.test_mean, p.test_std, p.seeds, f.test_mean, f.test_std, f.seeds)[2]
    assert exercises.answer("02.1") == {"beats": "a", "ties": "b", "loses": "c"}[verdict]
