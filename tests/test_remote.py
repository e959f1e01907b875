"""Sharing cached shards and models through a DVC remote, for real.

One tiny pipeline run (``tests/helpers/tiny_project.py``: the RAVDESS fixtures, 1 epoch) is pushed to a local
folder remote and committed (dvc.lock, reports/metrics.json, .dvc/config); every test then works in
``git clone``s of that repository: ``dvc pull`` must bring back everything ``dvc repro`` needs, so
that nothing is recomputed, and the shards and model must be byte-identical to the originals. The SSH
test starts its own ``sshd`` on 127.0.0.1 (a host key, client key and known_hosts of its own) and
goes through a ``ssh://`` remote with DVC's dvc-ssh plugin.
"""

from __future__ import annotations

import re
import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from helpers import tiny_project
from helpers.needs import missing
from helpers.tiny_project import run

STAGE_RAN = re.compile(r"Running stage '([^']+)'")
pytestmark = pytest.mark.slow      # runs the pipeline and pushes to a local and an SSH remote

STAGES = ("download@ravdess", "augment@ravdess", "features@ravdess", "train", "export", "evaluate")
# Everything the pipeline writes: its cached outputs (pulled) and the git-tracked reports.
OUTPUTS = ("data", "models", "export", "dvclive", "reports")


def files(root: Path, *parts: str) -> dict[str, bytes]:
    """Relative path -> content of every file under ``root/<part>``."""
    found = {}
    for part in parts:
        for path in sorted((root / part).rglob("*")):
            if path.is_file():
                found[str(path.relative_to(root))] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def origin(tmp_path_factory, reproduced_project) -> Path:
    """The tiny project after one ``dvc repro``, pushed to a local remote, results committed."""
    tmp = tmp_path_factory.mktemp("remote")
    repo = tiny_project.copy(reproduced_project, tmp / "repo")
    run(["dvc", "remote", "add", "-d", "local", str(tmp / "storage")], repo)
    run(["dvc", "push"], repo)
    run(["git", "add", "dvc.lock", "reports", ".dvc/config"], repo)
    run(["git", "commit", "-q", "-m", "pipeline run"], repo)
    assert run(["git", "status", "--porcelain"], repo) == ""     # nothing the pipeline wrote is left untracked
    return repo


def clone(origin: Path, dest: Path) -> Path:
    run(["git", "clone", "-q", str(origin), str(dest)], origin.parent)
    return dest


def assert_nothing_to_recompute(repo: Path, original: Path) -> None:
    """``dvc status`` clean, ``dvc repro`` runs no stage, every output byte-identical to ``original``'s."""
    assert "Data and pipelines are up to date" in run(["dvc", "status"], repo)
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out, out
    for stage in STAGES:
        assert f"Stage '{stage}' didn't change, skipping" in out, out
    assert "Data and pipelines are up to date" in out
    assert run(["git", "status", "--porcelain"], repo) == ""

    pulled, before = files(repo, *OUTPUTS), files(original, *OUTPUTS)
    shards = [p for p in before if p.startswith("data/features/ravdess/") and p.endswith(".h5")]
    assert len(shards) == 4 and {"models/model.json", "models/model.weights.h5"} <= set(before)
    assert "data/reports/augment/ravdess.json" in before and "dvclive/metrics.json" in before
    assert sorted(pulled) == sorted(before)
    for path in before:
        assert pulled[path] == before[path], f"{path} differs after the pull"


def test_clone_and_pull_from_a_local_remote_leaves_nothing_to_recompute(origin, tmp_path):
    repo = clone(origin, tmp_path / "clone")
    assert not (repo / "data").exists() and not (repo / "models").exists()
    # before the pull the clone has to recompute everything
    assert "changed outs" in run(["dvc", "status"], repo)
    run(["dvc", "pull"], repo)
    assert_nothing_to_recompute(repo, origin)


def test_pulling_one_corpus_features_needs_no_raw_audio(origin, tmp_path):
    repo = clone(origin, tmp_path / "clone")
    run(["dvc", "pull", "features@ravdess"], repo)
    shards = sorted(p.name for p in (repo / "data" / "features" / "ravdess").iterdir())
    assert shards == sorted(p.name for p in (origin / "data" / "features" / "ravdess").iterdir())
    assert len(shards) == 4
    for name in shards:
        assert (repo / "data/features/ravdess" / name).read_bytes() == \
            (origin / "data/features/ravdess" / name).read_bytes()
    for absent in ("data/raw", "data/augmented", "data/manifests", "models"):
        assert not (repo / absent).exists(), f"{absent} was pulled with features@ravdess"
    # the local cache holds the shards only, not the audio
    cached = [p for p in (repo / ".dvc" / "cache").rglob("*") if p.is_file()]
    assert 0 < len(cached) <= len(shards) + 1          # the shards and the folder's .dir listing


