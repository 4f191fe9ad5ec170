"""Trials on a Dask cluster: the user's, one named by address, or a LocalCluster started for the run.

Imported only when ``backend="dask"`` is chosen, so dask stays optional. The
search payload is scattered to every worker once per search (broadcast) and
each task carries only its future, which Dask resolves in the worker: nothing
large travels with a trial, the trap of joblib's dask backend. At most one task
per worker thread is in flight (the engine never queues more), so the scheduler
holds a handful of small tasks, not the whole search.

Worker loss: the scheduler reruns a task whose worker died up to
``distributed.scheduler.allowed-failures`` times before it fails with
`KilledWorker`; this executor then reports `WorkerLost` (the task's own loss)
and the engine runs the trial once more before failing it with ``worker_lost``.
A LocalCluster started here sets allowed-failures to 0, so exactly that
happens; on the user's cluster its scheduler's setting applies first.
"""
import concurrent.futures
import logging
import threading
import time

import dask
import distributed
from distributed.scheduler import KilledWorker

from ..errors import ConfigError
from .base import Executor, WorkerLost

WORKER_REFRESH_S = 1.0
LOST_SCHEDULER = "lost the connection to the Dask scheduler"
RESUME_HINT = "finished trials are in the journal: run again with --resume once the cluster is back"
AMM_NOTE = ("the Dask cluster's Active Memory Manager may drop the search's data from idle workers, which then "
            "fetch it again from a peer; start the cluster with distributed.scheduler.active-memory-manager.start "
            "set to False to keep one copy per worker")


