"""The README stands on its own: every link points into the repository (or
to a web page), every file it links exists, the quick start is two
commands, and every connect() option the engine accepts is documented."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _readme() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_links_stay_inside_the_repository():
    text = _readme()
    assert "../" not in text
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith(("http://", "https://", "#")):
            continue
        path = os.path.normpath(os.path.join(ROOT, target.split("#")[0]))
        assert path.startswith(ROOT + os.sep) and os.path.exists(path), target


def test_quick_start_is_two_commands():
    text = _readme()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", quick, re.S)
    assert len(blocks) == 2 and all(b.strip().count("\n") == 0 for b in blocks), blocks


def test_every_connect_option_is_documented():
    from quiver.cluster.client import CLIENT_OPTIONS
    from quiver.session import PHYSICAL_OPTIONS, SESSION_OPTIONS
    text = _readme()
    for option in (*SESSION_OPTIONS, *PHYSICAL_OPTIONS, "disabled_rules", *CLIENT_OPTIONS):
        assert f"| `{option}` |" in text, option
