"""Benchmark for lesson 07 (cleaning): label-noise finding on digits with 10 % flipped training labels, and
duplicate finding on >= 10,000 generated images with planted duplicates.

Run from the repository root: `python bench/clean.py` (add `--quick` for a smoke run). Writes
`bench/results/clean.json` and `bench/results/clean.md`. Timings are wall-clock on a shared CPU: noisy."""
import argparse, json, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from PIL import Image
from fastai.vision.all import Learner, accuracy, set_seed, nn
from imgcls_tricks.data import digits_folder
from imgcls_tricks.clean import (oof_probs, find_label_issues, find_duplicates, leakage_report, DecisionJournal,
                                 apply_decisions, _folder_table, _fold_dls, _near_pairs, _hash_file)
from imgcls_tricks.learner import simple_cnn

def flip_labels(src, dest, frac=0.1, seed=0):
    "Copy the digits folder and move `frac` of the training images into a wrong class folder; returns the moved paths."
    shutil.copytree(src, dest)
    t = _folder_table(dest); tr = t[t.split == 'train'].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(tr), int(round(frac * len(tr))), replace=False)
    moved = {}
    for i in sorted(idx):
        p = Path(tr.path[i]); old = p.parent.name
        new = str((int(old) + int(rng.integers(1, 10))) % 10)
        dst = dest/'train'/new/p.name
        (dest/p).rename(dst); moved[dst.relative_to(dest).as_posix()] = old
    return moved

def learner_factory(dls): return Learner(dls, simple_cnn(dls.c), metrics=accuracy)

def train_valid_acc(root, epochs, seed):
    "Train on root/train (whatever its labels are now), return accuracy on the untouched root/valid."
    t = _folder_table(root); items = [root/p for p in t.path]; labels = list(t.label)
    set_seed(seed)
    dls = _fold_dls(items, labels, np.flatnonzero(t.split.values == 'valid'), sorted(set(labels)), None, 32, None, None)
    learn = learner_factory(dls)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, 1e-2)
        return float(learn.validate()[1])

def label_noise(args, out):
    work = Path(tempfile.mkdtemp(prefix='bench_clean_'))
    noisy = work/'noisy'; moved = flip_labels(digits_folder(), noisy, 0.1, seed=0)
    t = _folder_table(noisy); tr = t[t.split == 'train'].reset_index(drop=True)
    set_seed(0); t0 = time.time()
    probs, vocab = oof_probs([noisy/p for p in tr.path], tr.label, learner_factory, n_folds=args.folds,
                             fit=lambda l: l.fit_one_cycle(args.epochs, 1e-2), bs=32, verbose=False)
    t_oof = time.time() - t0
    iss = find_label_issues(probs, tr.label, vocab, items=list(tr.path))
    flipped = iss.path.isin(set(moved))
    res = {'train images': len(tr), 'flipped': len(moved), 'folds': args.folds, 'epochs per fold': args.epochs, 'oof seconds': round(t_oof, 1)}
    for b in ('mislabeled', 'ambiguous'):
        m = iss.bucket == b
        res[f'{b} flagged'] = int(m.sum()); res[f'{b} precision'] = round(float(flipped[m].mean()), 3) if m.any() else None
        res[f'{b} recall'] = round(float(flipped[m].sum() / len(moved)), 3)
    k = len(moved); res['precision@k (top-k of the ranking, k = #flipped)'] = round(float(flipped[:k].mean()), 3)
    mis = iss[iss.bucket == 'mislabeled']
    tp = [moved[p] == q for p, q in zip(mis.path, mis.pred) if p in moved]
    res['suggested class = true class (of true positives)'] = round(float(np.mean(tp)), 3) if tp else None
    # clean two copies through the real API: relabel the mislabeled bucket to its prediction, or quarantine it
    acc = {}
    for variant in ('relabel', 'quarantine'):
        d = work/variant; shutil.copytree(noisy, d); j = DecisionJournal(d)
        for r in mis.itertuples(): j.record(r.path, 'relabel' if variant == 'relabel' else 'delete', label=r.pred, reason='wrong label')
        apply_decisions(d, dry_run=False, force=True)
    for name, root in (('noisy labels (plain fastai)', noisy), ('cleaned: relabel mislabeled bucket', work/'relabel'),
                       ('cleaned: quarantine mislabeled bucket', work/'quarantine'), ('original labels (oracle)', Path(digits_folder()))):
        acc[name] = float(np.mean([train_valid_acc(root, args.epochs, s) for s in range(args.seeds)]))
    out['label_noise'] = res; out['valid_accuracy'] = {k: round(v, 4) for k, v in acc.items()}
    shutil.rmtree(work, ignore_errors=True)

