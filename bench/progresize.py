"""Benchmark for lesson 05 (`ProgressiveResize`): time to reach a target validation accuracy with progressive
resizing vs training at the fixed full size, same epochs, same seed, one run each, on `textures_folder()`
(4 classes that differ only in a fine texture, so detail matters).

Run from the repository root: `python bench/progresize.py` (`--quick` for a smoke run). Writes
`bench/results/progresize.json` and `bench/results/progresize.md`.

`python bench/progresize.py --case positive` runs the case where it pays (coarse shapes at 96 px, uint8 tensors in
memory, batches delivered at the small size, 3 seeds): `bench/results/progresize.positive.json` and `.md`.

Method. The real `folder_dls` pipeline (PNG decode, `Resize(64)`, the default `AugPolicy` on the batch) feeds
both runs; `ProgressiveResize` shrinks the batch on the fly, so decoding and augmentation cost the same in both and
only the model's compute shrinks. After every epoch we record elapsed wall and CPU time and validation accuracy.
Target = the fixed run's final accuracy minus `--slack` (default 0.02): the time each run first reaches it.
Several start sizes (`--start-sizes`, default 32 and 48) are compared with the one fixed run.
Timings on a shared CPU are noisy (torch runs on 1 thread; CPU time is reported beside wall time)."""
import argparse, json, math, random, time
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

# ---- the positive case: coarse shapes, decoded in memory, batches delivered at the small size ----
SHAPES = ('disk', 'square', 'ring', 'cross')

def shapes_tensors(n, size=96, seed=0, n_classes=4):
    "`n` uint8 images (n, 3, size, size) of `n_classes` (up to 4) coarse shapes on noisy coloured backgrounds, and labels"
    g = torch.Generator().manual_seed(seed)
    u = lambda *s: torch.rand(*s, generator=g)
    y = torch.arange(n) % n_classes
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    r = (0.22 + 0.12*u(n))*size
    cx, cy = (r + (size - 2*r)*u(n), r + (size - 2*r)*u(n))
    a = u(n)*math.pi/2
    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    c, s = torch.cos(a)[:, None, None], torch.sin(a)[:, None, None]
    du, dv, rr = (dx*c + dy*s).abs(), (-dx*s + dy*c).abs(), r[:, None, None]
    d2 = dx**2 + dy**2
    w = 0.35*rr
    masks = torch.stack([d2 < rr**2, torch.maximum(du, dv) < 0.8*rr, (d2 < rr**2) & (d2 > (0.55*rr)**2),
                         ((du < w) & (dv < rr)) | ((dv < w) & (du < rr))], 1)[torch.arange(n), y]
    bg, fg = u(n, 3, 1, 1), u(n, 3, 1, 1)
    fg = torch.where((fg - bg).abs() < 0.3, (bg + 0.5) % 1, fg)            # the shape stands out from its background
    x = torch.where(masks[:, None], fg, bg) + 0.05*torch.randn(n, 3, size, size, generator=g)   # a little pixel noise
    return (x.clamp(0, 1)*255).round().to(torch.uint8), y

class DeliverAt(ItemTransform):
    "uint8 batch → resized to the `ProgressiveResize` size of this step (training only) → normalised float"
    order = 0
    def __init__(self, pr=None): self.pr = pr
    def encodes(self, b):
        x, y = b
        lrn = getattr(self.pr, 'learn', None)
        if lrn is not None and lrn.training and not hasattr(lrn, 'lr_finder'):
            h, w = self.pr.size_at(lrn.pct_train)
            if (h, w) != tuple(x.shape[-2:]): x = F.interpolate(x, size=(h, w), mode='bilinear', antialias=True, align_corners=False)
        return TensorImage((x.float()/255 - 0.5)/0.25), y

def memory_dls(x, y, n_valid, bs=64, pr=None, seed=0):
    "fastai DataLoaders over uint8 tensors already in memory; `pr` makes the training batches arrive at its size"
    tr, va = list(zip(x[n_valid:], y[n_valid:])), list(zip(x[:n_valid], y[:n_valid]))
    return DataLoaders(DataLoader(tr, bs=bs, shuffle=True, drop_last=True, after_batch=DeliverAt(pr), rng=random.Random(seed)),
                       DataLoader(va, bs=2*bs, after_batch=DeliverAt(None)))

def run_positive(x, y, n_valid, epochs, lr, bs, seed, pr=None):
    "One fit on the in-memory shapes; per-epoch wall/CPU time and validation accuracy"
    set_seed(seed)
    dls = memory_dls(x, y, n_valid, bs=bs, pr=pr, seed=seed)
    learn = Learner(dls, simple_cnn(len(SHAPES), widths=(8, 16, 32, 64)), loss_func=CrossEntropyLossFlat(), metrics=accuracy,
                    cbs=[Clock()] + ([pr] if pr else []))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    return learn.clock.rows

