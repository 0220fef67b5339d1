"""Command line: ``python -m effnet_lib train|evaluate|predict|data|table|demo|report|scaling|relabel``.

A thin shell over the library: `parser` holds every command's options and help, `commands` runs
them. Failures print one line (the file and the fix) and exit non-zero; nothing already written is
lost.
"""

from .commands import main
from .parser import build_parser

__all__ = ["main", "build_parser"]
