"""`python -m core.cli.demo ./demo.vdfs` (`make demo`): build a sample folder of real files, index
it, and print what the library found.

The sample lives in `<library>/sample-files`: JPEG photos with EXIF written by Pillow, a PNG
saved under a wrong extension, notes, code, nested folders, duplicates big and small, an empty
and a hidden file. Files are rewritten only when their bytes differ, so running the demo again
re-indexes an unchanged tree. The output has no times and no absolute paths: it is the same
on every run.
"""
from __future__ import annotations

import io
import os
import random
import shutil
import sys
from pathlib import Path

from core.library import Library

SAMPLE = "sample-files"

PHOTOS = [  # (path, size, colour, camera model, taken at)
    ("Photos/2023/beach.jpg", (320, 200), (30, 144, 255), "VdfsCam One", "2023:07:14 10:21:00"),
    ("Photos/2023/forest.jpg", (240, 320), (34, 139, 34), "VdfsCam One", "2023:09:02 16:05:30"),
    ("Photos/2024/city-night.jpg", (400, 240), (25, 25, 112), "Pocket 7", "2024:01:20 22:47:12"),
    ("Photos/2024/sunset.jpg", (300, 300), (255, 99, 71), "Pocket 7", "2024:05:03 19:58:41"),
]

TEXT = {
    "Documents/notes/todo.md": "# To do\n\n- index the photos\n- find duplicates\n",
    "Documents/notes/ideas.txt": "A library is a folder; an entry is a path; content is bytes.\n",
    "Documents/budget.csv": "month,amount\n2024-01,1200\n2024-02,980\n2024-03,1105\n",
    "Documents/config.json": '{"theme": "dark", "sync": false}\n',
    "Projects/vdfs-clone/README.md": "# vdfs clone\n\nA toy project for the demo.\n",
    "Projects/vdfs-clone/src/main.py": "def main():\n    print('hello from the demo')\n\n\n"
                                       "if __name__ == '__main__':\n    main()\n",
    "Projects/vdfs-clone/src/util.js": "export const add = (a, b) => a + b;\n",
    "Projects/vdfs-clone/src/lib.rs": "pub fn answer() -> u32 { 42 }\n",
    "Projects/vdfs-clone/.editorconfig": "root = true\n",
    "Projects/empty.log": "",
}

LICENSE = "Permission is hereby granted, free of charge, to any person ...\n" * 20
COPIES = {  # the same bytes in several places
    "license": ["Projects/vdfs-clone/LICENSE", "Documents/legal/LICENSE.txt",
                "Downloads/LICENSE copy.txt"],
    "dataset": ["Downloads/dataset.bin", "Backups/2024/dataset.bin"],
    "photo": ["Photos/Favourites/sunset.jpg"],
}


def _jpeg(size: tuple[int, int], colour: tuple[int, int, int], model: str, taken: str) -> bytes:
    from PIL import Image
    w, h = size
    img = Image.new("RGB", size, colour)
    px = img.load()
    for x in range(w):            # a gradient, so each photo compresses differently
        shade = x * 255 // max(1, w - 1)
        for y in range(0, h, 4):
            r, g, b = colour
            px[x, y] = ((r + shade) // 2, (g + y) % 256, (b + shade // 3) % 256)
    exif = Image.Exif()
    exif[0x010F] = "vdfs demo"    # Make
    exif[0x0110] = model          # Model
    exif[0x0132] = taken          # DateTime
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85, exif=exif.tobytes())
    return buf.getvalue()


def _png() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 200, 0)).save(buf, "PNG")
    return buf.getvalue()


