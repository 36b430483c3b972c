"""Turns raw file or blob bytes into scannable text: UTF-16 transcoded, binaries refused."""

from __future__ import annotations

import codecs

_SNIFF = 8192

# Formats that never hold a pasted credential as text; skipped without reading them.
BINARY_SUFFIXES = frozenset(
    ["png", "jpg", "jpeg", "gif", "ico", "webp", "bmp", "tif", "tiff", "psd", "woff", "woff2", "ttf", "eot", "otf", "pdf", "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "jar", "war", "class", "so", "dll", "dylib", "exe", "o", "a", "lib", "pyc", "pyo", "whl", "egg", "mo", "mp3", "mp4", "m4a", "mov", "avi", "wav", "ogg", "flac", "webm", "doctree", "pickle", "pkl", "npy", "npz", "parquet", "sqlite", "db"]
)


def has_binary_suffix(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return dot > 0 and name[dot + 1 :].lower() in BINARY_SUFFIXES


# Byte-order marks, longest first (the UTF-32-LE mark begins with the UTF-16-LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_CODECS = ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")
# Bytes that do not occur in text: controls other than tab, newlines, form feed, escape.
_NON_TEXT = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b\x08") + b"\x7f"


def _reads_as_text(head: bytes, codec: str, with_bom: bool) -> bool:
    """Whether `head` decodes under `codec` into text: no invalid units (an incomplete last
    one allowed), nearly all characters printable, and (without a BOM) nearly no NULs."""
    if codec.startswith("utf-16"):
        # The NUL halves of ASCII characters (newlines and spaces even in non-Latin text) sit
        # all on one side: high byte second (LE) or first (BE). Stray NULs in a text file
        # fall anywhere, and a Latin-1 file that merely starts with `FF FE` has none.
        high = head[1::2] if codec.endswith("le") else head[0::2]
        nuls = head.count(0)
        if nuls < max(4, len(head) // 20) or high.count(0) < 0.95 * nuls:
            return False  # (ASCII characters, at least one unit in ten, carry the NULs)
    try:
        text = codecs.getincrementaldecoder(codec)("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return False
    text = text.lstrip("\ufeff")
    if not text:
        return with_bom
    texty = sum(1 for c in text if c.isprintable() or c in "\t\n\r\x0c")
    nuls = text.count("\x00")
    return texty >= 0.95 * len(text) and (with_bom or nuls <= 0.01 * len(text))


def wide_encoding(data: bytes) -> str | None:
    """The UTF-16/UTF-32 codec `data` is written in, told by its content: a byte-order mark
    whose text then reads as text (a Latin-1 file may merely start with `FF FE`), or, without
    one, the first of UTF-32/UTF-16 (LE, BE) that reads as text, non-Latin scripts included."""
    head = data[:_SNIFF]
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec if _reads_as_text(head, codec, with_bom=True) else None
    if b"\x00" not in head:
        return None
    for codec in _WIDE_CODECS:
        if _reads_as_text(head, codec, with_bom=False):
            return codec
    return None


# Signatures of binary formats whose headers hold few NULs (a short PNG is mostly text bytes).
_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF", b"%PDF",
          b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"\x00asm", b"\xca\xfe\xba\xbe", b"SQLite format")


def looks_binary(head: bytes) -> bool:
    """Binary by content: a known format's signature, many NULs or many bytes text never
    holds. A text file with a stray NUL is still text (it is scanned, not skipped)."""
    if not head:
        return False
    if head.startswith(_MAGIC):
        return True
    nuls = head.count(0)
    non_text = sum(head.count(b) for b in _NON_TEXT)
    return nuls > 0.1 * len(head) or non_text > 0.3 * len(head)


def scannable_text(data: bytes) -> bytes | None:
    """UTF-8-compatible bytes to scan, or None for binary content.

    Everything is matched as bytes: invalid UTF-8 stays as it is (the patterns are ASCII), so a
    file with one bad byte is still scanned whole. UTF-16 and UTF-32 are transcoded.
    """
    head = data[:_SNIFF]
    if b"\x00" not in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data  # the common case: no NUL, no BOM, plain text
    codec = wide_encoding(data)
    if codec:
        text = data.decode(codec, errors="replace").lstrip("\ufeff")
        return text.encode("utf-8")
    if looks_binary(head):
        return None
    return data
