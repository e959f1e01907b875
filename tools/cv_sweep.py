"""Cross-validate several configurations side by side (emoaugnet/evaluation/cv_sweep.py), and carry a feature store.

    python tools/cv_sweep.py run --configs tools/cv_configs.yaml --only frames_sn_elu_reg,paper_flat \\
        --features data/features --out cv_sweep --workers 2
    python tools/cv_sweep.py ensemble NAME1,NAME2 --out cv_sweep   # fold K: the NAMEs' fold-K models averaged
    python tools/cv_sweep.py table cv_sweep/results.jsonl        # README rows
    python tools/cv_sweep.py cross cv_sweep/NAME/models --features data/features --corpora tess,emodb
                              # each fold model and their ensemble scored on corpora none of them saw
    python tools/cv_sweep.py pack data/features .devdata/features   # float16 + gzip copy (about 45%)
    python tools/cv_sweep.py unpack .devdata/features data/features # back to float32 shards

``pack`` / ``unpack`` exist for moving the 20-actor RAVDESS store (106 MB) to a machine that takes
less: the copy's features are rounded to float16 (about 3 significant digits), every other dataset and
attribute is copied as is, and ``unpack`` writes ordinary float32 shards the pipeline reads unchanged.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import h5py
import yaml

from emoaugnet.evaluation import cv_sweep
from emoaugnet.atomic import atomic_path

ROOT = Path(__file__).resolve().parents[1]


def convert(src: Path, dst: Path, dtype: str, compress: bool) -> int:
    """Copy every shard under ``src`` to ``dst`` with ``features`` stored as ``dtype``."""
    shards = sorted(src.glob("*/*.h5"))
    if not shards:
        raise SystemExit(f"{src}: no feature shards (<corpus>/<speaker>.h5)")
    for shard in shards:
        out = dst / shard.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(shard, "r") as f, atomic_path(out) as tmp, h5py.File(tmp, "w") as g:
            g.attrs.update(dict(f.attrs))
            for name in f:
                if name == "features":
                    g.create_dataset(name, data=f[name][:].astype(dtype), track_times=False,
                                     **({"compression": "gzip", "compression_opts": 9, "shuffle": True}
                                        if compress else {}))
                else:
                    f.copy(f[name], g, name)
    return len(shards)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="cross-validate configurations")
    run.add_argument("--configs", default=str(ROOT / "tools" / "cv_configs.yaml"))
    run.add_argument("--only", default="", help="comma-separated configuration names (default: all)")
    run.add_argument("--params", default=str(ROOT / "params.yaml"))
    run.add_argument("--features", default="data/features")
    run.add_argument("--out", default="cv_sweep")
    run.add_argument("--workers", type=int, default=1)
    ens = sub.add_parser("ensemble", help="cross-validate the per-fold average of swept configurations")
    ens.add_argument("names", help="comma-separated configuration names already run into --out")
    ens.add_argument("--configs", default=str(ROOT / "tools" / "cv_configs.yaml"))
    ens.add_argument("--params", default=str(ROOT / "params.yaml"))
    ens.add_argument("--features", default="data/features")
    ens.add_argument("--out", default="cv_sweep")
    table = sub.add_parser("table", help="README rows from results.jsonl")
    table.add_argument("results")
    cross = sub.add_parser("cross", help="score each fold model and their ensemble on unseen corpora")
    cross.add_argument("models", type=Path, help="a folder of fold models (cv/models, <out>/<name>/models)")
    cross.add_argument("--features", default="data/features")
    cross.add_argument("--corpora", required=True, help="comma-separated corpora in the feature store")
    cross.add_argument("--out", type=Path, default=Path("cv_sweep_cross"))
    cross.add_argument("--params", default=str(ROOT / "params.yaml"), help="for the class list")
    for verb in ("pack", "unpack"):
        conv = sub.add_parser(verb)
        conv.add_argument("src", type=Path)
        conv.add_argument("dst", type=Path)
    args = parser.parse_args(argv)

    if args.command == "run":
        def stop(signum, frame):              # `timeout` / kill: stop the workers like Ctrl-C does
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, stop)
        configs = cv_sweep.read_configs(args.configs)
        if args.only:
            names = args.only.split(",")
            unknown = [n for n in names if n not in configs]
            if unknown:
                raise SystemExit(f"{args.configs}: no configuration {unknown}; it has {', '.join(configs)}")
            configs = {n: configs[n] for n in names}
        base = yaml.safe_load(Path(args.params).read_text())
        cv_sweep.sweep(base, configs, args.features, args.out, args.workers)
    elif args.command == "ensemble":
        configs = cv_sweep.read_configs(args.configs)
        names = args.names.split(",")
        unknown = [n for n in names if n not in configs]
        if unknown:
            raise SystemExit(f"{args.configs}: no configuration {unknown}")
        row = cv_sweep.ensemble_of(yaml.safe_load(Path(args.params).read_text()), configs, names,
                                   args.features, args.out)
        print(f"{row['name']}: UA {100 * row['mean']['unweighted_accuracy']:.1f} +- "
              f"{100 * row['sd']['unweighted_accuracy']:.1f}")
    elif args.command == "cross":
        from emoaugnet.evaluation import cross_corpus
        from emoaugnet.inference import ensemble
        from emoaugnet import params
        p = params.load(args.params)
        for corpus in args.corpora.split(","):
            for member in [*ensemble.member_dirs(args.models), args.models]:
                name = member.name if member != args.models else "ensemble"
                m = cross_corpus.evaluate_corpus(p, corpus, member, args.features, args.out / name)
                print(f"cross {corpus} {name}: {m['samples']['test']} recordings, UA "
                      f"{100 * m['unweighted_accuracy']:.1f}, WA {100 * m['weighted_accuracy']:.1f}")
    elif args.command == "table":
        print("\n".join(cv_sweep.markdown_rows(cv_sweep.read_results(args.results))))
    else:
        n = convert(args.src, args.dst, "float16" if args.command == "pack" else "float32", args.command == "pack")
        print(f"{args.command}: {n} shards {args.src} -> {args.dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