def sample_files() -> dict[str, bytes]:
    """Relative path -> bytes of every sample file (deterministic)."""
    files: dict[str, bytes] = {}
    for path, size, colour, model, taken in PHOTOS:
        files[path] = _jpeg(size, colour, model, taken)
    files["Documents/scans/receipt.txt"] = _png()          # a PNG with a misleading name
    for path, text in TEXT.items():
        files[path] = text.encode()
    dataset = random.Random(2024).randbytes(300_000)        # > 100 KiB: sampled hash
    sources = {"license": LICENSE.encode(), "dataset": dataset,
               "photo": files["Photos/2024/sunset.jpg"]}
    for key, paths in COPIES.items():
        for path in paths:
            files[path] = sources[key]
    return files


def build_sample(root: Path) -> None:
    """Write the sample under `root`, touching only files whose bytes differ."""
    for rel, data in sample_files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def _photo_lines(lib: Library, root: Path) -> list[str]:
    from PIL import Image
    lines = []
    rows = lib.conn.execute("SELECT path FROM entries WHERE kind = 'image' ORDER BY path")
    for (path,) in rows:
        with Image.open(path) as img:
            exif = img.getexif()
            model = exif.get(0x0110, "-")
            taken = exif.get(0x0132, "-")
            lines.append(f"  {Path(path).relative_to(root)}: {img.format} "
                         f"{img.width}x{img.height}, camera {model}, taken {taken}")
    return lines


DEMO_QUERIES = [  # the query language on the sample: what a user would ask first
    'entries of kind image where size > 20kb order by size desc select name, size',
    'entries where not is_dir group by kind select kind, count() as files, sum(size) as bytes '
    'order by bytes desc',
    'content duplicates order by wasted desc select content_hash, size, entry_count, wasted',
    'entries where name ~ "*.py" or ext in (js, rs) order by name select name, kind',
]


def _query_lines(lib: Library) -> list[str]:
    lines = []
    for text in DEMO_QUERIES:
        lines.append(f"> {text}")
        lines.extend("  " + line for line in lib.query(text).to_text().splitlines())
        lines.append("")
    return lines


def next_steps(lib_path: Path) -> list[str]:
    """What to type next: how to get `vdfs` on PATH if it is not, and a few first commands.
    In the folder holding the library, vdfs finds it without -L."""
    lines = ["next steps:"]
    bindir = Path(sys.executable).parent
    found = shutil.which("vdfs")
    if found is None or Path(found).parent != bindir:
        rel = os.path.relpath(bindir)
        if (bindir / "activate").is_file():
            lines.append(f"  source {rel}/activate   # puts vdfs on PATH (or call {rel}/vdfs)")
        else:
            lines.append(f"  export PATH=\"{rel}:$PATH\"   # vdfs was installed there")
    sample = f"{lib_path.name}/{SAMPLE}"
    lines += [
        f"  vdfs query 'entries of kind image order by size desc'   # finds ./{lib_path.name}",
        f"  vdfs tag {sample}/Photos/2024/sunset.jpg vacation",
        "  vdfs query 'entries tagged \"#vacation\"' --format csv",
        "  vdfs index ~/Pictures   # your own folder, into this library",
        "  vdfs --help",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    from core.indexer.summary import format_summary, library_summary
    args = sys.argv[1:] if argv is None else argv
    lib_path = Path(args[0] if args else "demo.vdfs")
    lib = Library.open(lib_path) if (lib_path / "library.json").exists() \
        else Library.create(lib_path, name="demo")
    try:
        root = lib.path / SAMPLE
        build_sample(root)
        result = lib.index(root).wait()
        print(f"vdfs demo: indexed {lib_path.name}/{SAMPLE} into library "
              f"'{lib.info['name']}'")
        print(f"errors {result['errors_total']}, skipped {result['skipped_total']}")
        print()
        print(format_summary(library_summary(lib)))
        print()
        print("images (EXIF read back with Pillow):")
        for line in _photo_lines(lib, root):
            print(line)
        print()
        print("queries (vdfs query '...'):")
        for line in _query_lines(lib):
            print(line)
        for line in next_steps(lib_path):
            print(line)
    finally:
        lib.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
