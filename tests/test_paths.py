"""PathGlobs answers exactly as gitignore matching (pathspec) does, on its fast path and off it."""

from __future__ import annotations

import pathspec
from hypothesis import given, settings
from hypothesis import strategies as st

from clientguard.detect.scanner import AGENT_READ_IGNORED
from clientguard.paths import PathGlobs

COMPONENTS = [".env", ".env.local", "prod.env", "server.pem", "id_rsa", "id_rsa.pub", "app.local.json", "credentials",
              "secrets.yaml", "secrets.d", "main.tf", "terraform.tfstate.backup", "a.py", "config", "node_modules",
              "keep.pem", "keys", "build", "deploy", "x", "dist", "out.min.js"]
GLOB_SETS = [
    list(AGENT_READ_IGNORED.globs),
    ["secrets/**", "*.pem", "config/*.local.*"],
    ["deploy/", "**/keys/*", "/credentials", "build/", "*.min.js"],
    ["docs/**/*.md", "/x", "node_modules/"],
    ["*.pem", "!keep.pem"],  # a negation: pathspec answers
]

paths = st.builds(lambda parts, lead: lead + "/".join(parts), st.lists(st.sampled_from(COMPONENTS), min_size=1,
                                                                       max_size=5), st.sampled_from(["", "./", "/"]))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(range(len(GLOB_SETS))), paths)
def test_path_globs_agree_with_gitignore_matching(which, path):
    globs = GLOB_SETS[which]
    expected = pathspec.GitIgnoreSpec.from_lines(globs, backend="simple").match_file(path)
    mine = PathGlobs(globs)
    assert mine.matches(path) == expected, (globs, path)
    assert mine.matches(path) == expected  # again, from the directory memo


def test_which_glob_sets_take_the_fast_path():
    assert AGENT_READ_IGNORED._fast is not None
    assert PathGlobs(["*.pem", "!keep.pem"])._fast is None
    assert not PathGlobs([]).matches(".env")
