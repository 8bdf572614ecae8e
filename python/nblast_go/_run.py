"""Finding and running the runner binary: progress bars, Ctrl-C, errors."""

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

logger = logging.getLogger("nblast_go")

_PROGRESS = '{"progress":'

# The checkout this package sits in (python/nblast_go -> the repository),
# if it is one: the runner is built from it when none is found.
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class NblastError(RuntimeError):
    """The runner failed: str(e) is its first error line.

    Attributes: ``command`` (the argument list), ``returncode``, ``stderr``
    (everything it wrote on stderr but its progress lines)."""

    def __init__(self, message, command=None, returncode=None, stderr=""):
        super().__init__(message)
        self.command, self.returncode, self.stderr = command, returncode, stderr


_checked = {}


def _is_ours(exe):
    """Whether exe is nblast-go's runner (and not another program named runner)."""
    if exe not in _checked:
        try:
            p = subprocess.run([exe, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            _checked[exe] = p.stdout.startswith(b"usage: runner --queries")
        except (OSError, subprocess.SubprocessError):
            _checked[exe] = False
    return _checked[exe]


def _stale(exe, checkout):
    """Whether a binary built in the checkout is older than its Go sources."""
    try:
        built = os.path.getmtime(exe)
    except OSError:
        return True
    for root, dirs, files in os.walk(checkout):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_")) and d not in ("python", "bin", "testdata", "node_modules")]
        for f in files:
            if (f.endswith(".go") and not f.endswith("_test.go")) or f in ("go.mod", "go.sum"):
                if os.path.getmtime(os.path.join(root, f)) > built:
                    return True
    return False


def find_runner(runner=None):
    """The runner binary: `runner` if given (a path or a name on PATH), else
    $NBLAST_RUNNER, else `runner` on PATH if it is nblast-go's, else the
    checkout's bin/runner, built (go build) when missing or older than the
    sources."""
    given = runner or os.environ.get("NBLAST_RUNNER")
    if given:
        exe = given if os.sep in str(given) else shutil.which(given)
        if not exe or not os.path.isfile(exe):
            raise NblastError("runner %r not found: give the path of the runner binary (go build -o bin/runner ./cmd/runner)" % (given,))
        return os.path.abspath(exe)
    exe = shutil.which("runner")
    if exe and _is_ours(exe):
        return exe
    if os.path.isfile(os.path.join(_CHECKOUT, "go.mod")) and os.path.isdir(os.path.join(_CHECKOUT, "cmd", "runner")):
        exe = os.path.join(_CHECKOUT, "bin", "runner")
        if _stale(exe, _CHECKOUT):
            go = shutil.which("go")
            if go is None:
                if os.path.isfile(exe):
                    logger.warning("using %s: it is older than the sources, and go is not on PATH to rebuild it", exe)
                    return exe
                raise NblastError("no runner binary: put nblast-go's runner on PATH, set NBLAST_RUNNER, or pass runner='/path/to/runner' (go is not on PATH to build it from %s)" % _CHECKOUT)
            print("nblast_go: building the runner: go build -o bin/runner ./cmd/runner (in %s)" % _CHECKOUT, file=sys.stderr)
            p = subprocess.run([go, "build", "-o", exe, "./cmd/runner"], cwd=_CHECKOUT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode != 0:
                out = p.stdout.decode("utf-8", "replace").strip()
                if os.path.isfile(exe):
                    logger.warning("go build failed, using the older %s:\n%s", exe, out)
                    return exe
                raise NblastError("go build -o bin/runner ./cmd/runner failed:\n" + out)
        return exe
    raise NblastError("no runner binary: put nblast-go's runner on PATH (go build -o runner ./cmd/runner), set NBLAST_RUNNER, or pass runner='/path/to/runner'")


def _tqdm():
    """navis' tqdm when navis is loaded (notebook-aware), else tqdm's auto; None without tqdm."""
    navis = sys.modules.get("navis")
    if navis is not None:
        t = getattr(getattr(navis, "config", None), "tqdm", None)
        if t is not None:
            return t
    try:
        from tqdm.auto import tqdm
        return tqdm
    except ImportError:
        return None


class _Bar:
    """A tqdm bar driven by the runner's JSON progress events: one bar per
    stage (staging: blocks; scoring: pairs; dotprops: neurons)."""

    _DESC = {"staging": "Staging", "scoring": "NBLAST", "dotprops": "Preparing"}

    def __init__(self, enabled, desc=None, total_hint=None):
        self.tqdm = _tqdm() if enabled else None
        self.bar, self.stage = None, None
        self.desc, self.total_hint = desc, total_hint

    def update(self, ev):
        if self.tqdm is None:
            return
        stage = ev.get("stage")
        if stage != self.stage:
            self.close()
            total = ev.get("total") or self.total_hint or None
            unit = ev.get("unit", "it")
            self.bar = self.tqdm(total=total, desc=self.desc or self._DESC.get(stage, stage), unit=" " + unit if unit else "it",
                                 unit_scale=unit == "pairs", leave=False)
            self.stage = stage
        done = ev.get("done", 0)
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _first_error(lines):
    """The runner's first error line: the first that starts with "runner",
    else a Go panic, else the last line."""
    for ln in lines:
        if re.match(r"runner( [a-z]+)?: ", ln):
            return ln
    for ln in lines:
        if ln.startswith(("panic:", "fatal error:")):
            return ln
    return lines[-1] if lines else "(no message)"


def run(exe, args, progress=True, env=None, desc=None, total_hint=None):
    """Runs `exe args...`, driving a progress bar from its --progress json
    lines (add the flag to args). Returns the other stderr lines. On
    failure raises NblastError with the first error line; on Ctrl-C sends
    the runner one SIGINT, waits for it to stop (it releases its output,
    which --exists resume finishes) and raises KeyboardInterrupt."""
    cmd = [exe] + [str(a) for a in args]
    logger.info("running %s", " ".join(cmd))
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    # Its own session: a terminal's Ctrl-C reaches this process only, and
    # the runner gets exactly one SIGINT from us (a second one would make
    # it exit at once, without releasing its output).
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=full_env, start_new_session=True)
    lines, bar = [], _Bar(progress, desc, total_hint)
    interrupted = False

    def consume(raw):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith(_PROGRESS):
            try:
                bar.update(json.loads(line)["progress"])
            except (ValueError, KeyError):
                lines.append(line)
            return
        for part in line.split("\r"):  # a progress line drawn in place, if any
            if part.strip():
                lines.append(part)
                logger.info("runner: %s", part)

    try:
        try:
            for raw in proc.stderr:
                consume(raw)
        except KeyboardInterrupt:
            interrupted = True
            bar.close()
            print("\nnblast_go: interrupted: stopping the runner (pid %d) ..." % proc.pid, file=sys.stderr)
            proc.send_signal(signal.SIGINT)
            try:
                # Read the rest (its last words) while it stops.
                t = threading.Thread(target=lambda: [consume(r) for r in proc.stderr], daemon=True)
                t.start()
                proc.wait()
                t.join(5)
            except KeyboardInterrupt:  # a second Ctrl-C: stop it now
                proc.kill()
                proc.wait()
        proc.wait()
    finally:
        bar.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    if interrupted:
        # The runner's last word says what was kept and how to resume.
        last = [ln for ln in lines if re.match(r"runner( [a-z]+)?: ", ln)]
        raise KeyboardInterrupt("NBLAST interrupted: " + (last[-1] if last else "the runner stopped (exit status %s)" % proc.returncode))
    if proc.returncode != 0:
        raise NblastError(_first_error(lines), command=cmd, returncode=proc.returncode, stderr="\n".join(lines))
    return lines
