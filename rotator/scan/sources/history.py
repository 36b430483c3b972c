"""Git history as a source: every unique blob reachable from any ref, read once, plus the
commit log that says where each blob entered which path, and the commit and tag messages.

One `git log --raw` pass over every ref lists every blob a commit brought (with its path)
and later attributes the ones that matched; the same pass carries every commit message, and
one `git for-each-ref` every annotated tag's message, so messages cost no process per commit.
Blobs are read with `git cat-file --batch` in the store's own order (noseyparker's model: cost
follows distinct blob bytes, not the length of history, and a merge resolution is just
another blob).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from rotator.scan.sources.git import GitError, run_git


class BlobRef(NamedTuple):
    """One blob to read. A named tuple: an audit makes one per unique blob (sqlalchemy: 87k,
    0.1 s as frozen dataclasses on the path before scanning starts) and sends them all to the
    workers, and a tuple is made and pickled in a fraction of the time."""

    oid: str
    size: int
    path: str  # the first path git saw the blob at (for path-based filters)


@lru_cache(maxsize=64)
def git_dir(repo: Path) -> Path:
    """The repository's git directory (asked once per process: an audit needs it often)."""
    return Path(run_git(["rev-parse", "--absolute-git-dir"], repo).decode().strip())


def is_bare(repo: Path) -> bool:
    return run_git(["rev-parse", "--is-bare-repository"], repo).strip() == b"true"


def _has_reflogs(repo: Path) -> bool:
    logs = git_dir(repo) / "logs"
    return logs.is_dir() and any(logs.iterdir())


def walk_arguments(repo: Path, excluded_refs: tuple[str, ...] = (),
                   revisions: tuple[str, ...] | None = None) -> list[str]:
    """Every ref in every namespace, plus reflogs (older stash entries live only there), less
    refs that point at a missing object (each would stop the whole walk); or the revisions an
    audit was limited to (`--since`, `--range`: see audit.revisions_for)."""
    if revisions is not None:
        return list(revisions)
    exclusions = [f"--exclude={ref}" for ref in excluded_refs]
    return [*exclusions, "--all", "--reflog"] if _has_reflogs(repo) else [*exclusions, "--all"]


@dataclass(frozen=True)
class HistoryWalk:
    """How to walk every ref of a repository that may be damaged: the environment (a graft
    file stepping over missing commits), the refs to leave out, and a note per damage found."""

    env: dict[str, str]
    excluded_refs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    revisions: tuple[str, ...] | None = None  # an audit limited by --since/--range

    def arguments(self, repo: Path) -> list[str]:
        return walk_arguments(repo, self.excluded_refs, self.revisions)


def for_each_ref(repo: Path, format: str, prefix: str = "refs") -> bytes:
    """`git for-each-ref` under `prefix`, over refs whose objects exist. Once a format field
    needs the object (its type, a tag's message), one ref to a missing object fails the whole
    listing; then the readable refs are listed by name."""
    try:
        return run_git(["for-each-ref", f"--format={format}", prefix], repo)
    except GitError:
        readable = readable_refs(repo, prefix)
        if not readable:
            return b""
        return run_git(["for-each-ref", f"--format={format}", *readable], repo)


def readable_refs(repo: Path, prefix: str = "refs") -> list[str]:
    """Names of the refs under `prefix` whose object is present (names are read without the
    objects; `cat-file --batch-check` tells which objects are missing, fetching none)."""
    listed = run_git(["for-each-ref", "--format=%(objectname) %(refname)", prefix], repo)
    pairs = [line.split(" ", 1) for line in listed.decode("utf-8", "surrogateescape").splitlines()]
    checked = subprocess.run(["git", "cat-file", "--batch-check=%(objectname)"], cwd=repo,
                             input="".join(f"{oid}\n" for oid, _ in pairs).encode(), capture_output=True,
                             env=_no_lazy_fetch(), timeout=600, check=False)
    present = {line for line in checked.stdout.decode().splitlines() if not line.endswith(" missing")}
    return [name for oid, name in pairs if oid in present]


