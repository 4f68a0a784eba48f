"""What kind of file an entry is, what kind of bytes a content is, and their MIME types.

Two rules, both deterministic:

* An *entry's* kind (`detect(ext, head)`, and `kind_for_ext` before the file is read) belongs
  to its path: a known specific signature (JPEG, PNG, PDF, ELF, …) wins over a wrong or missing
  extension, so `photo.txt` holding a JPEG is an image; container signatures (ZIP, RIFF, OLE)
  only decide when the extension says nothing, because `.docx`, `.epub` and `.jar` are ZIP too.
* A *content identity's* kind and MIME (`content_type(head)`) are a function of the bytes
  alone, never of a name: copies of one content may carry different extensions, and which of
  them was indexed first must not matter. Known signature → its kind and MIME (a `.docx` is
  `archive`/`application/zip` as content); else `#!` → `code`/`text/x-script`; else text (UTF-8
  without NUL) → `text`/`text/plain`; else `other`/None. `CONTENT_RULE` numbers this rule:
  rows computed by an older rule are recomputed by the next index of a location holding them.
"""
from __future__ import annotations

KINDS = ("directory", "symlink", "image", "video", "audio", "document", "archive", "code",
         "text", "database", "font", "executable", "other")

# ext -> (kind, mime)
_TABLE: dict[str, tuple[str, str]] = {}


def _add(kind: str, pairs: str) -> None:
    for item in pairs.split():
        ext, _, mime = item.partition("=")
        _TABLE[ext] = (kind, mime)


_add("image", "jpg=image/jpeg jpeg=image/jpeg jpe=image/jpeg png=image/png gif=image/gif "
     "webp=image/webp bmp=image/bmp tif=image/tiff tiff=image/tiff ico=image/vnd.microsoft.icon "
     "svg=image/svg+xml heic=image/heic heif=image/heif avif=image/avif xpm=image/x-xpixmap "
     "psd=image/vnd.adobe.photoshop raw=image/x-raw cr2=image/x-canon-cr2 "
     "nef=image/x-nikon-nef dng=image/x-adobe-dng xcf=image/x-xcf pbm=image/x-portable-bitmap "
     "pgm=image/x-portable-graymap ppm=image/x-portable-pixmap")
_add("video", "mp4=video/mp4 m4v=video/x-m4v mov=video/quicktime mkv=video/x-matroska "
     "webm=video/webm avi=video/x-msvideo wmv=video/x-ms-wmv flv=video/x-flv mpg=video/mpeg "
     "mpeg=video/mpeg 3gp=video/3gpp ts=video/mp2t")
_add("audio", "mp3=audio/mpeg wav=audio/wav flac=audio/flac ogg=audio/ogg oga=audio/ogg "
     "opus=audio/opus m4a=audio/mp4 aac=audio/aac wma=audio/x-ms-wma aiff=audio/aiff "
     "aif=audio/aiff mid=audio/midi midi=audio/midi")
_add("document", "pdf=application/pdf doc=application/msword "
     "docx=application/vnd.openxmlformats-officedocument.wordprocessingml.document "
     "xls=application/vnd.ms-excel "
     "xlsx=application/vnd.openxmlformats-officedocument.spreadsheetml.sheet "
     "ppt=application/vnd.ms-powerpoint "
     "pptx=application/vnd.openxmlformats-officedocument.presentationml.presentation "
     "odt=application/vnd.oasis.opendocument.text "
     "ods=application/vnd.oasis.opendocument.spreadsheet "
     "odp=application/vnd.oasis.opendocument.presentation rtf=application/rtf "
     "epub=application/epub+zip pages=application/x-iwork-pages-sffpages "
     "ps=application/postscript eps=application/postscript djvu=image/vnd.djvu")
_add("archive", "zip=application/zip tar=application/x-tar gz=application/gzip "
     "tgz=application/gzip bz2=application/x-bzip2 xz=application/x-xz "
     "zst=application/zstd 7z=application/x-7z-compressed rar=application/vnd.rar "
     "lz=application/x-lzip lzma=application/x-lzma deb=application/vnd.debian.binary-package "
     "rpm=application/x-rpm jar=application/java-archive whl=application/zip "
     "iso=application/x-iso9660-image dmg=application/x-apple-diskimage "
     "cab=application/vnd.ms-cab-compressed")