def positive(a):
    "Progressive resizing where it pays: coarse classes, 96 px, data in memory, batches delivered at the small size"
    x, y = shapes_tensors(a.n_images, 96, seed=0)
    nv, runs = a.n_images//5, []
    for s in a.seeds:
        fixed = run_positive(x, y, nv, a.epochs, a.lr, a.bs, s)
        prog = run_positive(x, y, nv, a.epochs, a.lr, a.bs, s, ProgressiveResize(a.start_size, 96, start=a.start, finish=a.finish))
        target = fixed[-1]['valid_acc'] - a.slack
        reach = first_at(prog, target, 'cpu')
        runs.append(dict(seed=s, fixed=fixed, progressive=prog, fixed_acc=fixed[-1]['valid_acc'], prog_acc=prog[-1]['valid_acc'],
                         cpu_ratio=prog[-1]['cpu']/fixed[-1]['cpu'], wall_ratio=prog[-1]['wall']/fixed[-1]['wall'],
                         to_target_cpu_ratio=None if reach is None else reach/fixed[-1]['cpu']))
        print({k: v for k, v in runs[-1].items() if k not in ('fixed', 'progressive')}, flush=True)
    return runs

def positive_md(a, runs):
    col = lambda k: np.array([r[k] for r in runs], dtype=float)
    ms = lambda v: f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}"
    fa, pa, cr = col('fixed_acc'), col('prog_acc'), col('cpu_ratio')
    fc, pc = np.array([r['fixed'][-1]['cpu'] for r in runs]), np.array([r['progressive'][-1]['cpu'] for r in runs])
    tt = ['not reached' if r['to_target_cpu_ratio'] is None else f"{r['to_target_cpu_ratio']:.2f}×" for r in runs]
    return [f"Progressive resizing where it pays: {len(SHAPES)} coarse shape classes at 96 px (`shapes_tensors`, {a.n_images} "
            "images, 20 % valid), uint8 tensors in memory, training batches resized as uint8 to the step's size *before* the "
            f"float conversion, so the batch pipeline and the model both run at the small size. {len(runs)} seeds, mean ± sd.", "",
            "| run | final valid acc | CPU s (all epochs) | CPU ratio |", "|---|---|---|---|",
            f"| fixed 96 px | {ms(fa)} | {fc.mean():.1f} | 1 |",
            f"| progressive {a.start_size}→96 px | {ms(pa)} | {pc.mean():.1f} | {cr.mean():.2f}× (per seed: "
            + ", ".join(f"{v:.2f}" for v in cr) + ") |", "",
            "Progressive − fixed final accuracy per seed: " + ", ".join(f"{p - f:+.3f}" for p, f in zip(pa, fa))
            + f". CPU share at which the progressive run first reaches the fixed run's final accuracy − {a.slack}: "
            + ", ".join(tt) + ".", "",
            f"Settings: {a.epochs} epochs of `fit_one_cycle(lr={a.lr})`, bs {a.bs}, `simple_cnn(widths=(8, 16, 32, 64))`, "
            f"`ProgressiveResize({a.start_size}, 96, start={a.start}, finish={a.finish})`, validation always at 96 px; torch on "
            "1 CPU thread of a shared machine (CPU time is the steadier measure)."]

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
    p.add_argument('--case', choices=['textures', 'positive'], default='textures')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--n-images', type=int, default=1000)
    p.add_argument('--bs', type=int, default=16)
    p.add_argument('--start', type=float, default=0.3)
    p.add_argument('--start-size', type=int, default=32)
    a = p.parse_args()
    if a.case == 'positive':
        if a.quick: a.epochs, a.seeds, a.n_images = 1, [0], 100
        elif a.epochs == 12: a.epochs = 8
        if a.finish == 0.5: a.finish = 0.7
        if a.slack == 0.02: a.slack = 0.005   # 'reaches the fixed accuracy' = within half a point
        torch.set_num_threads(1)
        runs = positive(a)
        out = Path(__file__).parent/('results/quick' if a.quick else 'results'); out.mkdir(parents=True, exist_ok=True)
        (out/'progresize.positive.json').write_text(json.dumps(dict(settings=vars(a), runs=runs), indent=1, default=str))
        md = positive_md(a, runs)
        (out/'progresize.positive.md').write_text('\n'.join(md) + '\n')
        print('\n'.join(md)); return
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
