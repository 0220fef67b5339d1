"""Exercises for the notebooks, with answers computed by the library (never typed in).

``question(key)`` gives the question (with its choices), ``check(key, answer)`` says whether an
answer is right and, if not, gives a hint, and ``solution(key)`` shows the worked answer. Numbers
may be given as numbers or text ("0.35", "1,024") and are compared within a tolerance; "why"
questions are multiple choice, answered with the letter; "write" exercises take the student's own
code (a class or a function) and check it against the library's on the same weights and inputs.
Answers are functions of the library and of the committed results, so they stay right when those
change. No answer is printed in a notebook above its question.
"""

from __future__ import annotations

import math

from .bank import EXERCISES, Exercise

__all__ = ["Exercise", "EXERCISES", "question", "answer", "check", "solution", "listing"]


def question(key: str) -> str:
    ex = _get(key)
    text = ex.question() if callable(ex.question) else ex.question
    if ex.choices:
        text += "".join(f"\n    ({chr(97 + i)}) {c}" for i, c in enumerate(ex.choices))
    return text


def answer(key: str):
    return _get(key).answer()


def solution(key: str) -> str:
    """The worked answer (print it once you have tried)."""
    ex = _get(key)
    return f"{key}: {ex.working()}"


def listing(keys) -> str:
    return "\n\n".join(f"{k}  {question(k)}" for k in keys)


def _get(key: str) -> Exercise:
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; there are {sorted(EXERCISES)}")
    return EXERCISES[key]


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "").replace("_", ""))
    except ValueError:
        return None


def _is_right(ex: Exercise, value) -> tuple[bool, str]:
    """(right, why not): the reason is given only by "write" exercises, whose checks run code."""
    if value is None:
        return False, ""
    if ex.verify is not None:
        return ex.verify(value)
    return _is_right_value(ex, value), ""


def _is_right_value(ex: Exercise, value) -> bool:
    right = ex.answer()
    if ex.choices:
        given = str(value).strip().lower()
        return given.strip("()") == right or given == ex.choices[ord(right) - 97].lower()
    if isinstance(right, str):
        return str(value).replace(" ", "").lower() == right.replace(" ", "").lower()
    number = _number(value)
    if number is None:
        return False
    return math.isclose(number, float(right), rel_tol=ex.tolerance, abs_tol=max(ex.absolute, 1e-9))


def check(key: str, value) -> bool:
    """True when `value` answers exercise `key`; otherwise a hint is printed."""
    ex = _get(key)
    ok, why = _is_right(ex, value)
    shown = getattr(value, "__name__", None) if ex.verify is not None else None
    shown = shown or repr(value)
    if ok:
        print(f"exercise {key}: right ({shown})")
    elif value is None:
        print(f"exercise {key}: no answer yet. Hint: {ex.hint}")
    else:
        print(f"exercise {key}: not yet ({shown}{': ' + why if why else ''}). Hint: {ex.hint}")
    return ok