_add("code", "py=text/x-python pyi=text/x-python pyx=text/x-cython js=text/javascript "
     "mjs=text/javascript cjs=text/javascript ts=text/x-typescript tsx=text/x-typescript "
     "jsx=text/javascript rs=text/x-rust go=text/x-go c=text/x-c h=text/x-c cc=text/x-c++ "
     "cpp=text/x-c++ cxx=text/x-c++ hpp=text/x-c++ hh=text/x-c++ java=text/x-java "
     "kt=text/x-kotlin swift=text/x-swift rb=text/x-ruby php=text/x-php pl=text/x-perl "
     "pm=text/x-perl sh=text/x-shellscript bash=text/x-shellscript zsh=text/x-shellscript "
     "lua=text/x-lua r=text/x-r scala=text/x-scala cs=text/x-csharp m=text/x-objc "
     "sql=application/sql html=text/html htm=text/html css=text/css scss=text/x-scss "
     "vue=text/x-vue lark=text/plain el=text/x-emacs-lisp lisp=text/x-lisp "
     "hs=text/x-haskell ml=text/x-ocaml ex=text/x-elixir erl=text/x-erlang "
     "zig=text/x-zig nim=text/x-nim dart=text/x-dart jl=text/x-julia tcl=text/x-tcl "
     "cmake=text/x-cmake mk=text/x-makefile ipynb=application/x-ipynb+json")
_add("text", "txt=text/plain md=text/markdown markdown=text/markdown rst=text/x-rst "
     "csv=text/csv tsv=text/tab-separated-values json=application/json "
     "jsonl=application/jsonl xml=application/xml yaml=application/yaml "
     "yml=application/yaml toml=application/toml ini=text/plain cfg=text/plain "
     "conf=text/plain log=text/plain tex=text/x-tex bib=text/x-bibtex "
     "srt=application/x-subrip vtt=text/vtt")
_add("database", "sqlite=application/vnd.sqlite3 sqlite3=application/vnd.sqlite3 "
     "db=application/vnd.sqlite3 duckdb=application/x-duckdb parquet=application/vnd.apache.parquet")
_add("font", "ttf=font/ttf otf=font/otf woff=font/woff woff2=font/woff2 pfb=application/x-font-type1")
_add("executable", "exe=application/vnd.microsoft.portable-executable "
     "dll=application/vnd.microsoft.portable-executable so=application/x-sharedlib "
     "dylib=application/x-mach-binary o=application/x-object a=application/x-archive "
     "wasm=application/wasm pyc=application/x-python-code class=application/java-vm "
     "elc=application/x-elc")

# (signature at offset, kind, mime, specific). A non-specific signature (a container format
# that many file types share) is used only when the extension is unknown.
_MAGIC: tuple[tuple[int, bytes, str, str, bool], ...] = (
    (0, b"\xff\xd8\xff", "image", "image/jpeg", True),
    (0, b"\x89PNG\r\n\x1a\n", "image", "image/png", True),
    (0, b"GIF87a", "image", "image/gif", True),
    (0, b"GIF89a", "image", "image/gif", True),
    (0, b"BM", "image", "image/bmp", False),            # two bytes: too weak to overrule
    (0, b"II*\x00", "image", "image/tiff", False),      # raw camera formats are TIFF too
    (0, b"MM\x00*", "image", "image/tiff", False),
    (0, b"%PDF-", "document", "application/pdf", True),
    (0, b"\x7fELF", "executable", "application/x-executable", True),
    (0, b"MZ", "executable", "application/vnd.microsoft.portable-executable", False),
    (0, b"\xcf\xfa\xed\xfe", "executable", "application/x-mach-binary", True),
    (0, b"\x00asm", "executable", "application/wasm", True),
    (0, b"PK\x03\x04", "archive", "application/zip", False),
    (0, b"PK\x05\x06", "archive", "application/zip", False),
    (0, b"\x1f\x8b", "archive", "application/gzip", True),
    (0, b"BZh", "archive", "application/x-bzip2", False),
    (0, b"\xfd7zXZ\x00", "archive", "application/x-xz", True),
    (0, b"\x28\xb5\x2f\xfd", "archive", "application/zstd", True),
    (0, b"7z\xbc\xaf\x27\x1c", "archive", "application/x-7z-compressed", True),
    (0, b"Rar!\x1a\x07", "archive", "application/vnd.rar", True),
    (257, b"ustar", "archive", "application/x-tar", True),
    (0, b"!<arch>\n", "archive", "application/x-archive", False),   # .deb and .a alike
    (0, b"SQLite format 3\x00", "database", "application/vnd.sqlite3", True),
    (0, b"ID3", "audio", "audio/mpeg", True),
    (0, b"fLaC", "audio", "audio/flac", True),
    (0, b"\xff\xfb", "audio", "audio/mpeg", False),      # MP3 frames without an ID3 tag
    (0, b"\xff\xfa", "audio", "audio/mpeg", False),
    (0, b"\xff\xf3", "audio", "audio/mpeg", False),
    (0, b"\xff\xf2", "audio", "audio/mpeg", False),
    (0, b"\xff\xf1", "audio", "audio/aac", False),       # AAC in ADTS frames
    (0, b"\xff\xf9", "audio", "audio/aac", False),
    (0, b"\x00\x00\x01\xba", "video", "video/mpeg", False),   # MPEG program stream
    (0, b"\x00\x00\x01\xb3", "video", "video/mpeg", False),
    (0, b"OggS", "audio", "audio/ogg", False),          # Ogg may carry video
    (0, b"\x1aE\xdf\xa3", "video", "video/x-matroska", False),  # webm too
    (0, b"wOFF", "font", "font/woff", True),
    (0, b"wOF2", "font", "font/woff2", True),
    (0, b"OTTO", "font", "font/otf", True),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "document", "application/x-ole-storage", False),
)

