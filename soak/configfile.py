"""The TOML configuration the soak gives `punchgate serve`: one site, every device and person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from soak.sources import SITE, TZ, Sources


def toml_value(v: Any) -> str:
    """A TOML literal for the few types the generated configuration uses."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def write_config(path: Path, sources: Sources) -> None:
    """The service's TOML: one site with a fence, every device, every person."""
    lines = [
        "[[sites]]", 'code = "hq"', 'name = "Soak site"', f"timezone = {toml_value(TZ)}",
        f"lat = {SITE[0]}", f"lon = {SITE[1]}", f"radius_m = {SITE[2]}",
        'fence = { max_accuracy_m = 150, outside = "flag", punch_mode = "transitions" }', "",
    ]  # fmt: skip
    for dev in sources.config_devices():
        lines.append("[[devices]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in dev.items()]
        lines.append("")
    for code in sources.employee_codes():
        lines += ["[[employees]]", f'code = "{code}"', f'name = "Person {code}"', 'site = "hq"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
