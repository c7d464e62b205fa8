"""Benchmark for lesson 09 (`train_classifier`): plain fastai, each trick alone, and the recipe, on the generated
shapes dataset (`capstone_folder`), several seeds, accuracy on a separate test set (other generator seed).

Run from the repository root: `nice python bench/recipe.py` (`--quick` for a smoke run). Writes
`bench/results/recipe.json` and `bench/results/recipe.md`. On a shared machine, one process per seed and a merge:
`for s in 0 1 2; do nice python bench/recipe.py --seeds $s --part $s & done; wait; python bench/recipe.py --merge`
(give the merge the same settings flags; the parts' own settings are used for the table).

Plain fastai = `ImageDataLoaders.from_folder` + `aug_transforms()` + `Learner(simple_cnn)` + `fit_one_cycle(epochs)` at
fastai's default LR. Each trick is added alone to it; the recipe is `train_classifier` with its defaults. Times are the
process's CPU time (torch on 1 thread, `num_workers=0`, so all work is in-process) beside wall time."""
import argparse, json, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastai.vision.all import *
from imgcls_tricks.learner import simple_cnn
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.callback.mixup import MixCut
from imgcls_tricks.callback.lr_find import *
from imgcls_tricks.tta import choose_tta, tta_preds
from imgcls_tricks.ensemble import ensemble_preds
from imgcls_tricks.recipe import capstone_folder, train_classifier, recipe_preds, CAPSTONE_CLASSES
warnings.filterwarnings('ignore')

def _acc(p, y): return float((p.argmax(1) == y).float().mean())

def _test_items(test_root):
    fs = sorted(Path(test_root).glob('*/*/*.png'))
    return fs, pd.DataFrame(dict(path=fs, label=[f.parent.name for f in fs], is_valid=True))

class Timer:
    def __enter__(self): self.c, self.w = time.process_time(), time.perf_counter(); return self
    def __exit__(self, *a): self.cpu, self.wall = time.process_time() - self.c, time.perf_counter() - self.w

def plain_learner(path, bs, seed, cbs=()):
    set_seed(seed)
    dls = ImageDataLoaders.from_folder(path, train='train', valid='valid', bs=bs, num_workers=0, batch_tfms=aug_transforms())
    return Learner(dls, simple_cnn(dls.c), metrics=accuracy, cbs=list(cbs))

def fit(learn, epochs, lr=None):
    with learn.no_bar(), learn.no_logging():
        if lr is None: learn.fit_one_cycle(epochs)
        else: learn.fit_one_cycle(epochs, lr)

def test_probs(learn, files, tta=None):
    dl = learn.dls.test_dl(files, with_labels=True)
    if tta is None: p, y = learn.get_preds(dl=dl)
    else: p, y = tta_preds(learn, dl, tfms=tta.tfms, beta=tta.beta)
    return p, y

def run_recipes(path, df, a, seed, out):
    for name, kw in a.recipes.items():
        with Timer() as t: r = train_classifier(path, bs=a.bs, seed=seed, show=False, **kw)
        dl = r.learn.dls.test_dl(df, with_labels=True)
        p, y = recipe_preds(r, dl)
        out[name] = dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall, lr=r.lr, tta=str(r.tta.tfms) if r.tta else None,
                         valid_acc=r.ensemble_acc)
    return out

