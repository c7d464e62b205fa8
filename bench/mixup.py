"""Benchmark for lesson 04 (`MixCut`): per-step overhead against plain training, and the effect on validation
accuracy on digits (32 px) and the generated textures (64 px) at a short and a longer one-cycle schedule.

Run from the repository root: `python bench/mixup.py` (`--quick` for a smoke run). Writes
`bench/results/mixup.json` and `bench/results/mixup.md`.

Method. Images are decoded once (no augmentation: mixing is the only regulariser, so its effect is not
confounded) and kept as tensors. Overhead: the same preloaded batches are trained on by a plain learner and a
`MixCut` learner in alternating rounds, so the load on a shared CPU hits both alike; we report the ratio of the
medians of wall and of CPU (process) time. Accuracy: plain vs `MixCut()` (defaults) from the same seed,
several seeds, final validation accuracy. Timings on a shared machine are noisy; ratios are from one run."""
import argparse, json, time, statistics as st
from pathlib import Path
import numpy as np, torch
from fastai.vision.all import *
from imgcls_tricks.datasets import digits_folder, textures_folder
from imgcls_tricks.data import folder_dls
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.callback.mixup import MixCut
from imgcls_tricks.learner import simple_cnn

def tensors(path, size):
    "Decode a train/valid folder once: (x_train, y_train, x_valid, y_valid, vocab), normalised, no augmentation."
    dls = folder_dls(path, size=size, bs=128, policy=AugPolicy.none(), verbose=False)
    def grab(dl):
        xs, ys = zip(*[(x.as_subclass(Tensor), y.as_subclass(Tensor)) for x, y in dl.new(shuffle=False, drop_last=False)])
        return torch.cat(xs), torch.cat(ys)
    return (*grab(dls.train), *grab(dls.valid), dls.vocab)

def tensor_dls(xt, yt, xv, yv, bs=64):
    return DataLoaders.from_dsets(list(zip(xt, yt)), list(zip(xv, yv)), bs=bs, device='cpu')

def make_learner(dls, n_out, cbs=None, seed=0):
    set_seed(seed)
    return Learner(dls, simple_cnn(n_out), loss_func=CrossEntropyLossFlat(), metrics=accuracy, cbs=cbs)

def overhead(data, rounds, n_batches, bs=64):
    xt, yt, xv, yv, vocab = data
    batches = [(xt[i*bs:(i+1)*bs], yt[i*bs:(i+1)*bs]) for i in range(n_batches)]
    dls = DataLoaders(DataLoader(batches, bs=None), DataLoader(batches[:1], bs=None))
    plain, mix = make_learner(dls, len(vocab)), make_learner(dls, len(vocab), cbs=MixCut(seed=0))
    mix.model.load_state_dict(plain.model.state_dict())
    res = {'plain': {'wall': [], 'cpu': []}, 'mixcut': {'wall': [], 'cpu': []}}
    for r in range(rounds + 1):                        # round 0 warms up and is dropped
        for name, learn in (('plain', plain), ('mixcut', mix)) if r % 2 else (('mixcut', mix), ('plain', plain)):
            w, c = time.perf_counter(), time.process_time()
            with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
            if r: res[name]['wall'].append((time.perf_counter() - w) / n_batches); res[name]['cpu'].append((time.process_time() - c) / n_batches)
    out = {k: {m: st.median(v) for m, v in d.items()} for k, d in res.items()}
    out['ratio_wall'] = out['mixcut']['wall'] / out['plain']['wall']
    out['ratio_cpu'] = out['mixcut']['cpu'] / out['plain']['cpu']
    out['counts'] = dict(mix.mix_cut.counts)
    return out

def accuracy_effect(data, epochs, seeds, lr=1e-2):
    xt, yt, xv, yv, vocab = data
    rows = []
    for seed in seeds:
        for name in ('plain', 'mixcut'):
            learn = make_learner(tensor_dls(xt, yt, xv, yv), len(vocab), cbs=[MixCut()] if name == 'mixcut' else None, seed=seed)
            t = time.perf_counter()
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
            rows.append(dict(method=name, seed=seed, epochs=epochs, valid_acc=float(learn.recorder.values[-1][2]),
                             train_loss=float(learn.recorder.values[-1][0]), seconds=time.perf_counter() - t))
            print(rows[-1], flush=True)
    return rows

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--quick', action='store_true', help='tiny settings, to check the script runs')
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--short', type=int, default=5)
    p.add_argument('--long', type=int, default=20)
    a = p.parse_args()
    if a.quick: a.seeds, a.short, a.long = 1, 1, 2
    torch.set_num_threads(1)    # one thread: less sensitive to the other jobs on a shared CPU
    datasets = {'digits (32 px)': tensors(digits_folder(), 32), 'textures (64 px)': tensors(textures_folder(), 64)}
    res = {'settings': vars(a), 'torch_threads': 1}
    res['overhead'] = overhead(datasets['digits (32 px)'], rounds=3 if a.quick else 9, n_batches=5 if a.quick else 20)
    print('overhead', res['overhead'], flush=True)
    res['accuracy'] = []
    for dname, data in datasets.items():
        for ep in (a.short, a.long):
            for r in accuracy_effect(data, ep, range(a.seeds)): res['accuracy'].append(dict(data=dname, **r))
    out = Path(__file__).parent/('results/quick' if a.quick else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    (out/'mixup.json').write_text(json.dumps(res, indent=1))
    o = res['overhead']
    md = ['| step time (median) | plain | MixCut | ratio |', '|---|---|---|---|',
          f"| wall, ms/step | {o['plain']['wall']*1e3:.1f} | {o['mixcut']['wall']*1e3:.1f} | {o['ratio_wall']:.3f}× |",
          f"| CPU, ms/step | {o['plain']['cpu']*1e3:.1f} | {o['mixcut']['cpu']*1e3:.1f} | {o['ratio_cpu']:.3f}× |", '',
          f"| data | epochs | plain valid acc | MixCut valid acc | MixCut − plain (per seed) |", '|---|---|---|---|---|']
    for dname in datasets:
        for ep in (a.short, a.long):
            rs = [r for r in res['accuracy'] if r['data'] == dname and r['epochs'] == ep]
            pa = [r['valid_acc'] for r in rs if r['method'] == 'plain']; ma = [r['valid_acc'] for r in rs if r['method'] == 'mixcut']
            sd = lambda v: f" ± {st.stdev(v):.3f}" if len(v) > 1 else ''
            md.append(f"| {dname} | {ep} | {st.mean(pa):.3f}{sd(pa)} | {st.mean(ma):.3f}{sd(ma)} | "
                      + ', '.join(f"{m-q:+.3f}" for m, q in zip(ma, pa)) + ' |')
    md.append(f"\n{a.seeds} seed(s); small CNN from scratch, one-cycle LR 1e-2, bs 64, no augmentation; torch on 1 CPU thread; "
              "mean ± standard deviation over seeds.")
    (out/'mixup.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