def test_pulling_export_fetches_only_the_exported_model(origin, tmp_path):
    repo = clone(origin, tmp_path / "clone")
    run(["dvc", "pull", "export"], repo)
    names = sorted(p.name for p in (repo / "export").iterdir())
    assert names == ["features.npz", "model.json", "model.onnx"]
    for name in names:
        assert (repo / "export" / name).read_bytes() == (origin / "export" / name).read_bytes()
    for absent in ("data", "models", "dvclive"):
        assert not (repo / absent).exists(), f"{absent} was pulled with export"


def test_a_teammate_with_only_the_features_trains_a_new_experiment(origin, tmp_path):
    """README's flow for a teammate without the raw audio: pull the feature shards, run an experiment with
    --allow-missing; download, augment and features are skipped (their outputs are missing, nothing else
    changed), train and evaluate run, and the experiment goes back to the team."""
    repo = clone(origin, tmp_path / "teammate")
    run(["dvc", "pull", "features@ravdess"], repo)
    out = run(["dvc", "exp", "run", "--allow-missing", "-S", "model.conv_activation=relu"], repo)
    for stage in STAGES[:3]:
        assert f"Stage '{stage}' didn't change, skipping" in out, out
        assert f"Running stage '{stage}'" not in out, out
    assert "Running stage 'train'" in out and "Running stage 'evaluate'" in out, out
    for absent in ("data/raw", "data/augmented", "data/manifests", "data/reports"):
        found = {path for path in files(repo, absent) if not path.endswith("/params.ok")}   # check_params' own
        assert not found, f"{absent} has files: an upstream stage ran"     # DVC leaves empty folders
    assert files(repo, "data/features") == files(origin, "data/features")          # shards untouched
    metrics = json.loads((repo / "reports" / "metrics.json").read_text())
    assert metrics["model"].startswith("frames conv-relu") and metrics["samples"]["test"] == 7
    assert (repo / "reports" / "confusion.png").is_file() and (repo / "models" / "model.weights.h5").is_file()
    names = run(["dvc", "exp", "list", "--name-only"], repo).split()
    assert len(names) == 1
    # the experiment goes back to the team: its git ref to the origin, its new outputs to the DVC remote
    run(["dvc", "exp", "push", "origin", names[0]], repo)
    assert names[0] in run(["dvc", "exp", "list", "--name-only"], origin).split()


def test_the_model_is_a_registry_artifact(origin, tmp_path):
    """dvc.yaml declares ``ser-model`` (type model); once a version is tagged (GTO's ``name@vX.Y.Z``),
    ``dvc artifacts get`` downloads the bundle from the remote without cloning the pipeline's data."""
    run(["git", "tag", "-a", "ser-model@v0.1.0", "-m", "tiny model"], origin)
    run(["dvc", "artifacts", "get", str(origin), "ser-model", "-o", str(tmp_path / "model")], tmp_path)
    assert files(tmp_path, "model") == {name.replace("models/", "model/"): data
                                        for name, data in files(origin, "models").items()}
    run(["dvc", "artifacts", "get", str(origin), "ser-model", "--rev", "v0.1.0", "-o", str(tmp_path / "v1")],
        tmp_path)
    assert (tmp_path / "v1" / "model.json").read_bytes() == (origin / "models" / "model.json").read_bytes()
    # the ONNX export is an artifact of its own: a user of `emoaugnet predict` needs only that folder
    run(["git", "tag", "-a", "ser-model-onnx@v0.1.0", "-m", "tiny export"], origin)
    run(["dvc", "artifacts", "get", str(origin), "ser-model-onnx", "-o", str(tmp_path / "onnx")], tmp_path)
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == ["features.npz", "model.json", "model.onnx"]


# ---------------------------------------------------------------- SSH remote

def find_sshd() -> str | None:
    return shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
                                         if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_key(path: Path) -> str:
    """A new ed25519 private key at ``path`` (mode 600); its public key line."""
    import asyncssh                      # installed with dvc-ssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key.export_public_key().decode().strip()


