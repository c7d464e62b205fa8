"""Benchmark for lesson 08 (diagnosing training): four deliberately broken runs on the 32-px digits image folders
— LR far too small (underfit), a tiny training set for many epochs (overfit), LR far too large (unstable), the
validation images copied into train (leakage) — plus a healthy run, each diagnosed by `Learner.diagnose`; the false
alarms on clean runs (random splits without duplicates of the digits folders and of scikit-image's `lfw_subset` faces,
1, 3 and 5 epochs, several seeds: how many are not diagnosed healthy, how many are called leakage, how many get a hint,
and how many the earlier curve rule — valid below the eval-mode train loss of a fitted model — would have called
leakage); and the overhead of the `ExperimentLog` callback against a plain fastai fit in the same run.

Run from the repository root: `python bench/diagnose.py` (`--quick` for a smoke run with fewer epochs).
Writes `bench/results/diagnose.json` and `bench/results/diagnose.md`. Timings are wall-clock on a shared CPU: noisy."""
import argparse, json, shutil, tempfile, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastai.vision.all import Learner, CrossEntropyLossFlat, error_rate, set_seed, nn
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.data import folder_dls
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.diagnose.curves import CurveWatch
from imgcls_tricks.test_utils import tensor_dls
from imgcls_tricks.diagnose.log import ExperimentLog
from imgcls_tricks.learner import simple_cnn

def subset_folder(src, dest, n_train_per_class=None, leak=False):
    "Copy `src` (train/valid layout) to `dest`, keeping `n_train_per_class` training images per class; `leak` also copies every valid image into train."
    for split in ('train', 'valid'):
        for cdir in sorted((src/split).iterdir()):
            if not cdir.is_dir(): continue
            files = sorted(cdir.glob('*.png'))
            if split == 'train' and n_train_per_class: files = files[:n_train_per_class]
            (dest/split/cdir.name).mkdir(parents=True, exist_ok=True)
            for f in files: shutil.copy2(f, dest/split/cdir.name/f.name)
            if split == 'valid' and leak:
                for f in files: shutil.copy2(f, dest/'train'/cdir.name/f'leak_{f.name}')
    return dest

def make_learner(root, bs=64, seed=0, cbs=()):
    dls = folder_dls(root, bs=bs, policy=AugPolicy.digits(), verbose=False)
    set_seed(seed)
    return Learner(dls, simple_cnn(dls.c), loss_func=CrossEntropyLossFlat(), metrics=error_rate, cbs=list(cbs))

def constructed(src, tmp, quick):
    "name -> (expected problem, root, fit function)."
    e = 1 if quick else 2
    return {
        'healthy (one-cycle 1e-2)': ('healthy', src, lambda l: l.fit_one_cycle(3*e, 1e-2)),
        'LR far too small (1e-5)': ('underfit', src, lambda l: l.fit_one_cycle(2*e, 1e-5)),
        'tiny train set (5/class), many epochs': ('overfit', subset_folder(src, tmp/'tiny', n_train_per_class=5), lambda l: l.fit_one_cycle(20*e, 1e-2)),
        'LR far too large (Adam, constant 1.0)': ('unstable', src, lambda l: l.fit(2*e, 1.0)),
        'valid images copied into train': ('leakage', subset_folder(src, tmp/'leak', leak=True), lambda l: l.fit_one_cycle(3*e, 1e-2)),
    }

def run_diagnoses(src, tmp, quick):
    rows = []
    for name, (expected, root, fit) in constructed(src, tmp, quick).items():
        learn = make_learner(root, bs=16 if 'tiny' in name else 64, cbs=[CurveWatch(warn=False)])
        t = time.perf_counter()
        with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
            warnings.simplefilter('ignore'); fit(learn)
        secs = time.perf_counter() - t
        d = learn.diagnose()
        v = learn.recorder.values[-1]
        rows.append(dict(run=name, expected=expected, diagnosed=d.problem, correct=d.problem == expected,
                         epochs=len(learn.recorder.values), final_train_loss=float(v[0]), final_valid_loss=float(v[1]),
                         final_error_rate=float(v[2]), evidence=d.evidence, seconds=round(secs, 1)))
        print(f"{name:40s} expected {expected:9s} diagnosed {d.problem:9s} ({d.evidence}) {secs:.1f}s", flush=True)
    return rows

