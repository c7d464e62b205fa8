"""Benchmark for lesson 00 (data loading): plain fastai `ImageDataLoaders.from_folder` (its default worker processes)
against the library's `folder_dls` and `cached_dls` (decode once into a uint8 tensor, augment whole batches), with
the same augmentation (`AugPolicy.digits()` / `AugPolicy.natural()` / `AugPolicy()`), on the 32-px digits, the 64-px
textures and the 32-px shapes of lesson 09 (`capstone_folder()`, 2,000 images).

For each dataset, loader and seed: the time of one pass over the training loader alone (the loader's own cost), the
time per epoch of `fit_one_cycle` with the lesson-01 `simple_cnn` (loader + model), and the final valid accuracy.
Times are CPU *user* seconds including worker processes (`RUSAGE_CHILDREN`) and wall seconds, with one torch thread;
ratios are against fastai's `from_folder` measured in the same run. Build times (first, with an empty cache, and
again, with the cache on disk) are reported for `cached_dls`.

Run from the repository root: `python bench/data.py` (`--quick`: 1 seed, 1 epoch, written to `bench/results/quick/`;
`--sets shapes`: only that dataset, its rows replacing the same dataset's rows in the saved results).
Writes `bench/results/data.json` and `bench/results/data.md`. A shared CPU makes single timings noisy: compare the
ratios of one run."""
import argparse, json, os, resource, shutil, tempfile, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch
from fastai.vision.all import (ImageDataLoaders, Resize, Normalize, imagenet_stats, Learner, accuracy, set_seed)
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.data import folder_dls
from imgcls_tricks.cached import cached_dls
from imgcls_tricks.datasets import digits_folder, textures_folder
from imgcls_tricks.learner import simple_cnn
from imgcls_tricks.recipe import capstone_folder

def _clock():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + c.ru_utime, time.perf_counter()

def _timed(f):
    (u0, w0) = _clock(); out = f(); (u1, w1) = _clock()
    return out, u1 - u0, w1 - w0

def _fastai(path, size, policy, seed):
    return ImageDataLoaders.from_folder(path, valid='valid', item_tfms=Resize(size), bs=64, seed=seed,
                                        batch_tfms=[*policy.tfms(), Normalize.from_stats(*imagenet_stats)])

def _cached(path, size, policy, seed, cache_dir):
    return cached_dls(path, size=size, policy=policy, seed=seed, cache_dir=cache_dir, verbose=False)

LOADERS = {'fastai from_folder': _fastai,
           'folder_dls': lambda p, s, pol, seed, _: folder_dls(p, size=s, policy=pol, seed=seed, verbose=False),
           'cached_dls': _cached}

def run(data, path, size, policy, loader, seed, epochs, cache_dir):
    make = LOADERS[loader]
    set_seed(seed, reproducible=True)
    dls, build_user, build_wall = _timed(lambda: make(path, size, policy, seed, cache_dir) if loader != 'fastai from_folder'
                                         else make(path, size, policy, seed))
    for b in dls.train: pass                                       # warm-up pass (first batches, lazy setup)
    _, lu, lw = _timed(lambda: [None for b in dls.train])
    learn = Learner(dls, simple_cnn(dls.c), metrics=accuracy)
    with learn.no_bar(), learn.no_logging(): _, fu, fw = _timed(lambda: learn.fit_one_cycle(epochs, 1e-2))
    return dict(data=data, loader=loader, seed=seed, n_train=len(dls.train_ds), build_user_s=build_user,
                build_wall_s=build_wall, load_epoch_user_s=lu, load_epoch_wall_s=lw, load_us_per_item=1e6 * lu / len(dls.train_ds),
                train_epoch_user_s=fu / epochs, train_epoch_wall_s=fw / epochs, valid_acc=float(learn.recorder.values[-1][-1]))

