"""An append-only JSON-lines record of a search, one line per finished trial.

The first line is a header naming the space, the direction and the objective's
fingerprint (its code, its data's shapes), so that `resume` refuses a journal
written for another search. Each trial is written and flushed
the moment it finishes: a killed kernel loses only the trials still running.
A lock file stops two live searches from writing the same journal.
"""
import ast
import datetime
import fcntl
import hashlib
import json
import os
import re

from ..errors import ConfigError

FORMAT = 1
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class JournalFailed(RuntimeError):
    """A trial could not be written (a full disk): the search stops with status 'error' and keeps its trials."""

    stop_reason = "journal error"

    def __init__(self, path, number, held, err):
        super().__init__(
            f"could not write trial {number} to the journal {path} ({err.strerror or err}), so the search stopped: "
            f"every finished trial is in this result, the journal holds the first {held}; free some space and "
            "continue with --resume (library: resume=True)")


class Journal:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._fh = None
        self._lock_fh = None

    @property
    def name(self):
        return os.path.basename(self.path)[: -len(".jsonl")]

    def exists(self):
        return os.path.exists(self.path)

    @property
    def lock_path(self):
        return self.path + ".lock"

    def lock(self):
        """Hold an exclusive lock for the search's lifetime; refuse if another search holds it.

        `close` removes the lock file while still holding it, so a search that
        opened it just before finds, once it has the lock, that the file is no
        longer the one at the path, and tries again on the new one.
        """
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        while True:
            handle = open(self.lock_path, "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise ConfigError(
                    f"another search is writing journal '{self.name}' right now; wait for it to finish "
                    "or give this one a different --name"
                ) from None
            try:
                current = os.stat(self.lock_path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                current = False
            if current:
                self._lock_fh = handle
                return
            handle.close()

    def start(self, header):
        """Begin a new journal; an older one of the same name is kept under a dated name."""
        if self.exists():
            stamp = datetime.datetime.fromtimestamp(os.path.getmtime(self.path)).strftime("%Y%m%d-%H%M%S")
            backup = self.path[: -len(".jsonl")] + f".{stamp}.jsonl"
            n = 1
            while os.path.exists(backup):
                n += 1
                backup = self.path[: -len(".jsonl")] + f".{stamp}-{n}.jsonl"
            os.replace(self.path, backup)
        self._fh = open(self.path, "a", encoding="utf-8")
        self._write({"kind": "header", "format": FORMAT, **header})

    def reopen(self):
        """Append to an existing journal (resume); a torn last line is cut off first."""
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)
        self._fh = open(self.path, "a", encoding="utf-8")

    def append(self, record):
        self._write({"kind": "trial", **record})

    def _write(self, record):
        self._fh.write(json.dumps(record, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self):
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:     # the line a full disk refused is still buffered: it is lost, and was reported
                pass
            self._fh = None
        if self._lock_fh is not None:
            try:
                os.unlink(self.lock_path)   # while still holding the lock: see `lock`
            except FileNotFoundError:
                pass
            self._lock_fh.close()
            self._lock_fh = None

    def load(self):
        """Return (header, trial records, number of lines skipped as unreadable)."""
        header, trials, skipped = None, [], 0
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    skipped += 1
                    continue
                if not isinstance(record, dict):
                    skipped += 1
                elif record.get("kind") == "header" and header is None:
                    header = record
                elif record.get("kind") == "trial" and _valid_trial(record):
                    trials.append(record)
                else:
                    skipped += 1
        if header is None:
            raise ConfigError(f"journal {self.path} has no header line; it was not written by mlestar_nb")
        return header, trials, skipped


def _valid_trial(record):
    return isinstance(record.get("number"), int) and isinstance(record.get("params"), dict) \
        and record.get("state") in ("complete", "failed", "pruned", "timeout")


def journal_path(directory, name):
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = name if not isinstance(name, str) or len(name) <= 40 else name[:37] + "..."
        raise ConfigError(f"--name {shown!r} must be a plain file name of at most 100 letters, digits, '-', '_' "
                          "or '.', e.g. --name my-run")
    return os.path.join(directory, f"{name}.jsonl")


def known_journals(directory):
    try:
        return sorted(f[: -len(".jsonl")] for f in os.listdir(directory)
                      if f.endswith(".jsonl") and f.count(".") == 1)
    except FileNotFoundError:
        return []


# -- what the trials of a journal were scored with ---------------------------------------------------------
def fingerprint(objective, data=None):
    """The cell's code and the shapes of the data, for the header: a resume checks both.

    A cell's code is compared as its syntax tree, so comments and blank lines
    are not changes. Shapes are those of `data` and of the arrays and frames a
    cell reads from the notebook.
    """
    inputs = dict(getattr(objective, "namespace", None) or {})
    if data is not None:
        inputs["--data X"], inputs["--data y"] = data
    shapes = {}
    for name, value in inputs.items():
        shape = getattr(value, "shape", None)
        if isinstance(shape, tuple) and all(isinstance(n, int) or hasattr(n, "__index__") for n in shape):
            shapes[name] = [int(n) for n in shape]
    return {"code": _code_digest(objective), "shapes": shapes}


def objective_change(before, now):
    """How the objective of a journal (header's fingerprint) differs from this run's: None, or a phrase."""
    if not isinstance(before, dict):
        return None   # a journal written before fingerprints: nothing to compare
    if before.get("code") and now.get("code") and before["code"] != now["code"]:
        return "by other code (the cell or objective changed since)"
    old, new = before.get("shapes") or {}, now.get("shapes") or {}
    changed = [f"{name}: {_dims(old[name])} then, {_dims(new[name])} now" for name in new
               if name in old and list(old[name]) != new[name]]
    if changed:
        return f"with other data ({'; '.join(changed)})"
    return None


def _dims(shape):
    return "x".join(map(str, shape)) or "scalar"


def _code_digest(objective):
    """A cell's code as the digest of its syntax tree; None for a function (its code is not compared: a script
    that resumes a crashed search may well pass a function of its own that computes the same)."""
    source = getattr(objective, "source", None)
    if not isinstance(source, str):
        return None
    try:
        text = ast.dump(ast.parse(source))
    except SyntaxError:
        text = source
    return hashlib.sha1(text.encode()).hexdigest()[:16]