def _old_rule(d):
    "Would the earlier curve rule (fitted, valid < eval train, valid error <= train error + 0.005) have said leakage?"
    v = d.checks.set_index('check').value
    return bool(v['train fitted: eval train loss / ln C'] < 0.1 and v['valid / eval train loss'] < 1.0
                and not v['valid error - eval train error'] > 0.005)

def _faces():
    "scikit-image's lfw_subset: 100 faces and 100 non-faces, 25x25 grey, standardised."
    from skimage.data import lfw_subset
    x = torch.tensor(lfw_subset(), dtype=torch.float32)[:, None]
    return (x - x.mean())/x.std(), torch.tensor([0]*100 + [1]*100), ['face', 'not face']

def clean_runs(src, quick):
    "Clean random splits, diagnosed: the false alarms."
    rows, fx = [], _faces()
    seeds = (0, 1) if quick else (0, 1, 2)
    for data in ('digits 32 px folders', 'faces 25 px (lfw_subset)'):
        for ep in (1, 3, 5):
            for seed in seeds if data.startswith('digits') else tuple(range(2*len(seeds))):
                cbs = [CurveWatch(warn=False)] if seed % 2 else []
                if data.startswith('digits'):
                    dls = folder_dls(src, bs=64, seed=seed, policy=AugPolicy.digits(), verbose=False)
                    set_seed(seed); learn = Learner(dls, simple_cnn(dls.c), loss_func=CrossEntropyLossFlat(), metrics=error_rate, cbs=cbs)
                    lr = 1e-2
                else:
                    dls = tensor_dls(*fx, bs=16, seed=seed)
                    set_seed(seed); learn = Learner(dls, simple_cnn(2, n_in=1, widths=(16, 32, 64)), loss_func=CrossEntropyLossFlat(), metrics=error_rate, cbs=cbs)
                    lr = 3e-3
                with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
                    warnings.simplefilter('ignore'); learn.fit_one_cycle(ep, lr)
                d = learn.diagnose()
                rows.append(dict(data=data, epochs=ep, seed=seed, problem=d.problem, hint=bool(d.hints), old_rule_leakage=_old_rule(d),
                                 duplicates=d.checks.set_index('check').value['valid items with an exact copy in train'],
                                 valid_error=float(learn.recorder.values[-1][2])))
                print(f"clean {data:26s} {ep} epochs seed {seed}: {d.problem}{' (hint)' if d.hints else ''}", flush=True)
    return rows

class _TimedLog(ExperimentLog):
    "ExperimentLog with its own per-batch and after-fit time measured."
    def before_fit(self): super().before_fit(); self.t_batch = 0.; self.n_batch = 0
    def after_batch(self):
        t = time.perf_counter(); super().after_batch(); self.t_batch += time.perf_counter() - t; self.n_batch += 1
    def after_fit(self):
        t = time.perf_counter(); super().after_fit(); self.t_after_fit = time.perf_counter() - t

