"""Every exercise has a library-computed answer that `check` accepts, and wrong answers fail."""

import pytest

from effnet_lib import exercises


@pytest.mark.parametrize("key", sorted(exercises.EXERCISES))
def test_answer_is_accepted_and_a_wrong_one_is_not(key, capsys):
    right = exercises.answer(key)
    assert exercises.check(key, right)
    wrong = "z->z" if isinstance(right, str) else right * 1.5 + 1
    assert not exercises.check(key, wrong)
    assert not exercises.check(key, None)
    assert "exercise" in capsys.readouterr().out


def test_known_answers():
    assert exercises.answer("00.1") == 26  # B3: 2+3+3+5+5+6+2
    assert exercises.answer("00.2") == 144  # 24 channels x 6
    assert exercises.answer("03.1") == 28
    assert exercises.answer("05.1") == "b->c"
    with pytest.raises(KeyError, match="no exercise"):
        exercises.check("99.9", 1)
