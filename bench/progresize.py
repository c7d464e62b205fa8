"""Benchmark for lesson 05 (`ProgressiveResize`): time to reach a target validation accuracy with progressive
resizing vs training at the fixed full size, same epochs, same seed, one run each, on `textures_folder()`
(4 classes that differ only in a fine texture, so detail matters).

Run from the repository root: `python bench/progresize.py` (`--quick` for a smoke run). Writes
`bench/results/progresize.json` and `bench/results/progresize.md`.

Method. The real `folder_dls` pipeline (PNG decode, `Resize(64)`, the default `AugPolicy` on the batch) feeds
both runs; `ProgressiveResize` shrinks the batch on the fly, so decoding and augmentation cost the same in both and
only the model's compute shrinks. After every epoch we record elapsed wall and CPU time and validation accuracy.
Target = the fixed run's final accuracy minus `--slack` (default 0.02): the time each run first reaches it.
Several start sizes (`--start-sizes`, default 32 and 48) are compared with the one fixed run.
Timings on a shared CPU are noisy (torch runs on 1 thread; CPU time is reported beside wall time)."""
import argparse, json, time
from pathlib import Path
import torch
from fastai.vision.all import *
from imgcls_tricks.datasets import textures_folder
from imgcls_tricks.data import folder_dls
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.callback.progresize import ProgressiveResize
from imgcls_tricks.learner import simple_cnn

class Clock(Callback):
    "Elapsed wall/CPU seconds and validation accuracy after each epoch"
    order = 90
    def before_fit(self): self.t0, self.c0, self.rows = time.perf_counter(), time.process_time(), []
    def after_epoch(self):
        self.rows.append(dict(epoch=self.epoch, wall=time.perf_counter() - self.t0, cpu=time.process_time() - self.c0,
                              valid_acc=float(self.recorder.values[-1][2])))

def run(path, epochs, lr, seed, cb=None):
    set_seed(seed)
    dls = folder_dls(path, size=64, bs=64, policy=AugPolicy(), verbose=False)
    learn = Learner(dls, simple_cnn(dls.c), metrics=accuracy, cbs=[Clock()] + ([cb] if cb else []))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    return learn.clock.rows, (pd.DataFrame(cb.history).to_dict('records') if cb else None)

def loader_seconds(path, seed):
    "Wall/CPU seconds for one pass over the training loader alone (decode + augment, no model)"
    set_seed(seed)
    dl = folder_dls(path, size=64, bs=64, policy=AugPolicy(), verbose=False).train
    w, c = time.perf_counter(), time.process_time()
    for _ in dl: pass
    return time.perf_counter() - w, time.process_time() - c

def first_at(rows, target, key):
    return next((r[key] for r in rows if r['valid_acc'] >= target), None)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--quick', action='store_true')
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--start-sizes', type=int, nargs='+', default=[32, 48])
    p.add_argument('--finish', type=float, default=0.5)
    p.add_argument('--slack', type=float, default=0.02)
    a = p.parse_args()
    if a.quick: a.epochs = 2
    torch.set_num_threads(1)
    path = textures_folder()
    fixed, _ = run(path, a.epochs, a.lr, a.seed)
    target = fixed[-1]['valid_acc'] - a.slack
    load_w, load_c = loader_seconds(path, a.seed)
    res = dict(settings=vars(a), fixed=fixed, target=target, loader_epoch_wall=load_w, loader_epoch_cpu=load_c, progressive={})
    f = lambda v: '—' if v is None else f'{v:.1f}'
    md = [f"Target: {target:.3f} valid accuracy (the fixed run's final accuracy − {a.slack}). Ratios are progressive / fixed.", '',
          '| run | wall s to target | CPU s to target | ratio (CPU) | CPU s, all epochs | ratio (CPU) | final valid acc |',
          '|---|---|---|---|---|---|---|',
          f"| fixed 64 px | {f(first_at(fixed, target, 'wall'))} | {f(first_at(fixed, target, 'cpu'))} | 1 | {fixed[-1]['cpu']:.1f} | 1 | {fixed[-1]['valid_acc']:.3f} |"]
    curves = ['| epoch | ' + ' | '.join(str(i) for i in range(a.epochs)) + ' |', '|---' * (a.epochs + 1) + '|',
              '| fixed 64 px: valid acc | ' + ' | '.join(f"{x['valid_acc']:.2f}" for x in fixed) + ' |']
    for s0 in a.start_sizes:
        prog, hist = run(path, a.epochs, a.lr, a.seed, ProgressiveResize(s0, 64, finish=a.finish))
        r = dict(rows=prog, history=hist)
        for k in ('wall', 'cpu'):
            tf, tp = first_at(fixed, target, k), first_at(prog, target, k)
            r[f'to_target_{k}'] = dict(fixed=tf, progressive=tp, ratio=(tp / tf) if tf and tp else None)
            r[f'total_{k}_ratio'] = prog[-1][k] / fixed[-1][k]
        res['progressive'][s0] = r
        rt = r['to_target_cpu']['ratio']
        md.append(f"| progressive {s0}→64 px | {f(r['to_target_wall']['progressive'])} | {f(r['to_target_cpu']['progressive'])} | "
                  f"{'not reached' if rt is None else f'{rt:.2f}×'} | {prog[-1]['cpu']:.1f} | {r['total_cpu_ratio']:.2f}× | {prog[-1]['valid_acc']:.3f} |")
        curves += [f'| {s0}→64: size | ' + ' | '.join(f"{h['size'][0]}–{h['last_size'][0]}" if h['size'] != h['last_size'] else str(h['size'][0]) for h in hist) + ' |',
                   f'| {s0}→64: valid acc | ' + ' | '.join(f"{x['valid_acc']:.2f}" for x in prog) + ' |']
        print(md[-1], flush=True)
    out = Path(__file__).parent/('results/quick' if a.quick else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    (out/'progresize.json').write_text(json.dumps(res, indent=1, default=str))
    md += [''] + curves + [
          f"\nOne run each, seed {a.seed}, {a.epochs} epochs of `fit_one_cycle(lr={a.lr})`, small CNN from scratch, bs 64, default "
          f"`AugPolicy`, growth until {a.finish:.0%} of training, validation always at 64 px; torch on 1 CPU thread of a shared machine "
          f"(wall times are inflated by other jobs; CPU time is the steadier measure). One epoch of the training loader alone "
          f"(decode + augmentation, no model) takes {load_w:.1f} s wall / {load_c:.1f} s CPU, the same in every run."]
    (out/'progresize.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
