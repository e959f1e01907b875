"""`emoaugnet predict --workers N --output FILE`: worker processes, results written as they come, and a
rerun that resumes after a real SIGKILL, on copies of the fixture recordings and the shipped model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emoaugnet import cli
from emoaugnet.inference.api import Classifier
from emoaugnet.inference.results_file import open_results

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "emoaugnet" / "shipped"


def predict_cmd(*args: str) -> list[str]:
    """The shipped model's networks (``--no-classic``: its classic part through the workers is tests/
    test_classic.py's; here the workers, the output file and the resume are what is tested, on 192 files)."""
    return [sys.executable, "-m", "emoaugnet", "predict", "--model", str(SHIPPED), "--no-progress", "--no-classic",
            *args]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def copies(source: Path, target: Path, times: int) -> Path:
    for i in range(times):
        shutil.copytree(source, target / f"copy{i}")
    return target


def writing(out: Path, folder: Path, **popen) -> subprocess.Popen:
    """A 2-worker `predict --output out folder` started, once it has written its first chunk of results."""
    proc = subprocess.Popen(predict_cmd("--workers", "2", "--output", str(out), str(folder)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.read_bytes().count(b"\n") < 16) and proc.poll() is None:
        assert time.monotonic() < deadline, "no result written within 120 s"
        time.sleep(0.01)
    return proc


@pytest.mark.slow      # three predict runs, one of them killed
def test_a_run_killed_with_sigkill_resumes_to_the_results_of_an_uninterrupted_run(ravdess_fixture, tmp_path):
    folder = copies(ravdess_fixture, tmp_path / "audio", 3)           # 192 real recordings
    expected = Classifier.from_dir(SHIPPED, classic_part=False).predict_files(folder)   # one process, sorted
    assert len(expected) == 192 and all(r["result"] not in ("error", "silence") for r in expected)

    # two workers, standard output: the same results in the same (input) order
    done = subprocess.run(predict_cmd("--workers", "2", str(folder)), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == expected

    out = tmp_path / "results.jsonl"
    proc = writing(out, folder, start_new_session=True)
    os.killpg(proc.pid, signal.SIGKILL)                                # the parent and its workers
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    proc.stderr.close()
    written = out.read_bytes().count(b"\n")
    assert 16 <= written < 192, f"the kill landed after {written} of 192 results; the run was not interrupted"

    rerun = subprocess.run(predict_cmd("--workers", "2", "--output", str(out), str(folder)),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{written} of 192 files already there, {192 - written} to go" in rerun.stderr
    results = lines(out)
    assert sorted(r["path"] for r in results) == sorted(r["path"] for r in expected)     # each file once
    assert {r["path"]: r for r in results} == {r["path"]: r for r in expected}


def test_a_torn_last_line_is_cut_off_and_its_file_classified_again(ravdess_fixture, tmp_path, capsys):
    files = [str(p) for p in sorted((ravdess_fixture / "Actor_01").glob("*.flac"))[:3]]
    out = tmp_path / "results.jsonl"
    assert cli.main(["predict", "--model", str(SHIPPED), "--output", str(out), *files]) == 0
    whole = out.read_bytes()
    assert capsys.readouterr().out == ""                              # results go to the file only
    assert [r["path"] for r in lines(out)] == files
    out.write_bytes(whole[:-40])                                      # the last line torn mid-way
    assert cli.main(["predict", "--model", str(SHIPPED), "--output", str(out), *files]) == 0
    err = capsys.readouterr().err
    assert "cut off an incomplete last line" in err and "2 of 3 files already there, 1 to go" in err
    assert out.read_bytes() == whole                                  # the same lines, each file once


def test_output_that_is_not_predict_results_or_is_in_use_is_refused_untouched(ravdess_fixture, tmp_path, capsys):
    wav = str(next((ravdess_fixture / "Actor_01").glob("*.flac")))
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"path": "a.wav", "result": "sad"}\nmy notes\n')
    assert cli.main(["predict", "--model", str(SHIPPED), "--output", str(notes), wav]) == 2
    assert f"{notes}: line 2 is not a predict result" in capsys.readouterr().err
    assert notes.read_text() == '{"path": "a.wav", "result": "sad"}\nmy notes\n'

    busy = tmp_path / "busy.jsonl"
    with open_results(busy):                                          # another run appending to it
        assert cli.main(["predict", "--model", str(SHIPPED), "--output", str(busy), wav]) == 2
    assert f"{busy}: another predict run is writing to it" in capsys.readouterr().err
    assert busy.read_bytes() == b""

    assert cli.main(["predict", "--model", str(SHIPPED), "--workers", "0", wav]) == 2
    assert "--workers must be >= 1; got 0" in capsys.readouterr().err
    assert cli.main(["predict", "--model", str(SHIPPED), "--output", str(busy), "--csv", wav]) == 2
    assert "--output writes JSON lines" in capsys.readouterr().err


def test_on_a_terminal_the_progress_bar_shows_the_rate_and_the_time_left(ravdess_fixture, tmp_path):
    import fcntl
    import pty
    import re
    import struct
    import termios
    files = [str(ravdess_fixture)]                 # 64 recordings: 2 workers, results a chunk of 16 at a time
    leader, follower = pty.openpty()                                  # stderr is a terminal, stdout is not
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))    # 120 columns
    proc = subprocess.Popen([sys.executable, "-m", "emoaugnet", "predict", "--model", str(SHIPPED), "--workers", "2",
                             "--output", str(tmp_path / "out.jsonl"), *files], stderr=follower,
                            stdout=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:                                               # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    text = seen.decode(errors="replace")
    assert re.search(r"predict: +\d+%.*\| *\d+/64 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(file/s|s/file)\]", text), text


@pytest.mark.slow      # two predict runs, a worker of the first killed
def test_a_dead_worker_stops_the_run_with_a_clear_error_and_a_rerun_finishes_it(ravdess_fixture, tmp_path):
    folder = copies(ravdess_fixture, tmp_path / "audio", 2)           # 128 real recordings
    out = tmp_path / "results.jsonl"
    proc = writing(out, folder, text=True)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert workers, "the run ended before a worker could be killed"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "predict: a worker process died (killed, or out of memory); the results written so far are kept" in err
    written = out.read_bytes().count(b"\n")
    rerun = subprocess.run(predict_cmd("--workers", "2", "--output", str(out), str(folder)),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and f"{written} of 128 files already there" in rerun.stderr, rerun.stderr
    assert sorted(r["path"] for r in lines(out)) == sorted(str(p) for p in folder.rglob("*.flac"))