SNIFF_BYTES = 512  # how many leading bytes `detect` looks at (the tar magic sits at 257)


def split_ext(name: str) -> str | None:
    """Lower-case extension without the dot; None for no extension or a dot-file like `.bashrc`."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return None
    return name[dot + 1:].lower()


def kind_for_ext(ext: str | None) -> str:
    """The kind an extension promises (no I/O); 'other' when unknown."""
    if ext is None:
        return "other"
    hit = _TABLE.get(ext)
    return hit[0] if hit else "other"


def mime_for_ext(ext: str | None) -> str | None:
    if ext is None:
        return None
    hit = _TABLE.get(ext)
    return hit[1] if hit else None


# signatures at offset 0 by first byte: sniffing runs once per hashed file, so it should not
# try thirty prefixes in turn
_BY_FIRST: dict[int, list[tuple[bytes, str, str, bool]]] = {}
for _off, _sig, _kind, _mime, _specific in _MAGIC:
    if _off == 0:
        _BY_FIRST.setdefault(_sig[0], []).append((_sig, _kind, _mime, _specific))
_AT_OFFSET = [m for m in _MAGIC if m[0] != 0]


def sniff(head: bytes) -> tuple[str, str, bool] | None:
    """(kind, mime, specific) of a known signature at the start of a file, or None."""
    if not head:
        return None
    for sig, kind, mime, specific in _BY_FIRST.get(head[0], ()):
        if head.startswith(sig):
            return kind, mime, specific
    if len(head) > 257:
        for offset, sig, kind, mime, specific in _AT_OFFSET:
            if head.startswith(sig, offset):
                return kind, mime, specific
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith((b"M4A", b"M4B")):
            return "audio", "audio/mp4", True
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image", "image/heic", True
        if brand == b"avif":
            return "image", "image/avif", True
        if brand == b"qt  ":
            return "video", "video/quicktime", True
        return "video", "video/mp4", True
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "video", "video/mp2t", False      # MPEG transport stream: a sync byte per packet
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"WEBP":
            return "image", "image/webp", True
        if form == b"WAVE":
            return "audio", "audio/wav", True
        if form == b"AVI ":
            return "video", "video/x-msvideo", True
        return None
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still text
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


CONTENT_RULE = 1   # bump when content_type changes: the indexer recomputes older rows


def _sniff_plain(head: bytes) -> tuple[str, str | None]:
    """Kind and MIME of bytes without a known signature."""
    if head.startswith(b"#!"):
        return "code", "text/x-script"
    if _looks_like_text(head):
        return "text", "text/plain"
    return "other", None


def content_type(head: bytes) -> tuple[str, str | None]:
    """(kind, mime) of a content from its first SNIFF_BYTES bytes only (see the module doc)."""
    return _content_type(sniff(head), head)


def detect(ext: str | None, head: bytes) -> tuple[str, str | None]:
    """(kind, mime) of a regular file from its extension and its first bytes."""
    return _detect(ext, sniff(head), head)


def detect_both(ext: str | None, head: bytes
                ) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    """(detect(ext, head), content_type(head)), looking for signatures once: the indexer asks
    both of every file it hashes."""
    magic = sniff(head)
    ctype = _content_type(magic, head)
    return _detect(ext, magic, head, ctype), ctype


def _content_type(magic: tuple[str, str, bool] | None, head: bytes) -> tuple[str, str | None]:
    if magic is not None:
        return magic[0], magic[1]
    return _sniff_plain(head)


def _detect(ext: str | None, magic: tuple[str, str, bool] | None, head: bytes,
            plain: tuple[str, str | None] | None = None) -> tuple[str, str | None]:
    """`plain`: _sniff_plain(head) when the caller has it already (detect_both)."""
    by_ext = _TABLE.get(ext) if ext is not None else None
    if magic is not None:
        kind, mime, specific = magic
        if by_ext is None:
            return kind, mime
        if specific and (by_ext[0] != kind or kind == "image"):
            return kind, mime       # mislabelled: a .txt that is a JPEG, a .jpg that is a PNG
    if by_ext is not None:
        return by_ext
    return plain if plain is not None else _sniff_plain(head)
