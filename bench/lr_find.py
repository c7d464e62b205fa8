"""Benchmark for lesson 02 (finding a learning rate): does the LR that `Learner.find_lr` recommends train well?

On the embedded digits (decoded once into memory and pooled to 16 px, 1 channel; the originals are 8x8) a small CNN is trained with `fit_one_cycle(3, lr)`
from the same initial weights and the same batch order at: each point of a 7-point grid (1e-4 .. 1e-1, half a
decade apart), `find_lr`'s recommendation and each of its four suggestions, and fastai's `lr_find` valley, all in
the same run, and fastai's `lr_find` valley and slide. fastai's `valley` and `slide` are different rules from
`find_lr`'s `valley` and `slide` (same names, other algorithms), so those rows compare suggestion rules, not one
implementation against another; each of ours is set beside fastai's rule of the same name. Regret = best grid accuracy - accuracy at the LR (in accuracy points; negative = better than the grid).

Run from the repository root: `python bench/lr_find.py` (`--quick` for a smoke run). Writes
`bench/results/lr_find.json` and `bench/results/lr_find.md`. Timings are wall-clock on a shared CPU: noisy."""
import argparse, json, time, warnings
from pathlib import Path
import numpy as np, torch
from PIL import Image
from fastai.vision.all import (Learner, DataLoaders, TfmdDL, CrossEntropyLossFlat, accuracy, set_seed, nn, valley, slide)
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.callback.lr_find import *   # Learner.find_lr
from _digits16 import digits_tensors, init_weights, make_learner

GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]

def train_acc(data, init, seed, lr, epochs):
    learn = make_learner(data, init, seed)
    set_seed(seed)
    with learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore'); learn.fit_one_cycle(epochs, lr)
    with learn.no_bar(): return 100 * float(learn.validate()[1])

def main():
    torch.set_num_threads(1)   # on a shared CPU, 2 spinning threads were ~20x slower than 1
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--quick', action='store_true')
    a = ap.parse_args()
    if a.quick: a.epochs, a.seeds, a.runs = 1, [0], 2
    data = digits_tensors()
    rows, t_all = [], time.time()
    for seed in a.seeds:
        init = init_weights(seed)
        grid = {lr: train_acc(data, init, seed, lr, a.epochs) for lr in (GRID[::3] if a.quick else GRID)}
        best_lr = max(grid, key=grid.get)
        learn = make_learner(data, init, seed)
        t0 = time.time(); one = learn.find_lr(seed=seed); t_ours1 = time.time() - t0
        t0 = time.time(); res = learn.find_lr(runs=a.runs, seed=seed); t_ours = time.time() - t0
        learn = make_learner(data, init, seed)
        t0 = time.time()
        with learn.no_logging(): fa = learn.lr_find(suggest_funcs=(valley, slide), show_plot=False)
        t_fa = time.time() - t0
        cands = {'find_lr valley: our rule (recommended)': res.recommended}
        cands.update({f'find_lr {k}': float(v) for k, v in res.spread['median'].items() if k != 'valley'})
        cands["fastai lr_find valley: fastai's longest-descent rule, not ours"] = float(fa.valley)
        cands["fastai lr_find slide: fastai's slope-change rule, not ours"] = float(fa.slide)
        for name, lr in cands.items():
            acc = train_acc(data, init, seed, lr, a.epochs)
            rows.append(dict(seed=seed, method=name, lr=lr, acc=acc, regret=grid[best_lr] - acc))
        for lr, acc in grid.items(): rows.append(dict(seed=seed, method=f'grid {lr:g}', lr=lr, acc=acc, regret=grid[best_lr] - acc))
        rows.append(dict(seed=seed, method='_timing', t_find_lr_1run=t_ours1, t_find_lr_runs=t_ours, t_fastai=t_fa,
                         spread_decades=res.spread['decades'].to_dict(), agreement=res.agreement))
        print(f'seed {seed}: best grid {best_lr:g} ({grid[best_lr]:.1f} %); ', res, flush=True)
    out = Path(__file__).parent/('results/quick' if a.quick else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    json.dump(dict(args=vars(a), rows=rows, seconds=time.time() - t_all), open(out/'lr_find.json', 'w'), indent=1)
    # Markdown table: per method, LR and regret per seed, mean regret
    meth = [r['method'] for r in rows if r['seed'] == a.seeds[0] and r['method'] != '_timing']
    hdr = '| method | ' + ' | '.join(f'seed {s}: LR, acc %, regret' for s in a.seeds) + ' | mean regret |'
    lines = [hdr, '|---|' + '---|' * (len(a.seeds) + 1)]
    for m in meth:
        rs = [next(r for r in rows if r['seed'] == s and r['method'] == m) for s in a.seeds]
        lines.append(f'| {m} | ' + ' | '.join(f"{r['lr']:.1e}, {r['acc']:.1f}, {r['regret']:+.1f}" for r in rs) +
                     f" | {np.mean([r['regret'] for r in rs]):+.2f} |")
    tim = [r for r in rows if r['method'] == '_timing']
    lines += ['', '| seed | find_lr (1 run) s | fastai lr_find s | ratio | find_lr (%d runs) s | spread of our valley over runs (decades) | methods agree within (decades) |' % a.runs,
              '|---|---|---|---|---|---|---|']
    for r in tim:
        lines.append(f"| {r['seed']} | {r['t_find_lr_1run']:.1f} | {r['t_fastai']:.1f} | {r['t_find_lr_1run']/r['t_fastai']:.2f} | "
                     f"{r['t_find_lr_runs']:.1f} | {r['spread_decades']['valley']:.2f} | {r['agreement']:.2f} |")
    md = '\n'.join(lines)
    (out/'lr_find.md').write_text(md + '\n')
    print(md)

if __name__ == '__main__': main()
