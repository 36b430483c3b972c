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


def is_probably_utf16(data: bytes) -> str | None:
    """The UTF-16 codec name if `data` looks like UTF-16 text (BOM, or NULs in every other
    byte of mostly-ASCII text, as Windows tools write it), else None."""
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    head = data[:_SNIFF]
    if len(head) < 4 or len(head) % 2:
        head = head[: len(head) - (len(head) % 2)]
    if len(head) < 4:
        return None
    odd_nuls = head[1::2].count(0)
    even_nuls = head[0::2].count(0)
    half = len(head) // 2
    if odd_nuls > 0.9 * half and even_nuls < 0.1 * half:
        return "utf-16-le"
    if even_nuls > 0.9 * half and odd_nuls < 0.1 * half:
        return "utf-16-be"
    return None


def scannable_text(data: bytes) -> bytes | None:
    """UTF-8-compatible bytes to scan, or None for binary content.

    Everything is matched as bytes: invalid UTF-8 stays as it is (the patterns are ASCII), so a
    file with one bad byte is still scanned whole.
    """
    head = data[:_SNIFF]
    if b"\x00" not in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data  # the common case: no NUL, no BOM, plain text
    codec = is_probably_utf16(data)
    if codec:
        text = data.decode(codec, errors="replace").lstrip("\ufeff")
        return text.encode("utf-8")
    if b"\x00" in data[:_SNIFF]:
        return None
    return data