def _gen(rng, size=32):
    "A random smooth image: 6x6 colour noise upsampled, so nearby images don't share a hash by chance."
    return Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)

def duplicates(args, out):
    work = Path(tempfile.mkdtemp(prefix='bench_dups_')); rng = np.random.default_rng(0)
    n, n_exact, n_near = args.n_images, args.n_images // 40, args.n_images // 40
    n_orig = n - n_exact - n_near; files = []
    t0 = time.time()
    for i in range(n_orig):
        f = work/f'img{i:05d}.png'; _gen(rng).save(f); files.append(f)
    src = rng.choice(n_orig, n_exact + n_near, replace=False); planted = set()
    for k, i in enumerate(src):
        im = Image.open(files[i]).convert('RGB')
        if k < n_exact: f = work/f'exact{k:05d}.png'; im.save(f, compress_level=1)        # same pixels, different bytes
        else:
            f = work/f'near{k:05d}.jpg'
            a = np.asarray(im).astype(int) + rng.integers(-3, 4, (32, 32, 3))
            Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(f, quality=90)          # noise + JPEG re-encode
        files.append(f); planted.add((files[i].name, f.name, 'exact' if k < n_exact else 'near'))
    t_gen = time.time() - t0
    t0 = time.time(); dups = find_duplicates(files, max_dist=args.max_dist); t_find = time.time() - t0
    found = {(Path(a).name, Path(b).name, kind) for a, b, kind in zip(dups.a, dups.b, dups.kind)}
    hit = {k: sum((a, b, k) in found for a, b, kk in planted if kk == k) for k in ('exact', 'near')}
    planted_pairs = {(a, b) for a, b, _ in planted}
    extra = sum((a, b) not in planted_pairs for a, b, _ in found)
    # the pair search alone: multi-index vs brute-force O(n^2) numpy on the same hashes
    h = np.array([_hash_file(f)[1] for f in files[:n]], dtype=np.uint64)
    t0 = time.time(); fast = _near_pairs(h, args.max_dist); t_fast = time.time() - t0
    t0 = time.time(); brute = 0
    for s in range(0, n, 1000):
        d = np.bitwise_count(h[s:s + 1000, None] ^ h[None, :]); i, j = np.nonzero(d <= args.max_dist); brute += int((j > i + s).sum())
    t_brute = time.time() - t0
    out['duplicates'] = {'images': n, 'planted exact': n_exact, 'found exact': hit['exact'], 'planted near (noise+JPEG)': n_near,
                         'found near': hit['near'], 'other pairs reported': extra, 'max_dist': args.max_dist,
                         'find_duplicates seconds (decode+hash+search)': round(t_find, 2), 'images per second': round(n / t_find),
                         'pair search seconds (multi-index)': round(t_fast, 3), 'pair search seconds (brute force numpy)': round(t_brute, 3),
                         'brute / multi-index time ratio': round(t_brute / max(t_fast, 1e-9), 1), 'same pairs as brute force': len(fast) == brute,
                         'generation seconds': round(t_gen, 1)}
    shutil.rmtree(work, ignore_errors=True)

def to_md(out):
    ln, lines = out['label_noise'], ['| digits, 10 % of training labels flipped | value |', '|---|---|']
    lines += [f'| {k} | {v} |' for k, v in ln.items()]
    lines += ['', '| training labels (same model, epochs, seeds) | valid accuracy |', '|---|---|']
    lines += [f'| {k} | {v:.4f} |' for k, v in out['valid_accuracy'].items()]
    lines += ['', '| duplicates | value |', '|---|---|'] + [f'| {k} | {v} |' for k, v in out['duplicates'].items()]
    return '\n'.join(lines) + '\n'

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--folds', type=int, default=5); ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--seeds', type=int, default=2); ap.add_argument('--n-images', type=int, default=10_000)
    ap.add_argument('--max-dist', type=int, default=4); ap.add_argument('--quick', action='store_true')
    ap.add_argument('--only', choices=['noise', 'dups'], default=None)
    args = ap.parse_args()
    if args.quick: args.folds, args.epochs, args.seeds, args.n_images = 2, 1, 1, 2000
    out = {'torch threads': torch.get_num_threads(), 'args': vars(args)}
    if args.only != 'dups': label_noise(args, out)
    if args.only != 'noise': duplicates(args, out)
    print(json.dumps(out, indent=1))
    if not args.quick and args.only is None:
        res = Path(__file__).parent/'results'; res.mkdir(exist_ok=True)
        (res/'clean.json').write_text(json.dumps(out, indent=1)); (res/'clean.md').write_text(to_md(out))
        print(to_md(out))
