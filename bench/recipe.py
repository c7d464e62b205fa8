"""Benchmark for lesson 09 (`train_classifier`): plain fastai against the recipe on the generated shapes dataset
(`capstone_folder`), several seeds, accuracy on a separate test set (another generator seed).

Run from the repository root: `OMP_NUM_THREADS=1 python bench/recipe.py` (`--quick`: a smoke run written to
`bench/results/quick/`). Writes `bench/results/recipe.json` and `bench/results/recipe.md`. On a shared machine, one
process per seed and kind of row, all started together (so every row runs under the same load), then a merge:
```
for s in 0 1 2; do
  python bench/recipe.py --seeds $s --rows plain --epochs 40 --part ${s}plain40 &
  python bench/recipe.py --seeds $s --rows plain --epochs 20 --part ${s}plain20 &
  python bench/recipe.py --seeds $s --rows recipe --part ${s}recipe &
done; wait
```
then `python bench/recipe.py --merge`. `--digits` measures the quick default instead: `train_classifier`
on the embedded digits with `AugPolicy.digits()`, per seed (`bench/results/recipe.digits.json`).

Plain fastai = `ImageDataLoaders.from_folder` + `aug_transforms()` + `Learner(simple_cnn)` + `fit_one_cycle(epochs)` at
fastai's default LR (1e-3), trained until it is near its plateau. The recipe is `train_classifier` with its defaults;
each ablation row changes one default. Times: CPU *user* seconds of the process (torch on 1 thread, `num_workers=0`, so
all the work is in-process) beside wall seconds; the recipe's time includes the data scan, the cache build, the LR sweep
and choosing TTA."""
import argparse, json, resource, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastai.vision.all import *
from imgcls_tricks.learner import simple_cnn
from imgcls_tricks.tta import choose_tta, tta_preds
from imgcls_tricks.recipe import capstone_folder, train_classifier, recipe_preds, CAPSTONE_CLASSES
warnings.filterwarnings('ignore')

def _acc(p, y): return float((p.argmax(1) == y).float().mean())

class Timer:
    "CPU user seconds (this process and its children) and wall seconds of a `with` block."
    @staticmethod
    def _user(): return sum(resource.getrusage(w).ru_utime for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    def __enter__(self): self.c, self.w = self._user(), time.perf_counter(); return self
    def __exit__(self, *a): self.cpu, self.wall = self._user() - self.c, time.perf_counter() - self.w

def plain_learner(path, bs, seed):
    set_seed(seed)
    dls = ImageDataLoaders.from_folder(path, train='train', valid='valid', bs=bs, num_workers=0,
                                       batch_tfms=aug_transforms())
    return Learner(dls, simple_cnn(dls.c), metrics=accuracy)

def test_probs(learn, files, tta=None):
    dl = learn.dls.test_dl(files, with_labels=True)
    with learn.no_bar():
        return learn.get_preds(dl=dl) if tta is None else tta_preds(learn, dl, tfms=tta.tfms, beta=tta.beta)

def run_seed(path, files, df, a, seed):
    "(row name, result) pairs, one at a time (so a part file can be saved after each)."
    if a.rows != 'recipe': yield from run_plain(path, files, a, seed)
    if a.rows != 'plain': yield from run_recipes(path, df, a, seed)

def run_plain(path, files, a, seed):
    with Timer() as t:
        learn = plain_learner(path, a.bs, seed)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs)
    p, y = test_probs(learn, files)
    yield f'plain fastai, {a.epochs} epochs', dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall)
    with Timer() as t2:
        with learn.no_bar(): tt = choose_tta(learn)
    p, y = test_probs(learn, files, tt)
    yield f'plain fastai, {a.epochs} epochs + TTA', dict(acc=_acc(p, y), cpu=t.cpu + t2.cpu, wall=t.wall + t2.wall,
                                                          tfms=str(tt.tfms))

def run_recipes(path, df, a, seed):
    for name, kw in a.recipes.items():
        with Timer() as t: r = train_classifier(path, bs=a.bs, seed=seed, show=False, **kw)
        dl = r.learn.dls.test_dl(df, with_labels=True)
        p, y = recipe_preds(r, dl)
        yield name, dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall, lr=r.lr, tta=str(r.tta.tfms) if r.tta else None)
        if r.tta and name == a.default_row:          # the same models, predicting without TTA
            with r.learn.no_bar(): p, y = r.learn.get_preds(dl=dl)
            yield name + ', TTA off at test', dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall)

