"""Where `make test`'s time goes: per-file and per-test seconds from pytest's JUnit XML reports,
before and after a change, written as benchmarks/test_suite.md.

Each report comes from one whole `make test` run on a fresh clone (install excluded), its pytest
command with `--junitxml` added, e.g.

    .venv/bin/python -m pytest -p no:cacheprovider tests --durations=40 --junitxml=after.xml

    python benchmarks/test_suite.py --before benchmarks/test_suite/before.xml \\
        --after benchmarks/test_suite/after.xml --fast benchmarks/test_suite/fast.xml \\
        --note-before "..." --note-after "..." --fast-note "..."   # -> benchmarks/test_suite.md

A test's seconds are pytest's own (set-up, call and tear-down, so a shared fixture is charged to the
first test that asks for it); in the old suite nbval ran each notebook cell as a test, and those
count to their notebook.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from effnet_lib.provenance import provenance  # noqa: E402


def read(path: Path) -> dict:
    """Per test (file::name) seconds and outcome, and the suite's totals."""
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    tests = {}
    for case in suite.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = (
            "failed"
            if case.find("failure") is not None or case.find("error") is not None
            else "skipped"
            if case.find("skipped") is not None
            else "passed"
        )
        tests[name] = (float(case.get("time", 0)), outcome)
    return {"tests": tests, "seconds": float(suite.get("time", 0)), "timestamp": suite.get("timestamp")}


def group(name: str) -> str:
    """The file a test lives in; a notebook cell counts to its notebook and its copy (cold/warm)."""
    cls = name.split("::")[0]
    m = re.match(r"build\.notebooks\.(cold|warm)\.(\w+)", cls)
    if m:
        return f"notebook {m.group(2)} ({m.group(1)})"
    m = re.match(r"build\.notebooks\.(\w+)", cls)
    if m:
        return f"notebook {m.group(1)}"
    return cls.replace("tests.", "") + ".py"


def by_file(report: dict) -> dict[str, float]:
    out = defaultdict(float)
    for name, (seconds, _) in report["tests"].items():
        out[group(name)] += seconds
    return dict(out)


def counts(report: dict) -> dict[str, int]:
    out = defaultdict(int)
    for _, outcome in report["tests"].values():
        out[outcome] += 1
    return dict(out)


def minutes(s: float) -> str:
    return f"{int(s // 60)} min {s % 60:04.1f} s"


def table(before: dict, after: dict, top: int = 40) -> str:
    b, a = by_file(before), by_file(after)
    rows = sorted(set(b) | set(a), key=lambda k: -max(b.get(k, 0), a.get(k, 0)))
    lines = ["| file or notebook | before (s) | after (s) |", "|---|---|---|"]
    for k in rows:
        lines.append(f"| {k} | {b.get(k, 0):.1f} | {a.get(k, 0):.1f} |")
    lines += ["", f"The {top} slowest tests after the change:", "", "| test | seconds |", "|---|---|"]
    slowest = sorted(after["tests"].items(), key=lambda kv: -kv[1][0])[:top]
    lines += [f"| `{name}` | {sec:.1f} |" for name, (sec, _) in slowest]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", type=Path, required=True)
    p.add_argument("--after", type=Path, required=True)
    p.add_argument("--fast", type=Path, help="a report of `make test-fast`")
    p.add_argument("--note-before", default="")
    p.add_argument("--note-after", default="")
    p.add_argument("--fast-note", default="")
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("test_suite.md"))
    args = p.parse_args(argv)
    before, after = read(args.before), read(args.after)
    prov = provenance("cpu")
    shown, skip = [], False  # the command without its notes (they are printed below it)
    for a in argv if argv is not None else sys.argv[1:]:
        if skip:
            skip = False
        elif a.startswith("--note-") or a == "--fast-note":
            skip = "=" not in a
        else:
            shown.append(a)
    summary = {
        "before": {"seconds": before["seconds"], **counts(before), "started": before["timestamp"]},
        "after": {"seconds": after["seconds"], **counts(after), "started": after["timestamp"]},
        "provenance": prov,
    }
    text = [
        "# `make test`: where the time goes, before and after",
        "",
        f"Written by `python {' '.join(['benchmarks/test_suite.py'] + shown)}` "
        f"on {prov['device']}, commit {prov['commit']}, {prov['date']}.",
        "",
        f"- **before**: {minutes(before['seconds'])} of pytest, {counts(before)}. {args.note_before}",
        f"- **after**: {minutes(after['seconds'])} of pytest, {counts(after)}. {args.note_after}",
    ]
    if args.fast:
        fast = read(args.fast)
        summary["fast"] = {"seconds": fast["seconds"], **counts(fast)}
        text.append(
            f"- **`make test-fast`** (the inner loop): {minutes(fast['seconds'])}, {counts(fast)}. {args.fast_note}"
        )
    text += ["", table(before, after), "", "```json", json.dumps(summary), "```", ""]
    args.out.write_text("\n".join(text))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
