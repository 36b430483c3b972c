"""wordfreq's word lists, read from its data files without importing wordfreq, and cached.

Importing wordfreq costs about half a second (it pulls in `regex`, `ftfy` and `langcodes`),
and building a set from one of its lists another 20-40 ms; an audit that has to look past
English consults up to 25 lists, once in every worker process. Here each list is decoded
once per machine into a plain file of words (`\\nword\\nword\\n`), and a lookup is a substring
search of that file's bytes: no import, no set to build, a few microseconds per word.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

WORDLIST = "small"  # wordfreq's compact lists: the words a person would type


class WordList:
    """Membership in one language's word list: `word in WordList(...)`."""

    def __init__(self, words: bytes):
        self._words = words  # every word between newlines, with a newline first and last

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or not word or "\n" in word:
            return False
        return b"\n" + word.encode("utf-8", "surrogatepass") + b"\n" in self._words

    def as_set(self) -> frozenset[str]:
        """The words as a set, for callers that look up many words (compound splitting)."""
        return frozenset(self._words.decode("utf-8").split("\n")) - {""}


def _data_directory() -> Path | None:
    spec = importlib.util.find_spec("wordfreq")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "data"
    return directory if directory.is_dir() else None


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Languages that have a list, as wordfreq's `available_languages("small")` names them."""
    directory = _data_directory()
    if directory is None:
        return ()
    return tuple(sorted(path.name.split(".")[0].split("_", 1)[1]
                        for path in directory.glob(f"{WORDLIST}_*.msgpack.gz")))


def _decode(source: Path) -> bytes:
    """The words of a cBpack file (gzip of msgpack: a header, then lists of words)."""
    import msgpack  # wordfreq's own dependency

    with gzip.open(source, "rb") as stream:
        data = msgpack.load(stream, raw=False)
    header = data[0] if data else None
    if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
        raise ValueError(f"{source.name}: not a word list this version understands")
    words = sorted({word for bucket in data[1:] for word in bucket if "\n" not in word})
    return ("\n" + "\n".join(words) + "\n").encode("utf-8", "surrogatepass")


@lru_cache(maxsize=64)
def word_list(language: str) -> WordList | None:
    """The words of `language`, or None when wordfreq (or that language) is not installed."""
    directory = _data_directory()
    source = None if directory is None else directory / f"{WORDLIST}_{language}.msgpack.gz"
    if source is None or not source.is_file():
        return None
    stat = source.stat()
    stamp = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    from rotator.scan.engine.matcher import write_atomically
    from rotator.scan.engine.ruleset import cache_directory

    cached = cache_directory() / "words" / f"{language}-{stamp}.txt"
    with contextlib.suppress(OSError):
        return WordList(cached.read_bytes())
    try:
        words = _decode(source)
    except (OSError, ValueError, ImportError, EOFError):
        return None
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        write_atomically(cached, words)
    return WordList(words)
