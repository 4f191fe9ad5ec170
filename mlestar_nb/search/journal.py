"""An append-only JSON-lines record of a search, one line per finished trial.

The first line is a header naming the space and direction, so that `resume`
refuses a journal written for another search. Each trial is written and flushed
the moment it finishes: a killed kernel loses only the trials still running.
A lock file stops two live searches from writing the same journal.
"""
import datetime
import fcntl
import json
import os

from ..errors import ConfigError

FORMAT = 1


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

    def lock(self):
        """Hold an exclusive lock for the search's lifetime; refuse if another search holds it."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._lock_fh = open(self.path + ".lock", "w")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            self._lock_fh = None
            raise ConfigError(
                f"another search is writing journal '{self.name}' right now; wait for it to finish "
                "or give this one a different --name"
            ) from None

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
            self._fh.close()
            self._fh = None
        if self._lock_fh is not None:
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
    if not name or os.sep in name or name.startswith("."):
        raise ConfigError(f"--name {name!r} must be a plain file name (letters, digits, '-', '_')")
    return os.path.join(directory, f"{name}.jsonl")


def known_journals(directory):
    try:
        return sorted(f[: -len(".jsonl")] for f in os.listdir(directory)
                      if f.endswith(".jsonl") and f.count(".") == 1)
    except FileNotFoundError:
        return []