def refs_fingerprint(repo: Path) -> str:
    """Changes whenever any ref, reflog or shallow boundary moves: the key of a cached audit."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(run_git(["for-each-ref", "--format=%(objectname) %(refname)"], repo))  # reads no object
    digest.update(run_git(["rev-parse", "-q", "--verify", "HEAD"], repo, check=False))
    logs = git_dir(repo) / "logs"
    if logs.is_dir():
        for path in sorted(logs.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    shallow = git_dir(repo) / "shallow"
    if shallow.exists():
        digest.update(shallow.read_bytes())
    return digest.hexdigest()


class BlobStream:
    """Every blob reachable from any ref that is in the store, with its size and first path:
    `git rev-list --objects --missing=print` into `git cat-file --batch-check` (`%(rest)`
    carries the path through). The audit's listing when the log could not read some commits'
    changes (a damaged history, a treeless partial clone): the walk steps over what is missing
    and counts it in `missing`, so what is present is still read."""

    def __init__(self, repo: Path, walk: HistoryWalk | None = None):
        self.repo = repo
        self.missing = 0
        self.unreadable: list[str] = []
        self.walk = walk or HistoryWalk(_no_lazy_fetch())
        self.env = self.walk.env

    def __iter__(self) -> Iterator[BlobRef]:
        repo = self.repo
        lister = subprocess.Popen(
            ["git", "rev-list", "--objects", *self.walk.arguments(repo), "--missing=print"],
            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
        )
        checker = subprocess.Popen(
            ["git", "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize) %(rest)"],
            cwd=repo, stdin=lister.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=self.env,
        )
        assert lister.stdout is not None and checker.stdout is not None
        lister.stdout.close()  # the checker owns the pipe now
        seen: set[bytes] = set()
        try:
            for line in checker.stdout:
                parts = line.rstrip(b"\n").split(b" ", 3)
                if line.startswith(b"?") or (len(parts) > 1 and parts[1] == b"missing"):
                    self.missing += 1
                    if not line.startswith(b"?") and len(self.unreadable) < 20:
                        # listed by the walk, yet its header cannot be read: a damaged object
                        self.unreadable.append(f"unreadable object {parts[0].decode()[:12]}")
                elif len(parts) >= 3 and parts[1] == b"blob" and parts[0] not in seen:
                    seen.add(parts[0])
                    path = parts[3].decode("utf-8", "surrogateescape") if len(parts) > 3 else ""
                    yield BlobRef(parts[0].decode(), int(parts[2]), path)
        finally:
            checker.stdout.close()
            for process in (checker, lister):
                if process.poll() is None:
                    process.kill()
                process.wait()
        stderr = lister.stderr.read() if lister.stderr else b""
        if lister.returncode != 0:
            message = stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"`git rev-list` failed in {repo}: {message[-1] if message else lister.returncode}",
                "run `git fsck` to see what is damaged",
            )


def is_partial_clone(repo: Path) -> bool:
    """A clone made with `--filter` (blob-less, tree-less): some objects were never fetched.
    Git marks it with a promisor remote (and, in newer repository formats, with
    `extensions.partialClone`)."""
    promisors = run_git(["config", "--get-regexp", r"^remote\..*\.promisor$"], repo, check=False)
    if any(line.split()[-1].lower() == b"true" for line in promisors.splitlines() if line.split()):
        return True
    return bool(run_git(["config", "--get", "extensions.partialClone"], repo, check=False).strip())


def is_shallow(repo: Path) -> bool:
    return run_git(["rev-parse", "--is-shallow-repository"], repo).strip() == b"true"


def _widen_pipe(stream) -> None:
    """A 1 MiB pipe instead of 64 KiB: fewer wake-ups when gigabytes stream through."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ (Linux)
    except (ImportError, OSError, ValueError):
        pass  # other systems keep their default pipe size


_OID = rb"[0-9a-f]{40,64}"


def whole_walk(revisions: tuple[str, ...] | None = None) -> HistoryWalk:
    """The walk of a repository taken to be whole (the common case: no survey first)."""
    return HistoryWalk(_no_lazy_fetch(), revisions=revisions)