class DaskExecutor(Executor):
    """Submit trials to a `distributed.Client`; `n_workers` follows the cluster's worker threads.

    `jobs` caps the trials in flight (and sizes a LocalCluster started here).
    Only a Client or LocalCluster created here is closed at shutdown.
    """

    name = "dask"
    pickles = True

    def __init__(self, jobs=None, client=None, scheduler=None, connect_timeout=None):
        from . import available_cores

        if client is not None and not isinstance(client, distributed.Client):
            raise ConfigError(f"client must be a distributed.Client, got {type(client).__name__}")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ConfigError(f"the scheduler address must be a string like 'tcp://10.0.0.5:8786', "
                              f"got {scheduler!r}")
        if client is not None and scheduler is not None:
            raise ConfigError("pass either a Dask client or a scheduler address, not both")
        self.jobs = jobs
        super().__init__(jobs or available_cores())
        self.scheduler = scheduler.strip() if scheduler else None
        self.connect_timeout = connect_timeout
        self.client = client
        self.cluster = None          # a LocalCluster started here
        self._owns_client = False
        self._connected = False
        self._shared = {}            # key of the handle given out -> [value, live future]
        self._running = set()
        self._cond = threading.Condition()
        self._refreshed = 0.0
        self.notes = []              # for the result: what the user may want to change on their cluster

    # -- connecting ---------------------------------------------------------
    def connect(self):
        """Reach the cluster the user named (or the kernel's client) before anything is written.

        A wrong address, or a cluster without workers, fails here as a one-line
        ConfigError after at most the connect timeout
        (``distributed.comm.timeouts.connect`` unless given). Idempotent.
        """
        if self._connected:
            return
        if self.client is None and self.scheduler is not None:
            try:
                self.client = distributed.Client(self.scheduler, timeout=self._timeout(), set_as_default=False)
            except (OSError, ValueError, TypeError) as err:
                raise ConfigError(f"cannot reach the Dask scheduler at {self.scheduler!r} ({_first_line(err)}); "
                                  "check the address (e.g. tcp://10.0.0.5:8786) and that the scheduler is running"
                                  ) from None
            self._owns_client = True
        elif self.client is None:
            try:
                current = distributed.default_client()
            except ValueError:  # no client in the kernel: start() starts a LocalCluster
                return
            if current.status in ("closing", "closed"):
                return
            self.client = current
        if self.client.status in ("closing", "closed"):
            raise ConfigError("the Dask client is closed; pass a running distributed.Client, or start a new one")
        self._await_workers()
        self._connected = True

    def _timeout(self):
        return self.connect_timeout or dask.config.get("distributed.comm.timeouts.connect")

    def _await_workers(self):
        if self._worker_threads():
            return
        try:
            self.client.wait_for_workers(1, timeout=self._timeout())
        except (TimeoutError, OSError):
            raise ConfigError(f"the Dask cluster at {self.client.scheduler.address} has no workers; "
                              "start some (dask worker ADDRESS) or scale the cluster up") from None

    def start(self):
        self.connect()
        if self.client is None:
            self._start_local_cluster()
        elif AMM_NOTE not in self.notes and _drops_replicas(self.client):
            self.notes.append(AMM_NOTE)
        self._refresh_workers()

    def _start_local_cluster(self):
        """One single-threaded process worker per core (or per --jobs), on 127.0.0.1, for this run."""
        # allowed_failures=0: a task whose worker dies fails at once, and the engine's
        # retry-once is the only retry (otherwise a crashing trial would kill 4 workers).
        # Its logs are silenced while it runs: a lost worker is recorded on the trial instead.
        # The Active Memory Manager is off: its ReduceReplicas policy would drop the broadcast copies
        # from idle workers, which would then fetch the data again from a peer.
        with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
            self.cluster = distributed.LocalCluster(
                n_workers=self.n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, scheduler_kwargs={"allowed_failures": 0}, silence_logs=logging.CRITICAL)
        try:
            self.client = distributed.Client(self.cluster, set_as_default=False)
        except BaseException:
            self.cluster.close()
            self.cluster = None
            raise
        self._owns_client = True

    def _worker_threads(self):
        return sum(self.client.nthreads().values())

    def _refresh_workers(self):
        """Follow workers that join or leave, capped by jobs; never 0, so the loop keeps waiting."""
        self._refreshed = time.monotonic()
        threads = self._worker_threads()
        self.n_workers = max(1, min(threads, self.jobs) if self.jobs else threads)

    # -- sharing ------------------------------------------------------------
    def share(self, value):
        future = self._scatter(value)
        self._shared[future.key] = [value, future]
        return future

    def _scatter(self, value):
        # a one-item list, so that a dict or list is scattered as one object, not item by item;
        # hash=False skips hashing a possibly large payload (the key is random instead)
        try:
            [future] = self.client.scatter([value], broadcast=True, hash=False)
        except OSError as err:  # CommClosedError: the scheduler went away
            raise ConfigError(f"{LOST_SCHEDULER} ({_first_line(err)}); {RESUME_HINT}") from None
        except Exception as err:  # the workers' error comes back as a plain Exception carrying its text
            if "ModuleNotFoundError" in str(err) or "ImportError" in str(err):
                raise ConfigError(_missing_package(str(err).strip())) from None
            raise
        return future

    def _live(self, arg):
        """The live future for a handle: scattered again if every worker holding it was lost."""
        entry = self._shared.get(getattr(arg, "key", None)) if isinstance(arg, distributed.Future) else None
        if entry is None:
            return arg
        if entry[1].status != "finished":
            self._await_workers()
            entry[1] = self._scatter(entry[0])
        return entry[1]

    def unshare(self, handle):
        entry = self._shared.pop(getattr(handle, "key", None), None)
        if entry is not None and self.client is not None and self.client.status == "running":
            self.client.cancel([entry[1]])

    # -- running ------------------------------------------------------------
    def submit(self, fn, *args):
        # pure=False: two trials with the same arguments are two runs, not one cached result
        future = self.client.submit(fn, *[self._live(a) for a in args], pure=False)
        self._running.add(future)
        future.add_done_callback(self._notify)
        return future

    def _notify(self, _future):
        with self._cond:
            self._cond.notify_all()

    def wait(self, futures, timeout):
        """Done futures among `futures`, woken by Dask's done-callbacks (works with any client, default or not)."""
        with self._cond:
            done = [f for f in futures if f.done()]
            if not done and timeout:
                self._cond.wait(timeout)
                done = [f for f in futures if f.done()]
        if time.monotonic() - self._refreshed > WORKER_REFRESH_S and self.client.status == "running":
            try:
                self._refresh_workers()
            except OSError:  # the scheduler is going away: outcome() of the cancelled futures says so
                pass
        return done

    def outcome(self, future):
        self._running.discard(future)
        try:
            return future.result()
        except KilledWorker as err:
            raise WorkerLost(_killed_message(err)) from None
        except ImportError as err:  # the worker could not unpickle the task (trial errors are caught in it)
            raise ConfigError(_missing_package(f"{type(err).__name__}: {err}")) from None
        except concurrent.futures.CancelledError:
            if self.client.status != "running":
                raise ConfigError(f"{LOST_SCHEDULER}; {RESUME_HINT}") from None
            raise WorkerLost("its Dask task was lost with its worker or data") from None
        except OSError as err:   # CommClosedError: the scheduler went away while the result was fetched
            raise ConfigError(f"{LOST_SCHEDULER} ({_first_line(err)}); {RESUME_HINT}") from None

    def recover(self):
        if self.client is not None and self.client.status == "running":
            self._refresh_workers()

    def shutdown(self, kill=False):
        """Cancel what still runs (with `kill`), and close the Client/LocalCluster only if made here.

        Dask cannot stop a task already running in a worker thread: on the user's
        cluster it finishes in the background and its result is dropped; a
        LocalCluster started here is closed, which stops it.
        """
        running, self._running = list(self._running), set()
        if self.client is None:
            return
        if kill and running and self.client.status == "running":
            self.client.cancel(running, force=True)
        if not self._owns_client:
            return
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        self._owns_client = self._connected = False
        self._shared.clear()
        client.close()
        if cluster is not None:
            cluster.close()


def _drops_replicas(client):
    """Whether the cluster's Active Memory Manager runs (its default ReduceReplicas undoes broadcast)."""
    try:
        return bool(client.amm.running())
    except Exception:  # an older or locked-down scheduler: nothing to say
        return False


def _missing_package(error):
    return (f"the Dask workers cannot load the search ({error}); install the kernel's packages on the workers, "
            "mlestar-nb included")


def _first_line(err):
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _killed_message(err):
    """Which worker died, and how many the scheduler tried (its allowed-failures + 1)."""
    try:
        return (f"the Dask worker {err.last_worker.address} died while running it "
                f"({err.allowed_failures + 1} worker(s) tried by the scheduler)")
    except (AttributeError, IndexError, TypeError):
        return "the Dask worker running it died"
