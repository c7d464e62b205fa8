"""Benchmark for lesson 03 (schedules): one-cycle vs constant vs SGDR vs StepLR at equal epochs on the digits.

On the embedded digits (decoded once into memory, pooled to 16 px, 1 channel) a small CNN is trained for 7 epochs from the same initial weights and batch order under each schedule, all with
peak LR 1e-2: fastai's `fit_one_cycle`, a constant LR (`fit`), fastai's `fit_sgdr` (cycles 1+2+4), our
`fit_warm_restarts` with the same cycles (plain, and with a floor, warm-up and peak decay) and `fit_step`
(StepLR, step 3, gamma 0.1). Accuracy on the validation split and wall-clock time per fit, with the time as a ratio
to one-cycle measured in the same run.

Run from the repository root: `python bench/schedules.py` (`--quick` for a smoke run). Writes
`bench/results/schedules.json` and `bench/results/schedules.md`. Timings are wall-clock on a shared CPU: noisy."""
import argparse, json, time, warnings
from pathlib import Path
import numpy as np, torch
from PIL import Image
from fastai.vision.all import (Learner, DataLoaders, TfmdDL, CrossEntropyLossFlat, accuracy, set_seed, nn)
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.callback.schedule import *   # Learner.fit_warm_restarts, Learner.fit_step
from _digits16 import digits_tensors, init_weights, make_learner

LR = 1e-2
SCHEDULES = {   # all 7 epochs
    'one-cycle (fastai fit_one_cycle)': lambda l: l.fit_one_cycle(7, LR),
    'constant (fit)': lambda l: l.fit(7, LR),
    'SGDR 1+2+4 (fastai fit_sgdr)': lambda l: l.fit_sgdr(3, 1, lr_max=LR, cycle_mult=2),
    'SGDR 1+2+4 (fit_warm_restarts)': lambda l: l.fit_warm_restarts(3, 1, cycle_mult=2, lr_max=LR),
    'SGDR 1+2+4, lr_min 1e-4, warmup 0.2, peak_decay 0.7': lambda l: l.fit_warm_restarts(3, 1, cycle_mult=2, lr_max=LR, lr_min=1e-4, warmup=0.2, peak_decay=0.7),
    'StepLR step 3, gamma 0.1 (fit_step)': lambda l: l.fit_step(7, LR, step_size=3, gamma=0.1),
}

def run(data, init, seed, fit, bs=64):
    learn = make_learner(data, init, seed, bs)
    set_seed(seed)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore'); fit(learn)
    t = time.time() - t0
    with learn.no_bar(): return 100 * float(learn.validate()[1]), t

def main():
    torch.set_num_threads(1)   # on a shared CPU, 2 spinning threads were ~20x slower than 1
    ap = argparse.ArgumentParser()
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--quick', action='store_true')
    a = ap.parse_args()
    scheds = dict(list(SCHEDULES.items())[:2]) if a.quick else SCHEDULES
    if a.quick: a.seeds = [0]
    data = digits_tensors()
    rows, t_all = [], time.time()
    for seed in a.seeds:
        init = init_weights(seed)
        for name, fit in scheds.items():
            acc, t = run(data, init, seed, fit)
            rows.append(dict(seed=seed, schedule=name, acc=acc, seconds=t))
            print(f'seed {seed} {name}: {acc:.1f} % in {t:.1f} s', flush=True)
    out = Path(__file__).parent/('results/quick' if a.quick else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    json.dump(dict(args=vars(a), lr=LR, epochs=7, rows=rows, seconds=time.time() - t_all), open(out/'schedules.json', 'w'), indent=1)
    lines = ['| schedule (7 epochs, peak LR 1e-2) | ' + ' | '.join(f'acc % seed {s}' for s in a.seeds) +
             ' | mean acc % | median time s | time / one-cycle |', '|---|' + '---|' * (len(a.seeds) + 3)]
    base = {s: next(r['seconds'] for r in rows if r['seed'] == s and r['schedule'].startswith('one-cycle')) for s in a.seeds}
    for name in scheds:
        rs = [next(r for r in rows if r['seed'] == s and r['schedule'] == name) for s in a.seeds]
        lines.append(f'| {name} | ' + ' | '.join(f"{r['acc']:.1f}" for r in rs) + f" | {np.mean([r['acc'] for r in rs]):.1f} | "
                     f"{np.median([r['seconds'] for r in rs]):.1f} | {np.median([r['seconds'] / base[r['seed']] for r in rs]):.2f} |")
    md = '\n'.join(lines)
    (out/'schedules.md').write_text(md + '\n')
    print(md)

if __name__ == '__main__': main()