def log_overhead(src, tmp, epochs, reps):
    "Time the same fit with and without ExperimentLog (alternating, `reps` times each)."
    plain, logged, inner = [], [], []
    for r in range(reps):
        for kind in ('plain', 'logged'):
            cb = _TimedLog(tmp/'logs')
            learn = make_learner(src, cbs=[cb] if kind == 'logged' else [])
            t = time.perf_counter()
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
            secs = time.perf_counter() - t
            n_steps = learn.train_iter
            (plain if kind == 'plain' else logged).append(secs)
            if kind == 'logged': inner.append((cb.t_batch, cb.n_batch, cb.t_after_fit))
    tb, nb, taf = np.median([i[0] for i in inner]), np.median([i[1] for i in inner]), np.median([i[2] for i in inner])
    return dict(epochs=epochs, reps=reps, train_steps=n_steps, plain_fit_s=float(np.median(plain)), logged_fit_s=float(np.median(logged)),
                ratio=float(np.median(logged)/np.median(plain)), after_batch_us_per_call=float(tb/nb*1e6),
                after_fit_s=float(taf), fit_wall_overhead_ms_per_step=float((np.median(logged)-np.median(plain))/n_steps*1e3))

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--quick', action='store_true'); args = ap.parse_args()
    torch.set_num_threads(2)
    src = digits_folder()
    tmp = Path(tempfile.mkdtemp(prefix='bench_diagnose_'))
    try:
        t0 = time.perf_counter()
        rows = run_diagnoses(src, tmp, args.quick)
        clean = clean_runs(src, args.quick)
        ov = log_overhead(src, tmp, epochs=1 if args.quick else 2, reps=1 if args.quick else 3)
        print(ov)
        res = dict(data='digits_folder(size=32), simple_cnn, bs 64 (16 for the tiny set), AugPolicy.digits()',
                   diagnoses=rows, n_correct=int(sum(r['correct'] for r in rows)), n_runs=len(rows), experiment_log=ov,
                   clean_runs=clean, clean_not_healthy=int(sum(r['problem'] != 'healthy' for r in clean)),
                   clean_leakage=int(sum(r['problem'] == 'leakage' for r in clean)), clean_hints=int(sum(r['hint'] for r in clean)),
                   clean_old_rule_leakage=int(sum(r['old_rule_leakage'] for r in clean)),
                   torch_threads=torch.get_num_threads(), total_s=round(time.perf_counter()-t0, 1), quick=args.quick)
    finally: shutil.rmtree(tmp, ignore_errors=True)
    out = Path(__file__).parent/('results/quick' if args.quick else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    (out/'diagnose.json').write_text(json.dumps(res, indent=1))
    cols = ['run', 'expected', 'diagnosed', 'epochs', 'final_train_loss', 'final_valid_loss', 'final_error_rate', 'seconds']
    fmt = lambda v: f'{v:.3f}' if isinstance(v, float) else str(v)
    table = ['| ' + ' | '.join(cols) + ' |', '|' + '---|'*len(cols)] + ['| ' + ' | '.join(fmt(r[c]) for c in cols) + ' |' for r in rows]
    cl = pd.DataFrame(clean)
    ct = cl.groupby(['data', 'epochs']).agg(runs=('seed', 'size'), healthy=('problem', lambda p: int((p == 'healthy').sum())),
                                            leakage=('problem', lambda p: int((p == 'leakage').sum())), hints=('hint', 'sum'),
                                            earlier_rule_leakage=('old_rule_leakage', 'sum'), valid_error=('valid_error', 'mean')).reset_index()
    ccols = list(ct.columns)
    ctable = ['| ' + ' | '.join(ccols) + ' |', '|' + '---|'*len(ccols)] + ['| ' + ' | '.join(fmt(r[c]) for c in ccols) + ' |' for _, r in ct.iterrows()]
    md = [f"Constructed runs on 32-px digits folders: **{res['n_correct']}/{res['n_runs']} diagnosed correctly**.", '',
          *table, '',
          f"Clean runs (random splits, no duplicates): **{len(clean) - res['clean_not_healthy']}/{len(clean)} healthy, "
          f"{res['clean_leakage']} called leakage**; {res['clean_hints']} with a hint; the earlier curve rule would have called "
          f"{res['clean_old_rule_leakage']} of them leakage.", '', *ctable, '',
          f"`ExperimentLog` overhead ({ov['epochs']} epochs of one-cycle, {ov['train_steps']} steps, median of {ov['reps']}): "
          f"plain fit {ov['plain_fit_s']:.2f} s, with ExperimentLog {ov['logged_fit_s']:.2f} s (ratio {ov['ratio']:.2f}); "
          f"per training step its `after_batch` costs {ov['after_batch_us_per_call']:.1f} µs, and writing the log after the fit "
          f"(valid predictions, diagnosis, JSON/Markdown/CSV) {ov['after_fit_s']:.2f} s once."]
    (out/'diagnose.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