def run_seed(path, files, df, a, seed):
    out = {}
    if a.only_recipes: return run_recipes(path, df, a, seed, out)
    with Timer() as t:
        learn = plain_learner(path, a.bs, seed); fit(learn, a.epochs)
    p, y = test_probs(learn, files); out['plain fastai'] = dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall)
    with Timer() as t2: tt = choose_tta(learn)
    p, y = test_probs(learn, files, tt)
    out['+ TTA'] = dict(acc=_acc(p, y), cpu=t.cpu + t2.cpu, wall=t.wall + t2.wall, tfms=str(tt.tfms))
    with Timer() as t:
        learn = plain_learner(path, a.bs, seed); lr = learn.find_lr(num_it=a.lr_steps, seed=seed).recommended
        fit(learn, a.epochs, lr)
    p, y = test_probs(learn, files); out['+ find_lr (valley)'] = dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall, lr=lr)
    with Timer() as t:
        learn = plain_learner(path, a.bs, seed, [MixCut()]); fit(learn, a.epochs)
    p, y = test_probs(learn, files); out['+ MixCut'] = dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall)
    with Timer() as t:
        ls = []
        for i in range(2): l = plain_learner(path, a.bs, seed*10 + i); fit(l, a.epochs//2); ls.append(l)
    p = ensemble_preds([test_probs(l, files)[0] for l in ls])
    out[f'+ ensemble (2 × {a.epochs//2} epochs)'] = dict(acc=_acc(p, y), cpu=t.cpu, wall=t.wall)
    return run_recipes(path, df, a, seed, out)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--quick', action='store_true')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--recipe-epochs', type=int, nargs='+', default=[8, 5])
    p.add_argument('--digits-epochs', type=int, default=6)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--lr-steps', type=int, default=50)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--n-per-class', type=int, default=250)
    p.add_argument('--recipe-tta', type=int, default=1, help='0: the recipe rows without TTA (cheaper)')
    p.add_argument('--lr-rule', default='slide', help="the recipe's find_lr suggestion ('valley' was measured too)")
    p.add_argument('--only-recipes', action='store_true', help='run only the recipe rows (written as recipe.recipes-N.json with --part)')
    p.add_argument('--part', type=int, default=None, help='write recipe.part-N.json only (one process per seed)')
    p.add_argument('--merge', action='store_true', help='combine the recipe.part-*.json files into recipe.json/.md')
    a = p.parse_args()
    if a.quick: a.epochs, a.seeds, a.n_per_class, a.recipe_epochs, a.digits_epochs = 2, [0], 40, [2], 1
    a.recipes = {f"recipe, {e} epochs{'' if a.recipe_tta else ', no TTA'}": dict(epochs=e, lr_rule=a.lr_rule, tta=bool(a.recipe_tta))
                 for e in a.recipe_epochs}
    if a.lr_rule != 'slide': a.recipes = {f'{k}, {a.lr_rule} LR rule': v for k, v in a.recipes.items()}
    out = Path(__file__).parent/('results/quick' if a.quick else 'results')   # a smoke run never overwrites the numbers
    out.mkdir(parents=True, exist_ok=True)
    if a.merge: return report(a, out, [json.loads(f.read_text()) for f in sorted(out.glob('recipe.part-*.json'))]
                              + [json.loads(f.read_text()) for f in sorted(out.glob('recipe.recipes-*.json'))])
    torch.set_num_threads(1)
    path = capstone_folder(n_per_class=a.n_per_class)
    test_root = capstone_folder(n_per_class=max(a.n_per_class//4, 10), seed=1000)
    files, df = _test_items(test_root)
    rows = {}
    for s in a.seeds:
        for k, v in run_seed(path, files, df, a, s).items(): rows.setdefault(k, []).append(v)
        print('seed', s, {k: round(v[-1]['acc'], 3) for k, v in rows.items()}, flush=True)
    digits = []
    for s in ([] if a.only_recipes else a.seeds):
        with Timer() as t: r = train_classifier(digits_folder(), epochs=a.digits_epochs, policy=AugPolicy.digits(), seed=s, show=False)
        digits.append(dict(acc=r.ensemble_acc, cpu=t.cpu, wall=t.wall, lr=r.lr))
        print('digits', digits[-1], flush=True)
    part = dict(settings={k: v for k, v in vars(a).items()}, n_test=len(files), per_seed=rows, digits=digits)
    if a.part is not None:   # one process per seed, merged afterwards with --merge
        (out/f"recipe.{'recipes' if a.only_recipes else 'part'}-{a.part}{'' if a.recipe_tta else '-notta'}.json").write_text(json.dumps(part, indent=1, default=str)); return
    report(a, out, [part])

def report(a, out, parts):
    "Summary table over every seed of every part; writes recipe.json and recipe.md"
    rows, digits = {}, []
    for pt in parts:
        for k, v in pt['per_seed'].items(): rows.setdefault(k, []).extend(v)
        digits += pt['digits']
    files = range(parts[0]['n_test'])
    parts = [pt for pt in parts if not pt['settings'].get('only_recipes')] + [pt for pt in parts if pt['settings'].get('only_recipes')]
    for k in ('epochs', 'n_per_class', 'lr_steps', 'bs', 'digits_epochs'): setattr(a, k, parts[0]['settings'][k])
    a.seeds = sorted(s for pt in parts if not pt['settings'].get('only_recipes') for s in pt['settings']['seeds'])
    base = rows['plain fastai']
    summ = []
    for k, v in rows.items():
        acc, cpu, wall = (np.array([r[x] for r in v]) for x in ('acc', 'cpu', 'wall'))
        summ.append(dict(run=k, acc_mean=acc.mean(), acc_sd=acc.std(ddof=1) if len(acc) > 1 else 0., cpu_s=cpu.mean(),
                         wall_s=wall.mean(), cpu_ratio=cpu.mean()/np.mean([r['cpu'] for r in base]),
                         gain=acc.mean() - np.mean([r['acc'] for r in base])))
    settings = {k: v for k, v in vars(a).items()}
    res = dict(settings=settings, n_test=len(files), per_seed=rows, summary=summ, digits=digits)
    (out/'recipe.json').write_text(json.dumps(res, indent=1, default=str))
    md = [f"Test accuracy on {len(files)} images of `capstone_folder(seed=1000)` (never seen in training or validation); "
          f"{len(a.seeds)} seeds, mean ± sd; CPU = the process's CPU seconds for training (+ choosing TTA), torch on 1 thread.", '',
          '| run | test acc | vs plain | CPU s | CPU ratio | wall s |', '|---|---|---|---|---|---|']
    for r in summ:
        md.append(f"| {r['run']} | {r['acc_mean']:.3f} ± {r['acc_sd']:.3f} | {r['gain']:+.3f} | {r['cpu_s']:.1f} | "
                  f"{r['cpu_ratio']:.2f}× | {r['wall_s']:.1f} |")
    md += ['', f"Data: `capstone_folder(n_per_class={a.n_per_class})` (8 shape classes, 32 px, "
           f"{a.n_per_class*len(CAPSTONE_CLASSES)} images, 80/20 split). {a.epochs} epochs, bs {a.bs}, small CNN from scratch (`simple_cnn`). "
           "Plain fastai: `ImageDataLoaders.from_folder` + `aug_transforms()`, `fit_one_cycle` at its default LR (1e-3). "
           f"+ find_lr: {a.lr_steps} steps, fastai-style valley rule. Ensemble: 2 models of half the epochs (same CPU). "
           "Recipe: `train_classifier` defaults (`folder_dls` with the default `AugPolicy`, find_lr, one-cycle, "
           "TTA chosen on half of validation, `lr_rule='slide'` unless the row says valley); its CPU time includes the data "
           "scan, the LR sweep and choosing TTA. Rows were run in separate processes at different machine loads "
           "(the recipe rows later, on a quieter machine): CPU time is steadier than wall time, but not load-free."]
    da, dc, dw = (np.array([d[k] for d in digits]) for k in ('acc', 'cpu', 'wall'))
    md += ['', f"Digits (`digits_folder()`, 360 valid images, `AugPolicy.digits()`): `train_classifier(epochs={a.digits_epochs})` "
           f"reaches {da.mean():.3f} ± {da.std(ddof=1) if len(da) > 1 else 0:.3f} valid accuracy (after TTA chosen on half of it) "
           f"in {dc.mean():.0f} CPU s ({dw.mean():.0f} s wall on a shared machine), 1 torch thread."]
    (out/'recipe.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