def cache_builds(path, size, cache_dir):
    "Seconds to build `cached_dls` with an empty cache, then again with the cache on disk."
    shutil.rmtree(cache_dir, ignore_errors=True)
    _, cold_u, cold_w = _timed(lambda: cached_dls(path, size=size, cache_dir=cache_dir, verbose=False))
    _, warm_u, warm_w = _timed(lambda: cached_dls(path, size=size, cache_dir=cache_dir, verbose=False))
    return dict(cold_user_s=cold_u, cold_wall_s=cold_w, warm_user_s=warm_u, warm_wall_s=warm_w)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='1 seed, 1 epoch, results in bench/results/quick/')
    ap.add_argument('--sets', nargs='+', default=['digits', 'textures', 'shapes'], help='datasets to (re)measure')
    args = ap.parse_args()
    torch.set_num_threads(1); warnings.filterwarnings('ignore')
    seeds, epochs = ([0], 1) if args.quick else ([0, 1, 2], 4)
    sets = [('digits 32 px', digits_folder, 32, AugPolicy.digits()),
            ('textures 64 px', textures_folder, 64, AugPolicy.natural()),
            ('shapes 32 px', capstone_folder, 32, AugPolicy())]
    sets = [(d, f(), s, pol) for d, f, s, pol in sets if d.split()[0] in args.sets]
    cache_dir = Path(tempfile.mkdtemp(prefix='bench-data-cache-'))
    rows, builds = [], {}
    for data, path, size, policy in sets:
        builds[data] = cache_builds(path, size, cache_dir/data.split()[0])
        for seed in seeds:
            for loader in LOADERS:
                r = run(data, path, size, policy, loader, seed, epochs, cache_dir/data.split()[0]); rows.append(r)
                print({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}, flush=True)
    shutil.rmtree(cache_dir, ignore_errors=True)
    out = Path(__file__).parent/('results/quick' if args.quick else 'results'); out.mkdir(parents=True, exist_ok=True)
    if (out/'data.json').exists() and set(args.sets) != {'digits', 'textures', 'shapes'}:   # keep the other datasets
        old = json.loads((out/'data.json').read_text())
        rows = [r for r in old['rows'] if r['data'].split()[0] not in args.sets] + rows
        builds = {k: v for k, v in old['meta']['cache_builds'].items() if k.split()[0] not in args.sets} | builds
    df = pd.DataFrame(rows)
    cols = ['load_epoch_user_s', 'load_epoch_wall_s', 'load_us_per_item', 'train_epoch_user_s', 'train_epoch_wall_s',
            'valid_acc']
    g = df.groupby(['data', 'loader'], sort=False)
    summ = g[cols].median()
    summ['acc_std'] = g.valid_acc.std()
    summ['acc_mean'] = g.valid_acc.mean()
    for c in ['load_epoch_user_s', 'load_epoch_wall_s', 'train_epoch_user_s', 'train_epoch_wall_s']:
        base = summ.xs('fastai from_folder', level='loader')[c]
        summ[c.replace('_s', '') + '_vs_fastai'] = [v / base[d] for (d, _), v in summ[c].items()]
    summ = summ.reset_index()
    meta = dict(seeds=seeds, epochs=epochs, lr=1e-2, bs=64, torch_threads=torch.get_num_threads(), cpus=os.cpu_count(),
                model='simple_cnn', fastai_workers='from_folder default', cache_builds=builds)
    (out/'data.json').write_text(json.dumps(dict(meta=meta, rows=rows, summary=summ.to_dict('records')), indent=1))
    show = summ[['data', 'loader', 'load_us_per_item', 'load_epoch_user_s', 'load_epoch_user_vs_fastai',
                 'load_epoch_wall_s', 'load_epoch_wall_vs_fastai', 'train_epoch_user_s', 'train_epoch_user_vs_fastai',
                 'train_epoch_wall_s', 'train_epoch_wall_vs_fastai', 'acc_mean', 'acc_std']].round(3)
    bt = pd.DataFrame(builds).T.round(2)
    text = (f"# bench/data.py\n\nMedians over seeds {seeds}; `load_*`: one pass over the training loader alone; "
            f"`train_*`: one epoch of `fit_one_cycle({epochs})` with `simple_cnn`; `user` = CPU user seconds including "
            f"worker processes; ratios against fastai `ImageDataLoaders.from_folder` (default workers) in the same run. "
            f"Accuracy: mean and standard deviation over the seeds. Each dataset's rows come from one run (same load); "
            f"`--sets` re-measures only the datasets it names.\n\n{meta | dict(cache_builds='below')}\n\n"
            f"{show.to_markdown(index=False)}\n\n## `cached_dls` build time (seconds)\n\n{bt.to_markdown()}\n")
    (out/'data.md').write_text(text)
    print(text)

if __name__ == '__main__': main()