@pytest.fixture(scope="module")
def sshd_binary() -> str:
    """The sshd program; without one the SSH test fails under CI=true and is skipped, with the reason, elsewhere."""
    binary = find_sshd()
    if binary is None:
        missing("sshd not found: install openssh-server (apt-get install openssh-server) to test the SSH remote")
    return binary


@pytest.fixture
def sshd(sshd_binary, tmp_path):
    """A real sshd on 127.0.0.1:<free port> that accepts this user with a key of its own.

    Yields (port, client key file, HOME folder whose .ssh/known_hosts holds the server's host key).
    """
    ssh = tmp_path / "ssh"
    ssh.mkdir()
    host_pub = write_key(ssh / "host_key")
    (ssh / "authorized_keys").write_text(write_key(ssh / "client_key") + "\n")
    port = free_port()
    config = ssh / "sshd_config"
    config.write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {ssh / 'host_key'}
PidFile {ssh / 'sshd.pid'}
AuthorizedKeysFile {ssh / 'authorized_keys'}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
""")
    if os.geteuid() == 0:                # root sshd insists on its privilege separation folder
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub}\n")
    log = open(ssh / "sshd.log", "w")
    proc = subprocess.Popen([sshd_binary, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited with {proc.returncode}:\n{(ssh / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"sshd not listening on 127.0.0.1:{port}:\n{(ssh / 'sshd.log').read_text()}")
                time.sleep(0.1)
        yield port, ssh / "client_key", home
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.mark.ssh
def test_push_and_pull_through_an_ssh_remote(sshd_binary, origin, sshd, tmp_path):
    # sshd_binary first: without sshd the test stops before the pipeline run
    port, key, home = sshd
    user = getpass.getuser()
    storage = tmp_path / "ssh-storage"
    env = {"HOME": str(home)}             # asyncssh reads known_hosts (and ~/.ssh/config) from here

    def ssh_run(args: list[str], cwd: Path) -> str:
        return run(args, cwd, extra_env=env)

    # a first clone gets the data from the local remote and pushes it to the SSH one
    first = clone(origin, tmp_path / "first")
    ssh_run(["dvc", "pull"], first)
    ssh_run(["dvc", "remote", "add", "-d", "ssh", f"ssh://{user}@127.0.0.1:{port}{storage}"], first)
    ssh_run(["dvc", "remote", "modify", "--local", "ssh", "keyfile", str(key)], first)   # not committed
    ssh_run(["git", "commit", "-q", "-m", "SSH remote", ".dvc/config"], first)
    assert "pushed" in ssh_run(["dvc", "push"], first)
    assert storage.is_dir() and any(p.is_file() for p in storage.rglob("*"))

    # a second clone of that one pulls everything from the SSH remote (its default now)
    second = clone(first, tmp_path / "second")
    ssh_run(["dvc", "remote", "modify", "--local", "ssh", "keyfile", str(key)], second)
    assert ssh_run(["dvc", "remote", "default"], second).strip() == "ssh"
    ssh_run(["dvc", "pull", "-r", "ssh"], second)
    assert_nothing_to_recompute(second, origin)


def test_changing_a_worker_count_reruns_nothing(origin, tmp_path):
    """Worker counts never change an output, so they are not params deps of any stage that works: only
    check_params, which reads the whole file, reruns, and it writes the same bytes, so nothing follows."""
    repo = clone(origin, tmp_path / "clone")
    run(["dvc", "pull"], repo)
    tree = yaml.safe_load((repo / "params.yaml").read_text())
    tree["augment"]["workers"] = tree["augment"]["workers"] + 1
    tree["features"]["workers"] = tree["features"]["workers"] + 1
    (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    stale = [line[:-1] for line in run(["dvc", "status"], repo).splitlines() if line.endswith(":") and line[0] != "\t"]
    assert stale == ["check_params"]
    assert STAGE_RAN.findall(run(["dvc", "repro"], repo)) == ["check_params"]
    assert "Data and pipelines are up to date" in run(["dvc", "status"], repo)
    tree["augment"]["transforms"]["noise"]["scale"] = 0.05      # a real setting: augment and after rerun
    (repo / "params.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    status = run(["dvc", "status"], repo)
    assert "augment@ravdess" in status and "download@ravdess" not in status
