"""MkDocs hooks (``hooks:`` in ``mkdocs.yml``).

* ``on_files``: the pictures the pages show are served from where the code keeps them
  (``envs/assets/*.png`` as ``assets/envs/``, ``results/reference/render/*`` as
  ``assets/render/``), never copied into ``docs/``;
* ``on_page_markdown``: fills the ``<!-- build:NAME -->`` markers of every page with tables
  generated from the code and the shipped files (:mod:`grasp_bench.docsgen.pages`).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: site path prefix -> (directory in the repository, file pattern)
ASSETS = {"assets/envs": ("envs/assets", "*.png"),
          "assets/render": ("results/reference/render", "*.gif")}


def on_files(files, config, **_kwargs):
    from mkdocs.structure.files import File

    for prefix, (folder, pattern) in ASSETS.items():
        for path in sorted((REPO_ROOT / folder).glob(pattern)):
            files.append(File.generated(config, f"{prefix}/{path.name}",
                                        abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, **_kwargs) -> str:
    from grasp_bench.docsgen.pages import expand

    return expand(markdown)