def digits(seeds) -> list:
    "`train_classifier` on the embedded digits, with digits' augmentation policy (lesson 00b: no flips, small turns)."
    from imgcls_tricks.datasets import digits_folder
    from imgcls_tricks.augment import AugPolicy
    path, rows = digits_folder(), []
    for s in seeds:
        with Timer() as t: r = train_classifier(path, seed=s, show=False, policy=AugPolicy.digits())
        p, y = recipe_preds(r, r.learn.dls.valid)
        rows.append(dict(seed=s, valid_acc=r.valid_acc[0], valid_acc_tta=_acc(p, y), cpu=t.cpu, wall=t.wall))
        print(rows[-1], flush=True)
    return rows

def digits_md(rows) -> str:
    "One paragraph for recipe.md: the quick default on the digits."
    acc, tta = np.array([r['valid_acc'] for r in rows]), np.array([r['valid_acc_tta'] for r in rows])
    cpu, wall = np.array([r['cpu'] for r in rows]), np.array([r['wall'] for r in rows])
    return (f"Digits (`digits_folder()`, 359 valid images, `AugPolicy.digits()`, {len(rows)} seeds): `train_classifier` "
            f"reaches {acc.mean():.3f} ± {acc.std(ddof=1):.3f} valid accuracy ({tta.mean():.3f} with its TTA) in "
            f"{cpu.mean():.0f} CPU s, {wall.max():.0f} s wall at most, torch on 1 thread "
            "(`python bench/recipe.py --digits`).")

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--quick', action='store_true')
    p.add_argument('--epochs', type=int, default=40, help='plain fastai epochs (near its plateau)')
    p.add_argument('--recipe-epochs', type=int, nargs='+', default=[10, 5])
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--n-per-class', type=int, default=250)
    p.add_argument('--rows', default='all', choices=['all', 'plain', 'recipe'], help='which rows this process runs')
    p.add_argument('--part', default=None, help='write recipe.part-NAME.json only (one process per seed and rows)')
    p.add_argument('--merge', action='store_true', help='combine the recipe.part-*.json files into recipe.json/.md')
    p.add_argument('--note', default='', help='a sentence added under the table (e.g. what did not finish)')
    p.add_argument('--digits', action='store_true',
                   help="the quick default instead: train_classifier's defaults on the embedded digits, per seed")
    a = p.parse_args()
    if a.quick: a.epochs, a.seeds, a.n_per_class, a.recipe_epochs = 2, [0], 40, [2]
    e0 = a.recipe_epochs[0]
    a.default_row = f'recipe, {e0} epochs'
    a.recipes = {f'recipe, {e} epochs': dict(epochs=e) for e in a.recipe_epochs}
    e1 = a.recipe_epochs[-1]                         # the ablations: one default changed, at the shorter budget
    a.recipes |= {f'recipe, {e1} epochs, folder_dls (no cache)': dict(epochs=e1, cached=False),
                  f"recipe, {e1} epochs, lr_rule='valley'": dict(epochs=e1, lr_rule='valley')}
    out = Path(__file__).parent/('results/quick' if a.quick else 'results')   # a smoke run never overwrites the numbers
    out.mkdir(parents=True, exist_ok=True)
    if a.merge: return merge(a, out)
    torch.set_num_threads(1)
    if a.digits:                                     # `recipe.digits.json`; the numbers go under recipe.md's table
        rows = digits(a.seeds)
        (out/'recipe.digits.json').write_text(json.dumps(dict(settings=vars(a), runs=rows), indent=1, default=str))
        (out/'recipe.digits.md').write_text(digits_md(rows) + '\n'); print(digits_md(rows))
        return
    path = capstone_folder(n_per_class=a.n_per_class)
    test_root = capstone_folder(n_per_class=max(a.n_per_class//4, 10), seed=1000)
    files = sorted(Path(test_root).glob('*/*/*.png'))
    df = pd.DataFrame(dict(path=files, label=[f.parent.name for f in files], is_valid=True))
    rows = {}
    for s in a.seeds:
        for k, v in run_seed(path, files, df, a, s):
            rows.setdefault(k, []).append(v)
            print('seed', s, k, round(v['acc'], 3), round(v['cpu'], 1), flush=True)
            if a.part is not None:                   # saved after every row: a merge can use what has finished
                part = dict(settings={k: v for k, v in vars(a).items()}, n_test=len(files), per_seed=rows)
                (out/f'recipe.part-{a.part}.json').write_text(json.dumps(part, indent=1, default=str))
    if a.part is None: report(a, out, rows, len(files))

def merge(a, out):
    "One table from the per-seed parts (their own settings are used)."
    parts = [json.loads(f.read_text()) for f in sorted(out.glob('recipe.part-*.json'))]
    rows = {}
    for pt in parts:
        for k, v in pt['per_seed'].items(): rows.setdefault(k, []).extend(v)
    for k in ('epochs', 'recipe_epochs', 'bs', 'n_per_class', 'default_row', 'recipes', 'quick'):
        setattr(a, k, parts[0]['settings'][k])
    a.merged = True
    a.seeds = sorted({s for pt in parts for s in pt['settings']['seeds']})
    n = max(len(v) for v in rows.values())
    plain = [k for k, v in rows.items() if k.startswith('plain') and 'TTA' not in k and len(v) == n]
    a.epochs = max(int(k.split(', ')[1].split()[0]) for k in plain)             # the longest complete plain run
    first = f'plain fastai, {a.epochs} epochs'
    rows = dict(sorted(rows.items(), key=lambda kv: (kv[0] != first, not kv[0].startswith('plain'), kv[0])))
    report(a, out, rows, parts[0]['n_test'])

def report(a, out, rows, n_test):
    "Summary table over the seeds; writes recipe.json and recipe.md"
    base = next(iter(rows.values()))
    b_acc, b_cpu = np.mean([r['acc'] for r in base]), np.mean([r['cpu'] for r in base])
    summ = []
    for k, v in rows.items():
        acc, cpu, wall = (np.array([r[x] for r in v]) for x in ('acc', 'cpu', 'wall'))
        summ.append(dict(run=k, n=len(v), acc_mean=acc.mean(), acc_sd=acc.std(ddof=1) if len(acc) > 1 else 0., cpu_s=cpu.mean(),
                         wall_s=wall.mean(), cpu_ratio=cpu.mean()/b_cpu, gain=acc.mean() - b_acc))
    settings = {k: v for k, v in vars(a).items()}
    (out/'recipe.json').write_text(json.dumps(dict(settings=settings, n_test=n_test, per_seed=rows, summary=summ),
                                              indent=1, default=str))
    md = [f"Test accuracy on {n_test} images of `capstone_folder(seed=1000)` (never seen in training or validation); "
          f"{len(a.seeds)} seeds, mean ± sd; "
          + ("one process per seed and kind of row (plain / recipe), all started together; " if getattr(a, 'merged', 0)
             else "all rows in one process; ") +
          "CPU = user seconds of training (+ choosing TTA), torch on 1 thread.", '',
          '| run | seeds | test acc | vs plain | CPU user s | CPU ratio | wall s |', '|---|---|---|---|---|---|---|']
    for r in summ:
        md.append(f"| {r['run']} | {r['n']} | {r['acc_mean']:.3f} ± {r['acc_sd']:.3f} | {r['gain']:+.3f} | {r['cpu_s']:.1f} | "
                  f"{r['cpu_ratio']:.2f}× | {r['wall_s']:.1f} |")
    if getattr(a, 'note', ''): md += ['', a.note]
    md += ['', "**Rule** (plain fastai's final accuracy in <= 0.5× its CPU time, or +2 points at <= 1× its CPU time):"]
    for d in summ:
        if d['run'] not in [f'recipe, {e} epochs' for e in a.recipe_epochs]: continue
        ok = (d['gain'] >= 0 and d['cpu_ratio'] <= 0.5) or (d['gain'] >= 0.02 and d['cpu_ratio'] <= 1)
        md.append(f"- {d['run']}: {d['acc_mean']:.3f} against {b_acc:.3f} ({d['gain']:+.3f}) in {d['cpu_ratio']:.2f}× "
                  f"the CPU time: {'passes' if ok else 'does not pass'}.")
    md += ['',
           f"Data: `capstone_folder(n_per_class={a.n_per_class})` (8 shape classes, 32 px, "
           f"{a.n_per_class*len(CAPSTONE_CLASSES)} images, 80/20 split). bs {a.bs}, small CNN from scratch "
           "(`simple_cnn`). Plain fastai: `ImageDataLoaders.from_folder` + `aug_transforms()`, "
           f"`fit_one_cycle({a.epochs})` at its default LR (1e-3). Recipe: `train_classifier` defaults (`cached_dls` with "
           "the default `AugPolicy`, a 50-step "
           "`find_lr` with `lr_rule='slide'`, one-cycle, TTA chosen on half of validation); each ablation row changes "
           "one default. 'TTA off at test' scores the same models without TTA. Command: "
           f"`OMP_NUM_THREADS=1 python bench/recipe.py{' --quick' if a.quick else ''}`, or one process per seed and "
           "`--rows plain|recipe`, all started together, then `--merge` (the module docstring has the loop)."]
    if (out/'recipe.digits.md').exists(): md += ['', (out/'recipe.digits.md').read_text().strip()]
    (out/'recipe.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
