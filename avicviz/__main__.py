"""``python -m avicviz``: the command line."""

import sys

from .cli import _entry

_entry()
