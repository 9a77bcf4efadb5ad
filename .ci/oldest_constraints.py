"""Print pip constraints pinning every dependency in pyproject.toml to its stated minimum.

`make test-oldest` installs with these, so the tests run on the oldest versions we allow.
"""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
specs = list(project["dependencies"])
for extra in project.get("optional-dependencies", {}).values():
    specs += extra
seen = set()
for spec in specs:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*.*?>=\s*([\w.]+)", spec)
    if not m:
        sys.exit(f"pyproject dependency {spec!r} states no minimum version (>=)")
    name = m.group(1).lower()
    if name not in seen and name != "avicviz":
        seen.add(name)
        print(f"{name}=={m.group(2)}")