def survey_damage(repo: Path, graft_file: Path,
                  revisions: tuple[str, ...] | None = None) -> HistoryWalk:
    """How to walk history past missing commits, with a note per damage. A commit whose parent
    is gone stops every `git rev-list`/`git log` over all refs: a graft (in `graft_file`,
    outside the repository, nothing written inside it) cuts that parent away. A ref pointing
    straight at a missing object stops them too: it is left out of the walk and named."""
    import re

    env = _no_lazy_fetch()
    notes: list[str] = []
    excluded: list[str] = []
    grafts: dict[bytes, list[bytes]] = {}
    for _ in range(100):  # each round steps over one missing parent or one broken ref
        completed = subprocess.run(["git", "rev-list", *walk_arguments(repo, tuple(excluded), revisions)], cwd=repo,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        if completed.returncode == 0:
            break
        bad_ref = re.search(rb"fatal: bad object (\S+)", completed.stderr)
        if bad_ref and bad_ref.group(1).decode("utf-8", "replace") not in excluded:
            ref = bad_ref.group(1).decode("utf-8", "replace")
            excluded.append(ref)
            oid = run_git(["rev-parse", "-q", "--verify", "--end-of-options", ref], repo,
                          check=False).decode().strip()
            notes.append(f"ref {ref} points at missing object {oid[:12] or '?'}: not audited "
                         "(the other refs were)")
            continue
        missing = re.search(rb"Could not read (" + _OID + rb")", completed.stderr)
        child = re.search(rb"parents of commit (" + _OID + rb")", completed.stderr)
        if not (missing and child):
            break  # damaged in a way neither a graft nor leaving a ref out steps over (reported by the walk)
        header = run_git(["cat-file", "commit", child.group(1).decode()], repo, check=False)
        parents = [line.split()[1] for line in header.partition(b"\n\n")[0].splitlines()
                   if line.startswith(b"parent ")]
        cut = set(grafts.get(child.group(1), parents)) - {missing.group(1)}
        grafts[child.group(1)] = [p for p in parents if p in cut]
        notes.append(f"missing commit {missing.group(1).decode()[:12]} (parent of commit "
                     f"{child.group(1).decode()[:12]}): history behind it was not audited")
        graft_file.write_bytes(b"".join(c + b" " + b" ".join(ps) + b"\n" for c, ps in grafts.items()))
        env = {**env, "GIT_GRAFT_FILE": str(graft_file)}
    return HistoryWalk(env, tuple(excluded), tuple(notes), revisions)


def name_missing_objects(repo: Path) -> list[str]:
    """What is missing and what refers to it, from `git fsck --connectivity-only` (run only
    when something was missing; a partial clone's absent objects are not damage)."""
    import re

    if is_partial_clone(repo):
        return []
    try:
        completed = subprocess.run(["git", "fsck", "--connectivity-only", "--no-dangling", "--no-progress"],
                                   cwd=repo, env=_no_lazy_fetch(), capture_output=True, timeout=600)
    except subprocess.TimeoutExpired:
        return []
    text = completed.stdout + completed.stderr
    named = [f"missing {to_kind.decode()} {to.decode()[:12]} (referenced from {kind.decode()} {oid.decode()[:12]})"
             for kind, oid, to_kind, to in re.findall(
                 rb"broken link from\s+(\w+) (" + _OID + rb")\s+to\s+(\w+) (" + _OID + rb")", text)]
    return list(dict.fromkeys(named))


def _no_lazy_fetch() -> dict[str, str]:
    # A partial clone would try to fetch each missing blob from its promisor remote: an audit
    # must not touch the network, so missing objects stay missing (and are counted).
    return {**os.environ, "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"}


# Delta-base cache for all readers of one audit together, split between them. Blobs are read
# in store order (see `StoreListing`), where a delta's base was read just before it, so a
# small cache serves as well as a big one (sqlalchemy, 87k blobs in 2000-blob chunks dealt to
# two readers: 2.8 CPU s at 16 MiB each as at 32 MiB; in rev-list order the same reads cost
# 5.6 s at 64 MiB and 13 s at 16 MiB). bench/bench_delta_cache.py measures it.
DELTA_CACHE_BUDGET_MB = 32
MIN_DELTA_CACHE_MB = 16


def delta_cache_share(readers: int) -> int:
    """Each reader's share of the delta-base cache budget, in MiB."""
    return max(MIN_DELTA_CACHE_MB, DELTA_CACHE_BUDGET_MB // max(1, readers))


class StoreListing:
    """Every blob in the object store with its size and its position in the store's own order:
    pack by pack, by offset within each (what `git cat-file --batch-all-objects --unordered`
    walks), read in a background thread (sqlalchemy: 0.2 s for 277k objects, no contents).

    Packs put a delta's base before the delta, so blobs read in this order find their base in
    the delta-base cache; in rev-list order each version of a file is inflated through its
    chain again (sqlalchemy: reading every blob costs 2× the CPU, 4× with a small cache)."""

    def __init__(self, repo: Path, env: dict[str, str]):
        self.repo, self.env = repo, env
        self._blobs: dict[bytes, tuple[int, int]] = {}  # oid -> (position, size)
        self._complete = False
        self._thread = threading.Thread(target=self._list, daemon=True)
        self._thread.start()

    def _list(self) -> None:
        try:
            completed = subprocess.run(
                ["git", "cat-file", "--batch-all-objects", "--unordered",
                 "--batch-check=%(objecttype) %(objectname) %(objectsize)"],
                cwd=self.repo, env=self.env, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return
        blobs = self._blobs
        for index, line in enumerate(completed.stdout.splitlines()):
            if line.startswith(b"blob "):
                _, oid, size = line.split(b" ")
                blobs[oid] = (index, int(size))
        self._complete = completed.returncode == 0

    def blob_bytes(self) -> int:
        """The size of every blob in the store together (once listed)."""
        self._thread.join()
        return sum(size for _, size in self._blobs.values())

    def blobs(self, oids: list[bytes]) -> tuple[dict[bytes, tuple[int, int]], list[bytes]]:
        """(position, size) of each of `oids` present in the store, and those absent. When the
        store could not be listed whole (a damaged object stops the listing), the ones it did
        not reach are asked one by one in a single `cat-file --batch-check`."""
        self._thread.join()
        known = self._blobs
        found = {oid: known[oid] for oid in oids if oid in known}
        unknown = [oid for oid in oids if oid not in known]
        if unknown and not self._complete:
            checked = subprocess.run(
                ["git", "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
                cwd=self.repo, env=self.env, input=b"".join(oid + b"\n" for oid in unknown),
                capture_output=True, timeout=600, check=False).stdout
            last = len(known)
            for line in checked.splitlines():
                parts = line.split(b" ")
                if len(parts) == 3 and parts[1] == b"blob":
                    found[parts[0]] = (last, int(parts[2]))
            unknown = [oid for oid in unknown if oid not in found]
        return found, unknown


class BlobReader:
    """Reads blob contents through one long-lived `git cat-file --batch` process.

    Keeping the process for the whole audit keeps its delta-base cache warm (callers hand it
    blobs in store order, where a delta's base was just read), while callers hand it small
    batches so work spreads evenly over the cores. Memory holds one blob at a time.
    """

    def __init__(self, repo: Path, delta_cache_mb: int = DELTA_CACHE_BUDGET_MB):
        self.repo = repo
        self.delta_cache_mb = delta_cache_mb
        self._process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                ["git", "-c", f"core.deltaBaseCacheLimit={self.delta_cache_mb}m", "cat-file", "--batch"],
                cwd=self.repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=_no_lazy_fetch(), bufsize=1024 * 1024,
            )
            _widen_pipe(self._process.stdout)
        return self._process

    def read(self, blobs: list[BlobRef]) -> Iterator[tuple[BlobRef, bytes | None]]:
        """Each blob with its content, or None for an object missing from the store."""
        if not blobs:
            return
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        request = b"".join(blob.oid.encode() + b"\n" for blob in blobs)

        def feed() -> None:
            try:
                stdin.write(request)
                stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # the reader stopped (error or interrupt) and killed the process

        # A writer thread, so neither side can block the other on a full pipe.
        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        finished = False
        damaged_at = None
        try:
            for index, blob in enumerate(blobs):
                header = stdout.readline()
                if header.endswith(b" missing\n"):
                    yield blob, None
                    continue
                size = int(header.rsplit(b" ", 1)[1]) if header else -1
                content = stdout.read(size) if size >= 0 else b""
                if len(content) != size:
                    # cat-file died on a damaged object (its header read, its data not)
                    damaged_at = index
                    break
                stdout.read(1)  # the newline after each object
                yield blob, content
            finished = damaged_at is None
        finally:
            writer.join(timeout=None if finished else 0)
            if not finished:
                self.close()  # the stream is mid-object: it cannot be reused
        if damaged_at is not None:
            yield blobs[damaged_at], None  # reported as unreadable; the rest read anew
            yield from self.read(blobs[damaged_at + 1 :])

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if process.poll() is None:
            process.kill()
        process.wait()


class LibgitBlobReader:
    """Reads packed blobs in this process through libgit2 (pygit2), without a `cat-file`
    process and the pipe between: sqlalchemy's 4.5 GB of blobs, in store order, cost 2.2 CPU s
    this way against 6.1 through `cat-file --batch` (a third of that is the kernel copying
    every byte into the pipe and out of it). bench/bench_blob_reading.py measures both.

    Only packs are opened. libgit2 loops forever on a truncated loose object
    (libgit2/libgit2#7342, fixed after the libgit2 pygit2 ships) and writes past its buffer on a
    loose object that understates its size (#7177); packs were checked whole by `index-pack`
    when git received them. Everything not found in a pack (loose objects, a partial clone's
    absent blobs, SHA-256 names, objects libgit2 cannot read) is read by `git cat-file`, as
    every blob was before. libgit2 is told not to re-hash each object it reads: git does not
    either (`fsck` does), and it would double the cost of every read."""

    def __init__(self, repo: Path, odb, delta_cache_mb: int):
        self._odb = odb
        self._git = BlobReader(repo, delta_cache_mb)  # started only if a blob is not in a pack

    @classmethod
    def open(cls, repo: Path, delta_cache_mb: int = DELTA_CACHE_BUDGET_MB) -> LibgitBlobReader | None:
        """A reader for `repo`'s packs, or None without pygit2 or packs libgit2 can open."""
        try:
            import pygit2
        except ImportError:
            return None
        try:
            objects = (repo / run_git(["rev-parse", "--git-path", "objects"], repo).decode().strip()).resolve()
            pygit2.settings.enable_strict_hash_verification(False)
            odb = pygit2.Odb()
            for priority, directory in enumerate(reversed(_object_directories(objects)), start=1):
                odb.add_backend(pygit2.OdbBackendPack(str(directory)), priority)
        except (pygit2.GitError, GitError, OSError, ValueError):
            return None
        return cls(repo, odb, delta_cache_mb)

    def read(self, blobs: list[BlobRef]) -> Iterator[tuple[BlobRef, bytes | None]]:
        """Each blob with its content, or None for an object missing from the store or
        unreadable in it (those `git cat-file` says so of)."""
        import pygit2

        read, elsewhere = self._odb.read, []
        for blob in blobs:
            try:
                kind, content = read(blob.oid)[:2] if len(blob.oid) == 40 else (None, None)
            except (KeyError, ValueError, pygit2.GitError):
                kind = None
            if kind != pygit2.enums.ObjectType.BLOB:
                elsewhere.append(blob)
                continue
            yield blob, content
        yield from self._git.read(elsewhere)

    def close(self) -> None:
        self._odb = None
        self._git.close()


def _object_directories(objects: Path, depth: int = 0) -> list[Path]:
    """`objects` and the object directories it borrows from (`info/alternates`, as git reads
    it: relative to `objects`, nested at most five deep), the repository's own first. One that
    cannot be read here is left to `git cat-file`."""
    directories = [objects]
    try:
        lines = (objects / "info" / "alternates").read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return directories
    for line in lines:
        if depth < 5 and line.strip() and not line.startswith(("#", '"')):
            alternate = (objects / line.strip()).resolve()
            if alternate.is_dir() and alternate not in directories:
                directories.extend(d for d in _object_directories(alternate, depth + 1) if d not in directories)
    return directories


def load_libgit2() -> None:
    """Import pygit2 (40 ms) now, while this process only waits, rather than when blobs are read."""
    with contextlib.suppress(ImportError):  # without it blobs are read through `git cat-file`
        import pygit2  # noqa: F401


def open_blob_reader(repo: Path, delta_cache_mb: int = DELTA_CACHE_BUDGET_MB,
                     through_libgit2: bool = True) -> LibgitBlobReader | BlobReader:
    """With `through_libgit2`, libgit2 in this process for packed blobs where it can read the
    packs and `git cat-file` for the rest; else `git cat-file` for all."""
    return (through_libgit2 and LibgitBlobReader.open(repo, delta_cache_mb)) or BlobReader(repo, delta_cache_mb)


@dataclass(frozen=True, slots=True)  # slots: one per commit of the history
class CommitInfo:
    oid: str
    parents: tuple[str, ...]
    author: str
    date: str


@dataclass(frozen=True)
class PathChange:
    """One path in one commit: the blob(s) before (one per parent) and after."""

    commit: str
    path: str
    before: tuple[str, ...]
    after: str


# Where a secret in a message is reported: the location's `path` is one of these markers and
# its `commit` the commit (for a tag, the commit the tag points at). Angle brackets cannot
# start a path git stores, so a marker never collides with a file.
COMMIT_MESSAGE_PATH = "<commit message>"
TAG_MESSAGE_PREFIX = "<tag message: "


def tag_message_path(tag: str) -> str:
    """`<tag message: v1.2.0>`: one finding per tag, since each is rewritten on its own."""
    return f"{TAG_MESSAGE_PREFIX}{tag}>"


def is_message_path(path: str) -> bool:
    return path == COMMIT_MESSAGE_PATH or path.startswith(TAG_MESSAGE_PREFIX)


@dataclass(frozen=True)
class MessageRef:
    """One commit or annotated tag message inside `Messages.text`."""

    path: str  # COMMIT_MESSAGE_PATH or tag_message_path(tag)
    commit: str | None  # the commit, or the commit a tag points at (None: a tag of a tree/blob)
    author: str
    date: str
    start: int  # offset of the message in `Messages.text`
    first_line: int  # line number of its first line in `Messages.text`


# Blank lines between two messages: more than any document pattern spans, so no match joins
# the end of one message to the start of the next.
_MESSAGE_GAP = b"\n" * 8


@dataclass
class Messages:
    """Every message, concatenated into one buffer so the engine scans them in one call."""

    text: bytearray = field(default_factory=bytearray)
    refs: list[MessageRef] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    _lines: int = 1

    def add(self, path: str, commit: str | None, author: str, date: str, message: bytes) -> None:
        if not message.strip():
            return
        self.refs.append(MessageRef(path, commit, author, date, len(self.text), self._lines))
        self._starts.append(len(self.text))
        self.text += message
        self.text += _MESSAGE_GAP
        self._lines += message.count(b"\n") + len(_MESSAGE_GAP)

    def at(self, offset: int) -> MessageRef:
        """The message holding `offset`."""
        return self.refs[bisect.bisect_right(self._starts, offset) - 1]


@dataclass
class History:
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # topological, children before parents
    changes: list[PathChange] = field(default_factory=list)
    messages: Messages = field(default_factory=Messages)


_NULL = "0" * 40
_NULL_BYTES = _NULL.encode()


def _raw_change(meta: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(the result's mode, the objects before, the object after) of a `git log --raw -c` line:
    `:m1 m2 o1 o2 S` (one parent) or `::m1 m2 m3 o1 o2 o3 SS` (a merge, combined)."""
    colons = len(meta) - len(meta.lstrip(b":"))
    fields = meta.lstrip(b":").split(b" ")
    objects = fields[colons + 1 : 2 * colons + 2]
    return fields[colons], objects[:-1], objects[-1]


class PendingHistory:
    """`git log --raw` over every ref, read and parsed in a background thread; it lists every
    blob a commit brought (`introduced`: the blobs an audit reads) and later attributes the
    ones that matched (`collect` only filters). Merges use the combined format, so a blob a
    merge resolution produced (differing from every parent) is attributed to the merge. The
    same pass keeps each commit's message; the same thread then reads the annotated tags'
    messages, the default branch's tree and the ref tips the exposure story needs.

    One pass instead of `git rev-list --objects` for the listing and `git log` for the
    attribution: sqlalchemy's audit spends ~1.3 CPU s less, and scanning starts sooner.
    """

    def __init__(self, repo: Path, walk: HistoryWalk | None = None):
        self.repo = repo
        self.walk = walk or HistoryWalk(_no_lazy_fetch())
        self.env = self.walk.env
        self.damaged: list[str] = []  # commits whose changes could not be read
        self._process: subprocess.Popen | None = None
        self._history = History()
        # every change as git wrote it (`\x01commit\0` before a commit's `meta\0path\0`
        # pairs), parsed only in `collect`: tuples of bytes for 100k changes would cost the
        # peak several times the bytes themselves
        self._raw_changes = bytearray()
        self._raw_commit = ""
        # every blob some commit brought, with the path of its newest introduction: the audit's
        # list of blobs to read (what `git rev-list --objects` would list, less trees, read
        # from the same pass that attributes them)
        self.introduced: dict[bytes, bytes] = {}
        self.head: dict[str, str] = {}
        self.head_commit = ""
        self.tips: dict[str, str] = {}
        self.object_refs: dict[str, list[tuple[str, str]]] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        """Start reading the log in the background (again: nothing)."""
        if self._process is None:
            self._process = self._log(raw=True)
            self._thread.start()

    def _log(self, raw: bool) -> subprocess.Popen:
        changes = ["--raw", "-c", "--no-abbrev", "--no-renames", "--root", "--no-ext-diff"] if raw else []
        process = subprocess.Popen(
            ["git", "log", *self.walk.arguments(self.repo), "--topo-order", *changes, "-z",
             # the message (%B) ends at the \x02 before the record's NUL
             "--format=%x01%H%x00%P%x00%an%x00%aI%x00%B%x02"],
            cwd=self.repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env,
        )
        _widen_pipe(process.stdout)
        return process

    def _read(self) -> None:
        try:
            self._parse(self._process.stdout)
            if self._process.wait() != 0:
                self._read_commit_by_commit()
            read_tag_messages(self.repo, self._history.messages)
            self.head = head_tree(self.repo)
            self.head_commit = run_git(
                ["rev-parse", "-q", "--verify", "HEAD^{commit}"], self.repo, check=False
            ).decode().strip()
            listing = ref_listing(self.repo)
            self.tips = ref_tips(self.repo, listing)
            self.object_refs = object_refs(self.repo, listing)
        except BaseException as error:  # handed to the caller of collect()
            self._error = error

    def _parse(self, stream) -> None:
        """Read `git log -z` records: `\x01H\0P\0an\0aI\0message\x02\0` then per changed
        path `:meta\0path\0` (-z: paths arrive as they are, never quoted)."""
        history, messages = self._history, self._history.messages
        current = ""
        tokens = _nul_tokens(stream)
        for token in tokens:
            token = token.lstrip(b"\n")
            if token.startswith(b"\x01"):
                oid = token[1:].decode("ascii", "replace")
                parents, author, date = (next(tokens, b"").decode("utf-8", "replace") for _ in range(3))
                message = next(tokens, b"").rstrip(b"\n")
                message = message[:-1] if message.endswith(b"\x02") else message
                current = oid
                if oid in history.commits:
                    continue  # --reflog lists a commit twice
                history.commits[oid] = CommitInfo(oid, tuple(parents.split()), author, date)
                history.order.append(oid)
                messages.add(COMMIT_MESSAGE_PATH, oid, author, date, message)
            elif token.startswith(b":"):
                self._add_change(current, token, next(tokens, b""))

    def _read_commit_by_commit(self) -> None:
        """`git log --raw` stops at the first tree it cannot read: read the commits without
        their changes, then each commit's changes on its own, noting those that fail."""
        self._history, self._raw_changes, self._raw_commit = History(), bytearray(), ""
        self.introduced = {}
        self._process = self._log(raw=False)
        self._parse(self._process.stdout)
        if self._process.wait() != 0:
            raise GitError(f"`git log` failed in {self.repo}", "run `git fsck` to see what is damaged")
        if is_partial_clone(self.repo):
            # a treeless partial clone: the trees were never fetched, and a `diff-tree` per
            # commit would fail for every one of them
            self.damaged.append(f"partial clone: the changes of {len(self._history.order)} commit(s) could not "
                                "be read (their trees were not fetched); secrets in the blobs present are "
                                "reported without their commit")
            return
        for oid in self._history.order:
            completed = subprocess.run(
                ["git", "diff-tree", "-r", "-z", "--raw", "-c", "--no-abbrev", "--no-renames", "--root",
                 "--no-commit-id", "--no-ext-diff", oid],
                cwd=self.repo, env=self.env, capture_output=True, timeout=600)
            if completed.returncode != 0:
                self.damaged.append(f"commit {oid[:12]}: its tree (or a parent's) could not be read; "
                                    "the secrets it added are reported without their commit")
                continue
            tokens = iter(completed.stdout.split(b"\0"))
            for token in tokens:
                if token.startswith(b":"):
                    self._add_change(oid, token, next(tokens, b""))

    def _add_change(self, commit: str, meta: bytes, path: bytes) -> None:
        if commit != self._raw_commit:
            self._raw_commit = commit
            self._raw_changes += b"\x01" + commit.encode("ascii") + b"\0"
        self._raw_changes += meta + b"\0" + path + b"\0"
        mode, _, after = _raw_change(meta)
        # a deletion's result is all zeros; a submodule's (mode 160000) is a commit
        if after not in self.introduced and after != _NULL_BYTES and mode != b"160000":
            self.introduced[after] = path

    def wait_for_listing(self) -> None:
        """Block until the log and the refs are read (`introduced`, `object_refs` complete);
        a failure of the walk is raised here (a damaged history: see survey_damage)."""
        self.start()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _changes(self):
        """(commit, path, blobs before, blob after) of every change kept by `_add_change`."""
        tokens = iter(bytes(self._raw_changes).split(b"\0"))
        commit = ""
        for token in tokens:
            if token.startswith(b"\x01"):
                commit = token[1:].decode("ascii")
                continue
            if not token:
                continue
            path = next(tokens, b"")
            _, before, after = _raw_change(token)
            yield commit, path, before, after

    def cancel(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._thread.join(timeout=5)

    def collect(self, interesting: set[str]) -> History:
        """Commits (parents, author, date) and the path changes touching `interesting` blobs."""
        self.wait_for_listing()
        wanted = {oid.encode() for oid in interesting}
        history = self._history
        for commit, path, before, after in self._changes():
            if after in wanted or any(b in wanted for b in before):
                history.changes.append(PathChange(
                    commit, path.decode("utf-8", "surrogateescape"),
                    tuple(b.decode() for b in before), after.decode(),
                ))
        self._raw_changes = bytearray()
        return history


def _nul_tokens(stream, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The NUL-separated fields of a `-z` stream, read a chunk at a time."""
    pending = b""
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\0")
        yield from complete
    if pending.strip(b"\n"):
        yield pending


def read_tag_messages(repo: Path, messages: Messages) -> None:
    """Every annotated tag's message (with its tagger and date), from one `git for-each-ref`."""
    out = for_each_ref(
        repo, "%01%(objecttype)%00%(refname:strip=2)%00%(*objecttype)%00%(*objectname)"
        "%00%(taggername)%00%(taggerdate:iso-strict)%00%(contents)%02", "refs/tags")
    for record in out.split(b"\x01")[1:]:
        fields = record.rsplit(b"\x02", 1)[0].split(b"\0", 6)
        if len(fields) != 7 or fields[0] != b"tag":
            continue  # a lightweight tag has no message of its own
        name, peeled_type, peeled, tagger, date = (f.decode("utf-8", "replace") for f in fields[1:6])
        messages.add(tag_message_path(name), peeled if peeled_type == "commit" else None,
                     tagger, date, fields[6])


def read_message(repo: Path, path: str, commit: str | None) -> bytes:
    """The message a location points at, re-read from git (for --verify), or b"" if gone."""
    if path == COMMIT_MESSAGE_PATH and commit:
        raw = run_git(["cat-file", "commit", commit], repo, check=False)
    elif path.startswith(TAG_MESSAGE_PREFIX):
        tag = path[len(TAG_MESSAGE_PREFIX):-1]
        raw = run_git(["cat-file", "tag", f"refs/tags/{tag}"], repo, check=False)
    else:
        return b""
    return raw.partition(b"\n\n")[2]  # the headers end at the first blank line


def head_tree(repo: Path, ref: str = "HEAD") -> dict[str, str]:
    """path -> blob id in the tree of `ref` (the default branch), {} when there is none."""
    if not run_git(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], repo, check=False).strip():
        return {}
    # a damaged tree ends the listing early: what was listed is still the truth
    out = run_git(["ls-tree", "-r", "-z", "--full-tree", ref], repo, timeout=600, check=False)
    tree = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        parts = meta.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob":
            tree[path.decode("utf-8", "surrogateescape")] = parts[2].decode()
    return tree


def ref_listing(repo: Path) -> bytes:
    """Every ref with its object and, for a tag, the object it peels to (one `for-each-ref`,
    shared by `ref_tips` and `object_refs`: peeling thousands of tags is not free)."""
    return for_each_ref(repo, "%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)")


def ref_tips(repo: Path, listing: bytes | None = None) -> dict[str, str]:
    """ref name -> the commit it points at (tags peeled); refs to non-commits are left out."""
    out = ref_listing(repo) if listing is None else listing
    tips = {}
    for line in out.decode("utf-8", "replace").splitlines():
        name, kind, oid, peeled_kind, peeled = line.split("\0")
        if kind == "commit":
            tips[name] = oid
        elif kind == "tag" and peeled_kind == "commit":
            tips[name] = peeled
    return tips


def object_refs(repo: Path, listing: bytes | None = None) -> dict[str, list[tuple[str, str]]]:
    """blob id -> (ref, path) for refs that point (through a tag or directly) at a blob or a
    tree instead of a commit: such a blob entered no commit, and only these refs reach it
    (`path` is its path inside the tagged tree, "" for a tagged blob)."""
    out = ref_listing(repo) if listing is None else listing
    found: dict[str, list[tuple[str, str]]] = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        name, kind, oid, peeled_kind, peeled = line.split("\0")
        if kind == "tag":
            kind, oid = peeled_kind, peeled
        if kind == "blob":
            found.setdefault(oid, []).append((name, ""))
        elif kind == "tree":
            listing = run_git(["ls-tree", "-r", "-z", "--full-tree", oid], repo, check=False, timeout=600)
            for entry in listing.split(b"\0"):
                meta, _, path = entry.partition(b"\t")
                parts = meta.split(b" ")
                if len(parts) == 3 and parts[1] == b"blob":
                    found.setdefault(parts[2].decode(), []).append(
                        (name, path.decode("utf-8", "surrogateescape")))
    return found
